// Reusable scratch memory for kernels (GEMM pack buffers, GEMV partial sums).
// Buffers are taken from and returned to a locked pool, so a call allocates only the first time a
// size is needed and nested or concurrent calls (a matmul inside someone else's parallelFor) are safe.
import Foundation

@usableFromInline
final class ScratchBuffer: @unchecked Sendable {
    let bytes: Int
    let raw: UnsafeMutableRawPointer
    init(bytes: Int) {
        self.bytes = bytes
        raw = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
    }
    deinit { raw.deallocate() }
    @usableFromInline var floats: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
}

@usableFromInline
final class ScratchPool: @unchecked Sendable {
    private var free: [ScratchBuffer] = []
    private let lock = NSLock()

    /// A buffer of at least `bytes` bytes; give it back with `release`.
    @usableFromInline func acquire(bytes: Int) -> ScratchBuffer {
        lock.lock()
        let b = free.popLast()
        lock.unlock()
        if let b, b.bytes >= bytes { return b }
        // Too small (or none): drop it and allocate a bigger one, rounded up so sizes settle quickly.
        return ScratchBuffer(bytes: (bytes + 65535) & ~65535)
    }
    @usableFromInline func release(_ b: ScratchBuffer) {
        lock.lock()
        if free.count < 16 { free.append(b) }
        lock.unlock()
    }
}

@usableFromInline let scratchPool = ScratchPool()

/// Runs `body` with a scratch buffer of at least `floats` floats (64-byte aligned).
@inlinable @inline(__always)
public func withScratch<R>(floats: Int, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
    let b = scratchPool.acquire(bytes: floats * 4)
    defer { scratchPool.release(b) }
    return body(b.floats)
}
