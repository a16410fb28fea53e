import XCTest
@testable import Numerics

/// matmul over several weights in one parallel region (q/k/v, gate/up) gives exactly what separate calls give.
final class SharedRegionMatmulTests: XCTestCase {
    func testEqualsSeparateProducts() { onEveryKernelPath(checkEqualsSeparateProducts) }
    func checkEqualsSeparateProducts() {
        let saved = numThreads
        defer { numThreads = saved }
        var rng = Rng(seed: 9)
        let K = 577
        for type in [WeightType.f32, .f16, .bf16] {
            // Output sizes of the weights sharing the input: large and small, one below a GEMV chunk.
            let ws = [1000, 193, 64, 3].map { randomWeight($0, K, type, &rng).0 }
            for M in [1, 5, 40] {  // GEMV, GEMV over several rows, GEMM
                let x = FloatBuffer(randomArray(M * K, &rng))
                numThreads = 1
                let separate = ws.map { w -> [Float] in
                    let y = FloatBuffer(count: M * w.rows)
                    matmul(x.ptr, M, w, y.ptr)
                    return y.array
                }
                for t in [1, 2, 3] {
                    numThreads = t
                    let ys = ws.map { w in FloatBuffer([Float](repeating: .nan, count: M * w.rows)) }
                    matmul(x.ptr, M, zip(ws, ys).map { (W: $0.0, y: $0.1.ptr) })
                    for (j, y) in ys.enumerated() {
                        XCTAssert(
                            y.array.map(\.bitPattern) == separate[j].map(\.bitPattern),
                            "\(type) M=\(M) weight \(j) threads \(t)")
                    }
                }
            }
        }
    }

    /// matmulPair: both products as separate calls give them, and `combine` sees every output element once,
    /// after both products have written it.
    func testPairCombinesEachBlockOnceAfterBothProducts() {
        onEveryKernelPath(checkPairCombinesEachBlockOnceAfterBothProducts)
    }
    func checkPairCombinesEachBlockOnceAfterBothProducts() {
        let saved = numThreads
        defer { numThreads = saved }
        var rng = Rng(seed: 10)
        for (N, K, type) in [(1536, 576, WeightType.f16), (577, 100, .f32), (40, 33, .bf16)] {
            let w1 = randomWeight(N, K, type, &rng).0, w2 = randomWeight(N, K, type, &rng).0
            for M in [1, 7, 130] {
                let x = FloatBuffer(randomArray(M * K, &rng))
                numThreads = 1
                let r1 = FloatBuffer(count: M * N), r2 = FloatBuffer(count: M * N)
                matmul(x.ptr, M, w1, r1.ptr)
                matmul(x.ptr, M, w2, r2.ptr)
                for t in [1, 2, 4] {
                    numThreads = t
                    let y1 = FloatBuffer(count: M * N), y2 = FloatBuffer(count: M * N)
                    let h = FloatBuffer([Float](repeating: .nan, count: M * N)), seen = FloatBuffer(count: M * N)
                    let hp = SendablePointer(h.ptr), sp = SendablePointer(seen.ptr)
                    let p1 = SendablePointer(y1.ptr), p2 = SendablePointer(y2.ptr)
                    matmulPair(x.ptr, M, w1, y1.ptr, w2, y2.ptr) { rows, cols in
                        for m in rows {
                            for n in cols { let i = m * N + n; hp.p[i] = p1.p[i] * 2 - p2.p[i]; sp.p[i] += 1 }
                        }
                    }
                    let what = "\(type) \(M)×\(N)×\(K) threads \(t)"
                    XCTAssert(y1.array.map(\.bitPattern) == r1.array.map(\.bitPattern), what)
                    XCTAssert(y2.array.map(\.bitPattern) == r2.array.map(\.bitPattern), what)
                    XCTAssertEqual(seen.array, [Float](repeating: 1, count: M * N), what)
                    XCTAssert(h.array.map(\.bitPattern) == (0..<M * N).map { (r1[$0] * 2 - r2[$0]).bitPattern }, what)
                }
            }
        }
    }
}
