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

    public init(path: String) throws {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else { throw ModelIOError(path, "no such file") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw ModelIOError(path, "not a regular file") }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelIOError(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        size = Int(st.st_size)
        if size == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw ModelIOError(path, "cannot map: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }
    deinit {
        if size == 0 { UnsafeMutableRawPointer(mutating: base).deallocate() }
        else { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
