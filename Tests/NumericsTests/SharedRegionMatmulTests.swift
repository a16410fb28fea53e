import XCTest
@testable import Numerics

/// matmul over several weights in one parallel region (q/k/v, gate/up) gives exactly what separate calls give.
final class SharedRegionMatmulTests: XCTestCase {
    func testEqualsSeparateProducts() {
        let saved = numThreads
        defer { numThreads = saved }
        var rng = Rng(seed: 9)
        let K = 577
        for type in [WeightType.f32, .f16, .bf16] {
            // Output sizes of the weights sharing the input: large and small, one below a GEMV chunk.
            let ws = [1000, 193, 64, 3].map { randomWeight($0, K, type, &rng).0 }
            for M in [1, 5, 40] {                            // GEMV, GEMV over several rows, GEMM
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
                        XCTAssert(y.array.map(\.bitPattern) == separate[j].map(\.bitPattern),
                                  "\(type) M=\(M) weight \(j) threads \(t)")
                    }
                }
            }
        }
    }
}
