import XCTest
import Dispatch
import Glibc
@testable import Numerics
import TestSupport

private struct ChunkFailed: Error, Equatable { let chunk: Int }

/// Counts how often each index was run, from any thread.
private final class Hits: @unchecked Sendable {
    let count: Int
    let p: UnsafeMutablePointer<Int>
    private let lock = NSLock()
    init(_ n: Int) { count = n; p = .allocate(capacity: n); p.initialize(repeating: 0, count: n) }
    deinit { p.deallocate() }
    func hit(_ i: Int) { lock.lock(); p[i] += 1; lock.unlock() }
    var all: [Int] { Array(UnsafeBufferPointer(start: p, count: count)) }
}

final class ParallelTests: XCTestCase {
    private var savedThreads = 0, savedSpin = 0
    override func setUp() { savedThreads = numThreads; savedSpin = poolSpinMicroseconds }
    override func tearDown() { numThreads = savedThreads; poolSpinMicroseconds = savedSpin }

    /// Each chunk runs exactly once and writes what the serial loop writes, for any thread count
    /// (more threads than cores included) and any chunk count (more chunks than threads included).
    func testResultsEqualSerialLoop() {
        let f = { (i: Int) -> Double in sin(Double(i) * 0.37) * Double(i % 11) }
        for t in [2, 3, 8] {
            numThreads = t
            for n in [2, 3, 7, 64, 1000] {
                var out = [Double](repeating: .nan, count: n)
                let hits = Hits(n)
                out.withUnsafeMutableBufferPointer { o in
                    let op = SendablePointer(o.baseAddress!)
                    parallelFor(n) { i in
                        op.p[i] = f(i); hits.hit(i)
                    }
                }
                XCTAssertEqual(out, (0..<n).map(f), "threads \(t), \(n) chunks")
                XCTAssertEqual(hits.all, [Int](repeating: 1, count: n), "threads \(t), \(n) chunks")
            }
            // parallelRanges covers 0..<count once, in ranges that are multiples of align (but the last).
            for (count, align) in [(1, 1), (10, 1), (1000, 64), (1023, 8)] {
                let hits = Hits(count)
                parallelRanges(count, align: align) { r in
                    XCTAssert(r.lowerBound % align == 0 && (r.count % align == 0 || r.upperBound == count))
                    for i in r { hits.hit(i) }
                }
                XCTAssertEqual(hits.all, [Int](repeating: 1, count: count), "ranges of \(count) align \(align)")
            }
        }
    }

    /// A region inside a region runs inline on the thread of the outer chunk, and finishes.
    func testNestedRegionRunsInline() {
        numThreads = 2
        let outer = 6, inner = 5
        let hits = Hits(outer * inner)
        let sameThread = Hits(1)
        parallelFor(outer) { o in
            let me = pthread_self()
            parallelFor(inner) { i in
                hits.hit(o * inner + i)
                if pthread_equal(pthread_self(), me) == 0 { sameThread.hit(0) }
                parallelRanges(3) { _ in }  // a third level, too
            }
        }
        XCTAssertEqual(hits.all, [Int](repeating: 1, count: outer * inner))
        XCTAssertEqual(sameThread.all, [0], "inner chunks ran on another thread than their outer chunk")
    }

    /// Far more regions than workers, one after another, with the thread count changing between them and
    /// the workers both spinning and parked between regions (a lost wake-up would hang this test).
    func testManyRegionsSpinningAndParked() {
        for spin in [300, 0] {
            poolSpinMicroseconds = spin
            var total = 0
            for r in 0..<3000 {
                numThreads = [2, 4, 2, 3, 1][r % 5]
                let n = 1 + r % 9
                let hits = Hits(n)
                parallelFor(n) { i in hits.hit(i) }
                total += hits.all.reduce(0, +)
            }
            XCTAssertEqual(total, (0..<3000).reduce(0) { $0 + 1 + $1 % 9 }, "spin \(spin) µs")
        }
    }

    /// A thrown error ends the region on every thread, skips the chunks not yet started, reaches the caller,
    /// and leaves the pool usable; an early return from a chunk is just a finished chunk.
    func testThrownErrorDoesNotHang() {
        numThreads = 2
        let hits = Hits(10_000)
        let e = thrown(ChunkFailed.self) {
            try parallelFor(10_000) { (i: Int) throws(ChunkFailed) in
                if i == 10 { throw ChunkFailed(chunk: i) }
                hits.hit(i)
                usleep(20)
            }
        }
        XCTAssertEqual(e, ChunkFailed(chunk: 10))
        XCTAssertLessThan(hits.all.reduce(0, +), 5000, "chunks kept running after the error")
        // Every chunk throws: one of the errors comes back.
        let all = thrown(ChunkFailed.self) {
            try parallelFor(64) { (i: Int) throws(ChunkFailed) in throw ChunkFailed(chunk: i) }
        }
        XCTAssertNotNil(all)
        // Early returns, and the pool still serves a region afterwards.
        let after = Hits(100)
        parallelFor(100) { i in
            if i % 2 == 0 { return }
            after.hit(i)
        }
        XCTAssertEqual(after.all, (0..<100).map { $0 % 2 })
        // A throw inside a nested region reaches the outer chunk, which may handle it.
        let handled = Hits(4)
        parallelFor(4) { o in
            do throws(ChunkFailed) {
                try parallelFor(3) { (i: Int) throws(ChunkFailed) in if i == 1 { throw ChunkFailed(chunk: o) } }
            } catch { if error == ChunkFailed(chunk: o) { handled.hit(o) } }
        }
        XCTAssertEqual(handled.all, [1, 1, 1, 1])
    }

    /// Two threads of the program starting regions at the same time: one gets the pool, the other runs
    /// inline; both get every chunk exactly once.
    func testConcurrentCallers() {
        numThreads = 2
        let results = Hits(2)
        DispatchQueue.concurrentPerform(iterations: 2) { caller in
            var ok = 0
            for _ in 0..<500 {
                let hits = Hits(17)
                parallelFor(17) { i in hits.hit(i) }
                if hits.all == [Int](repeating: 1, count: 17) { ok += 1 }
            }
            if ok == 500 { results.hit(caller) }
        }
        XCTAssertEqual(results.all, [1, 1])
    }
}
