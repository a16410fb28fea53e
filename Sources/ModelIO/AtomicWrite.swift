// Atomic file writing, used by every writer in the project (ARCHITECTURE.md: never a half-written file).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes `chunks` (concatenated) to `path` via `path`'s directory's temporary file + fsync + rename, so a
/// reader sees either the old file or the complete new one, never a half-written file.
public func writeFileAtomically(_ path: String, _ chunks: [UInt8]...) throws {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else {
        throw ModelIOError(path, "cannot create a temporary file in \(dir): \(String(cString: strerror(errno)))")
    }
    var ok = false
    defer { if !ok { close(fd); unlink(tmp) } }
    for chunk in chunks {
        var done = 0
        while done < chunk.count {
            let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress! + done, chunk.count - done) }
            guard n > 0 else {
                if n < 0 && errno == EINTR { continue }
                throw ModelIOError(path, "write failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
    }
    guard fsync(fd) == 0 else { throw ModelIOError(path, "fsync failed: \(String(cString: strerror(errno)))") }
    guard close(fd) == 0 else {
        unlink(tmp); ok = true
        throw ModelIOError(path, "close failed: \(String(cString: strerror(errno)))")
    }
    guard rename(tmp, path) == 0 else {
        unlink(tmp); ok = true
        throw ModelIOError(path, "cannot rename the temporary file into place: \(String(cString: strerror(errno)))")
    }
    ok = true
}

public func writeFileAtomically(_ data: Data, to path: String) throws {
    try writeFileAtomically(path, [UInt8](data))
}
