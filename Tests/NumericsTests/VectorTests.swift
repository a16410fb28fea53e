import XCTest
@testable import Numerics

/// The elementwise helpers of Vector.swift against plain scalar loops, at lengths that take every tail of their
/// 16- and 8-lane loops.
final class VectorTests: XCTestCase {
    func testMaxElementScaleAndClamp() {
        var rng = Rng(seed: 5)
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 33, 129] {
            var x = (0..<n).map { _ in rng.normal() * 10 }
            XCTAssertEqual(maxElement(x, n), x.max() ?? -.infinity, "n = \(n)")
            if n > 3 {
                x[n - 2] = 1e30  // the largest in a tail lane
                XCTAssertEqual(maxElement(x, n), 1e30, "n = \(n), tail")
                x[0] = .nan  // skipped, as vmaxps does
                XCTAssertEqual(maxElement(x, n), 1e30, "n = \(n), NaN first")
            }
            let y = x.map { $0 * 0.37 }
            scaleInPlace(&x, n, by: 0.37)
            XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), "scale n = \(n)")
        }
        let v = SIMD8<Float>(-100, -87.5, -1, 0, 0.5, 87.9, 88.5, 1e9)
        XCTAssertEqual(clamp8(v, -87, 88), SIMD8(-87, -87, -1, 0, 0.5, 87.9, 88, 88))
        XCTAssertEqual(max8(v, SIMD8(repeating: 0)), SIMD8(0, 0, 0, 0, 0.5, 87.9, 88.5, 1e9))
        XCTAssertEqual(min8(v, SIMD8(repeating: 0)), SIMD8(-100, -87.5, -1, 0, 0, 0, 0, 0))
        // e^x saturates instead of overflowing: σ(x) = 1 / (1 + e^−x) stays finite at the extremes.
        let e = exp8(SIMD8(-1000, -88, -1, 0, 1, 50, 88, 1000))
        for i in 0..<8 { XCTAssertTrue(e[i].isFinite && e[i] > 0, "exp8 lane \(i): \(e[i])") }
        XCTAssertEqual(e[3], 1)
        XCTAssertEqual(Double(e[4]), M_E, accuracy: 1e-6)
    }
}
