// Parallel-for over the machine's cores on a pool of persistent threads, and Sendable wrappers for raw pointers.
//
// Decoding one token runs about 150 parallel regions of 20–200 µs each. A fork/join through Dispatch wakes a
// thread through the kernel scheduler every time (measured: 370 context switches per token, 20 % of the
// samples in the scheduler, and a 2-thread decode slower than a 1-thread one). Here the workers are started
// once and wait between regions by spinning on a generation counter for `poolSpinMicroseconds`, then park on
// a condition variable; a region costs a few atomic operations when they are still spinning.
//
// A region: the caller publishes the job and bumps the generation; every participant (the caller included)
// claims chunk indices from one atomic counter until none are left, so a thread that the shared machine
// delays leaves its chunks to the others; the caller then waits, spinning then parking, until the last
// worker has left the region. The split into chunks is the caller's (one per thread for a GEMV over one
// row, more where the load needs balancing); the pool never splits further.
//
// Nesting and concurrent callers: the pool serves one region at a time. A region started while another runs
// (a matmul inside a parallelFor body, or a second thread of the program) runs inline on its caller's thread,
// so nothing ever waits for a pool that waits for it.
import Foundation
import Dispatch
import Glibc
import Synchronization

/// Number of threads kernels split their work across (the caller's own thread included). Tests and benches
/// may change it between regions; the pool starts more workers when it grows.
nonisolated(unsafe) public var numThreads: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// How long an idle worker (or a caller waiting for the last worker) spins before it parks. Longer than the
/// serial stretches between the regions of a decode step (a norm, a rotation: a few µs), short enough that
/// a single-threaded phase of the program leaves the other cores alone within a fraction of a millisecond.
nonisolated(unsafe) public var poolSpinMicroseconds: Int = 300

/// Raw pointers are not Sendable; kernels hand disjoint ranges of one buffer to worker threads.
public struct SendablePointer<T>: @unchecked Sendable {
    public let p: UnsafeMutablePointer<T>
    @inlinable public init(_ p: UnsafeMutablePointer<T>) { self.p = p }
}
public struct SendableConstPointer<T>: @unchecked Sendable {
    public let p: UnsafePointer<T>
    @inlinable public init(_ p: UnsafePointer<T>) { self.p = p }
}
public struct SendableRawPointer: @unchecked Sendable {
    public let p: UnsafeMutableRawPointer
    @inlinable public init(_ p: UnsafeMutableRawPointer) { self.p = p }
}

// MARK: parallel-for

/// Runs `body(chunkIndex)` for chunks 0..<n, spread over `numThreads` threads (the caller's included).
/// With one thread, one chunk, or inside another region it runs inline. When a chunk throws, chunks not yet
/// started are skipped, the region still ends on every thread, and the first error is rethrown here.
public func parallelFor<E: Error>(_ n: Int, _ body: (Int) throws(E) -> Void) throws(E) {
    if n <= 0 { return }
    if n == 1 || numThreads <= 1 {
        for i in 0..<n { try body(i) }
        return
    }
    if E.self == Never.self {
        // Nothing can be thrown: no error slot to allocate.
        withoutActuallyEscaping(body) { b in
            workerPool.run(n, threads: numThreads) { i in
                try! b(i); return true
            }
        }
        return
    }
    let first = FirstError<E>()
    withoutActuallyEscaping(body) { b in
        workerPool.run(n, threads: numThreads) { i in
            do throws(E) { try b(i); return true } catch { first.keep(error); return false }
        }
    }
    if let e = first.error { throw e }
}

/// Splits 0..<count into about `numThreads` contiguous ranges (multiples of `align`) and runs them in parallel.
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

/// Regions the pool has run so far (inline ones not counted): a decode step's fork/joins, for the benchmarks.
public var parallelRegionCount: Int { workerPool.regions }

/// The first error thrown in a region (chunks on other threads may throw too; one is reported).
private final class FirstError<E: Error>: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: E?
    func keep(_ e: E) { lock.lock(); if error == nil { error = e }; lock.unlock() }
}

// MARK: the pool

/// One chunk of a region; false stops the region (chunks not yet claimed are skipped).
typealias RegionBody = (Int) -> Bool

let workerPool = WorkerPool()

final class WorkerPool: @unchecked Sendable {
    /// Held while a region runs; a region that finds it taken runs inline.
    private let busy = Atomic<Bool>(false)
    /// Bumped once per region: region number × 1024 + the number of workers taking part (workers 0 ..< that),
    /// in one word so that a worker that sees a region late also sees whether it belongs to it.
    private let generation = Atomic<Int>(0)
    /// Next chunk to claim; set past the end to stop a region early.
    private let nextChunk = Atomic<Int>(0)
    /// Workers taking part that have not yet left the current region.
    private let pending = Atomic<Int>(0)
    /// Workers parked on `wake`, and whether the caller is parked on `done`.
    private let sleepers = Atomic<Int>(0)
    private let callerParked = Atomic<Bool>(false)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    private let done: UnsafeMutablePointer<pthread_cond_t>
    private static let maxWorkers = 1023

