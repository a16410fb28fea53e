// A read-only memory mapping of a whole file. Weights are used in place; the mapping lives as long as
// any Weight or TensorInfo that points into it (they keep the MappedFile as their owner).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let size: Int
    public let base: UnsafeRawPointer
    /// true when `base` is a heap copy (init(bytes:path:)) rather than a mapping.
    private let owned: Bool

    public init(path: String) throws {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileError(path, "no such file") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileError(path, "not a regular file") }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        size = Int(st.st_size)
        if size == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            owned = true
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw FileError(path, "cannot map: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
        owned = false
    }

    /// The file's contents held in memory (parsing bytes that never were a file: tests, fuzzing). The copy is
    /// exactly `bytes.count` long, so an address sanitizer sees any read past the end.
    public init(bytes: UnsafeRawBufferPointer, path: String) {
        self.path = path
        size = bytes.count
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
        if let src = bytes.baseAddress, size > 0 { p.copyMemory(from: src, byteCount: size) }
        base = UnsafeRawPointer(p)
        owned = true
    }

    deinit {
        if owned {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        }
    }

    /// Gives back the resident pages lying wholly inside [p, p + count) (madvise MADV_DONTNEED): once a tensor
    /// has been copied out (converted at load, or its rows reordered), its mapped bytes need not stay in the
    /// resident set. They are read from the file again if touched; a heap copy keeps its bytes.
    public func releasePages(_ p: UnsafeRawPointer, _ count: Int) {
        guard !owned, p >= base, count > 0, p + count <= base + size else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: p) + page - 1) / page * page, end = (Int(bitPattern: p) + count) / page * page
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED) }
    }

    /// Whether the bytes are a heap copy, with no file on disk behind them.
    public var inMemory: Bool { owned }
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
