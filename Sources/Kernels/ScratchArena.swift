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

    /// A buffer of at least `bytes` bytes; give it back with `release`. The smallest free one that is large
    /// enough, so that the GEMM's many sizes in a training step settle on a few buffers instead of dropping and
    /// allocating (and page-faulting) one whenever the last one freed is too small.
    @usableFromInline func acquire(bytes: Int) -> ScratchBuffer {
        lock.lock()
        var best: Int? = nil
        for (i, b) in free.enumerated() where b.bytes >= bytes && (best == nil || b.bytes < free[best!].bytes) {
            best = i
        }
        let b = best.map { free.remove(at: $0) }
        lock.unlock()
        // None large enough: a new one, rounded up so sizes settle quickly.
        return b ?? ScratchBuffer(bytes: (bytes + 65535) & ~65535)
    }
    @usableFromInline func release(_ b: ScratchBuffer) {
        lock.lock()
        free.append(b)
        // At most 16 kept: the smallest goes (the large ones are the costly ones to make again).
        if free.count > 16, let i = free.indices.min(by: { free[$0].bytes < free[$1].bytes }) { free.remove(at: i) }
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
