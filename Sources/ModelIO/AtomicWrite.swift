// Atomic file writing, used by every writer in the project (ARCHITECTURE.md: never a half-written file).
//
// A file is written under a temporary name in its own folder (".NAME.tmp-PID-RANDOM"), fsync'ed, renamed
// over NAME, and then the folder is fsync'ed so that the rename itself is on disk: after a crash, a kill
// or a power cut a reader finds the old file or the complete new one. When anything fails (disk full,
// file-size limit), the temporary file is removed, the old file stays, and the error names NAME.
// A process killed while writing leaves its temporary file behind; `removeStaleTemporaryFiles` deletes
// those whose writer no longer runs.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes what `body` hands to its `write` callback (in order) to `path`, atomically and durably.
public func writeFileAtomically(
    _ path: String,
    _ body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
) throws {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    let tmp = dir + "/" + temporaryPrefix(url.lastPathComponent) + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
        throw FileError(path, "cannot create a temporary file in \(dir): \(String(cString: strerror(errno)))")
    }
    var fdOpen = true
    defer { if fdOpen { close(fd) }; unlink(tmp) }  // after a successful rename `tmp` no longer exists
    try body { chunk in
        var done = 0
        while done < chunk.count {
            let n = write(fd, chunk.baseAddress! + done, chunk.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                // SIGXFSZ is ignored (see ignoreFileSizeSignal), so a file-size limit arrives here as EFBIG.
                throw FileError(path, "write failed: \(n < 0 ? String(cString: strerror(errno)) : "no progress")")
            }
            done += n
        }
    }
    guard fsync(fd) == 0 else { throw FileError(path, "fsync failed: \(String(cString: strerror(errno)))") }
    fdOpen = false
    guard close(fd) == 0 else { throw FileError(path, "close failed: \(String(cString: strerror(errno)))") }
    guard rename(tmp, path) == 0 else {
        throw FileError(path, "cannot rename the temporary file into place: \(String(cString: strerror(errno)))")
    }
    try syncDirectory(dir)
}

/// `chunks`, concatenated.
public func writeFileAtomically(_ path: String, _ chunks: [UInt8]...) throws {
    try writeFileAtomically(path) { write in for c in chunks { try c.withUnsafeBytes { try write($0) } } }
}

public func writeFileAtomically(_ data: Data, to path: String) throws {
    try writeFileAtomically(path) { write in try data.withUnsafeBytes { try write($0) } }
}

/// fsync of a folder: makes the renames and unlinks inside it durable. (Filesystems that cannot sync a
/// folder answer EINVAL; there is nothing better to do on those.)
public func syncDirectory(_ dir: String) throws {
    let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else {
        throw FileError(dir, "cannot open the folder to sync it: \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    guard fsync(fd) == 0 || errno == EINVAL else {
        throw FileError(dir, "fsync of the folder failed: \(String(cString: strerror(errno)))")
    }
}

/// Appends `bytes` to `path` (created if missing) and fsyncs it. On failure the file is cut back to its old
/// length, so it never ends in a partial record.
public func appendToFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileError(path, "cannot open for appending: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let start = lseek(fd, 0, SEEK_END)
    guard start >= 0 else { throw FileError(path, "cannot seek: \(String(cString: strerror(errno)))") }
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else {
            let reason = n < 0 ? String(cString: strerror(errno)) : "no progress"
            _ = ftruncate(fd, start)
            throw FileError(path, "write failed: \(reason)")
        }
        done += n
    }
    guard fsync(fd) == 0 else {
        let reason = String(cString: strerror(errno))
        _ = ftruncate(fd, start)
        throw FileError(path, "fsync failed: \(reason)")
    }
}

/// Under a file-size limit (`ulimit -f`) the kernel sends SIGXFSZ, whose default action kills the process
/// without a word. Ignored, the write returns EFBIG instead and the writer reports the file.
public func ignoreFileSizeSignal() {
    signal(SIGXFSZ, SIG_IGN)
}

private func temporaryPrefix(_ name: String) -> String { "." + name + ".tmp-" }

/// Whether process `pid` exists (EPERM: it does, owned by someone else).
public func processIsAlive(_ pid: Int32) -> Bool {
    pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
}

/// Deletes the temporary files that writers killed mid-write left in `dir` (those of live processes stay);
/// returns their names.
@discardableResult
public func removeStaleTemporaryFiles(in dir: String) -> [String] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
    var removed: [String] = []
    for name in names where name.hasPrefix(".") {
        guard let r = name.range(of: ".tmp-", options: .backwards),
            let pid = name[r.upperBound...].split(separator: "-").first.flatMap({ Int32($0) }),
            pid != getpid(), !processIsAlive(pid)
        else { continue }
        if unlink(dir + "/" + name) == 0 { removed.append(name) }
    }
    return removed
}
