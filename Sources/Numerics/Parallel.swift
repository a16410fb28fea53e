// Parallel-for over the machine's cores, and a Sendable wrapper for raw pointers.
import Foundation
import Dispatch

/// Number of worker threads kernels split their work across. Tests and benches may lower it.
nonisolated(unsafe) public var numThreads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// Raw pointers are not Sendable; kernels hand disjoint ranges of one buffer to worker threads.
public struct SendablePointer<T>: @unchecked Sendable {
    public let p: UnsafeMutablePointer<T>
    @inlinable public init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}
public struct SendableConstPointer<T>: @unchecked Sendable {
    public let p: UnsafePointer<T>
    @inlinable public init(_ p: UnsafePointer<T>) { self.p = p }
}

/// Runs `body(chunkIndex)` for chunks 0..<n, spread over `numThreads` threads.
/// With one thread (or n == 1) it runs inline, so small work pays no dispatch cost.
@inlinable
public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    if n <= 0 { return }
    if n == 1 || numThreads <= 1 {
        for i in 0..<n { body(i) }
        return
    }
    withoutActuallyEscaping(body) { b in
        let box = UncheckedBox(b)
        DispatchQueue.concurrentPerform(iterations: n) { i in box.value(i) }
    }
}

/// Splits 0..<count into about `numThreads` contiguous ranges (multiples of `align`) and runs them in parallel.
@inlinable
public func parallelRanges(_ count: Int, align: Int = 1, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let t = min(numThreads, max(1, count / max(align, 1)))
    if t <= 1 { body(0..<count); return }
    var per = (count + t - 1) / t
    per = (per + align - 1) / align * align
    let chunks = (count + per - 1) / per
    parallelFor(chunks) { c in
        let lo = c * per
        body(lo..<min(count, lo + per))
    }
}

public struct UncheckedBox<T>: @unchecked Sendable {
    public let value: T
    @inlinable public init(_ v: T) { value = v }
}