    // The current region, written by the caller before it bumps `generation` (which publishes them), read by
    // the workers taking part after they see the bump, left alone by the caller until they have all left.
    private var body: RegionBody?
    private var chunks = 0
    private var workers = 0  // threads started (only the caller that holds `busy` starts more)
    private(set) var regions = 0

    init() {
        mutex = .allocate(capacity: 1); wake = .allocate(capacity: 1); done = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil); pthread_cond_init(wake, nil); pthread_cond_init(done, nil)
    }

    /// Runs `body(i)` for i in 0..<n on up to `threads` threads, the caller's included, until a chunk
    /// returns false or none is left.
    func run(_ n: Int, threads: Int, _ body: @escaping RegionBody) {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            // Nested in a region, or another thread holds the pool.
            for i in 0..<n where !body(i) { break }
            return
        }
        let helpers = min(threads - 1, n - 1, Self.maxWorkers)
        // A new worker starts from the generation before this region's bump, which it must not miss.
        let current = generation.load(ordering: .relaxed)
        while workers < helpers { startWorker(workers, seen: current); workers += 1 }
        self.body = body
        chunks = n
        regions += 1
        nextChunk.store(0, ordering: .relaxed)
        pending.store(helpers, ordering: .relaxed)
        let next = (current / 1024 + 1) * 1024 + helpers
        generation.store(next, ordering: .sequentiallyConsistent)
        // A worker parks only after it incremented `sleepers` and then, under the mutex, saw the old
        // generation; so either it sees the new one or this load sees it (both are sequentially consistent).
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex); pthread_cond_broadcast(wake); pthread_mutex_unlock(mutex)
        }
        claimChunks(body)
        waitForHelpers()
        self.body = nil
        busy.store(false, ordering: .releasing)
    }

    /// Claims and runs chunks until none is left or one stops the region.
    private func claimChunks(_ body: RegionBody) {
        while true {
            let i = nextChunk.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= chunks { return }
            if !body(i) { nextChunk.store(Int.max / 2, ordering: .relaxed); return }
        }
    }

    private func waitForHelpers() {
        if spin(until: { pending.load(ordering: .acquiring) == 0 }) { return }
        callerParked.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        while pending.load(ordering: .sequentiallyConsistent) > 0 { pthread_cond_wait(done, mutex) }
        pthread_mutex_unlock(mutex)
        callerParked.store(false, ordering: .relaxed)
    }

    private func startWorker(_ index: Int, seen: Int) {
        let t = Thread { [self] in workerLoop(index, seen: seen) }
        t.name = "irm-worker-\(index)"
        t.start()
    }

    private func workerLoop(_ index: Int, seen first: Int) {
        var seen = first
        while true {
            let last = seen
            if !spin(until: { generation.load(ordering: .acquiring) != last }) {
                sleepers.add(1, ordering: .sequentiallyConsistent)
                pthread_mutex_lock(mutex)
                while generation.load(ordering: .sequentiallyConsistent) == last { pthread_cond_wait(wake, mutex) }
                pthread_mutex_unlock(mutex)
                sleepers.subtract(1, ordering: .relaxed)
            }
            // The region now current: this worker's if it is among its helpers (then the caller cannot
            // start the next one before this worker has counted itself out), else the next bump is awaited.
            seen = generation.load(ordering: .acquiring)
            if index >= seen % 1024 { continue }
            work()
            // The last one out wakes the caller if it parked (the handshake of `sleepers`, mirrored).
            if pending.subtract(1, ordering: .sequentiallyConsistent).newValue == 0,
                callerParked.load(ordering: .sequentiallyConsistent)
            {
                pthread_mutex_lock(mutex); pthread_cond_signal(done); pthread_mutex_unlock(mutex)
            }
        }
    }

    /// One region's share of a worker, in its own function so that the worker's reference to the body is
    /// released before it counts itself out (the caller's `withoutActuallyEscaping` checks that none is left).
    @inline(never)
    private func work() {
        guard let body else { return }
        claimChunks(body)
    }

    /// Spins until `ready()` or `poolSpinMicroseconds` have passed; true when ready. The clock is read every
    /// 64 polls (a vDSO call, about 20 ns). Only when the pool has more threads than the machine has cores
    /// (tests run 3 and 5) does a poll past the first tenth of the budget also yield, so that a waiting thread
    /// gives its core to the one it waits for. With a thread per core, yielding hands the core to whatever else
    /// is runnable — a `nice 19` compile beside a training run — which then keeps it until the scheduler's next
    /// tick, while the region waits for the yielding thread (measured in `make bench-pytorch`'s notes).
    private func spin(until ready: () -> Bool) -> Bool {
        let budget = UInt64(max(0, poolSpinMicroseconds)) * 1000
        let t0 = monotonicNanoseconds()
        let mayYield = numThreads > machineCores
        var polls = 0, yielding = false
        while true {
            if ready() { return true }
            polls += 1
            if yielding { sched_yield() }
            if polls & 63 == 0 {
                let dt = monotonicNanoseconds() - t0
                if dt >= budget { return ready() }
                yielding = mayYield && dt >= budget / 10
            }
        }
    }
}

/// Cores the OS lets this process use.
private let machineCores = max(1, ProcessInfo.processInfo.activeProcessorCount)

@inline(__always)
private func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
