import XCTest
@testable import Numerics

/// The neuron map's 8-bit screen (Int8Screen.swift): its values against the exact fp32 GEMM within their proven
/// bounds, its integer sums against a plain loop, its kernels against each other, and `gemmRowElements` against
/// the GEMM bit for bit.
final class Int8ScreenTests: XCTestCase {
    /// The screen's kernels this CPU runs: the portable one always, VNNI where the CPU has it.
    static var kernels: [Int8ScreenKernel] {
        CPUInfo.current.features.contains("avx512_vnni") && CPUInfo.current.paths.contains(.avx512)
            ? [.portable, .vnni] : [.portable]
    }

    /// A head [V, K] of `type` with rows of very different scales, an outlier column, a zero row and two equal
    /// rows; and M vectors, one of them zero and one equal to a head row.
    func data(V: Int, K: Int, M: Int, _ type: WeightType, seed: UInt64) -> (Weight, [Float]) {
        var rng = Rng(seed: seed)
        var h = [Float](repeating: 0, count: V * K)
        for v in 0..<V {
            let scale = Float(0.01 + 3 * Double(v % 7) / 7)
            for k in 0..<K { h[v * K + k] = (rng.uniform() * 2 - 1) * scale }
            h[v * K + 3] *= 20  // outlier column
        }
        for k in 0..<K { h[2 * K + k] = 0; h[9 * K + k] = h[5 * K + k] }
        var x = (0..<M * K).map { _ in rng.normal() }
        for k in 0..<K { x[k] = 0; x[K + k] = h[5 * K + k] }
        let w: Weight
        switch type {
        case .f32: w = Weight(rows: V, cols: K, buffer: FloatBuffer(h))
        case .f16:
            let b = ByteBuffer(byteCount: V * K * 2)
            for i in 0..<V * K { b.ptr.storeBytes(of: Float16(h[i]), toByteOffset: 2 * i, as: Float16.self) }
            w = Weight(rows: V, cols: K, type: .f16, base: UnsafeRawPointer(b.ptr), owner: b)
        default:
            let b = ByteBuffer(byteCount: V * type.rowBytes(K))
            h.withUnsafeBufferPointer { quantizeBlocks(type.blockFormat!, $0.baseAddress!, b.ptr, V * K) }
            w = Weight(rows: V, cols: K, type: type, base: UnsafeRawPointer(b.ptr), owner: b)
        }
        return (w, x)
    }

    func testBoundsHoldKernelsAgreeAndRescoringIsTheGEMM() {
        for (V, K, M, type) in [
            (77, 45, 13, WeightType.f32), (70, 128, 7, .f16), (45, 256, 8, .q6_K), (40, 96, 6, .q8_0)
        ] {
            let (w, x) = data(V: V, K: K, M: M, type, seed: UInt64(V * K))
            onEveryKernelPath {
                var exact = [Float](repeating: 0, count: M * V)
                x.withUnsafeBufferPointer { xp in
                    exact.withUnsafeMutableBufferPointer { matmulGEMM(xp.baseAddress!, M, w, $0.baseAddress!) }
                }
                let head = Int8Head(head: w)
                var firstA: [Float]? = nil, firstA2: [Float]? = nil
                var tighter = 0
                for kernel in Self.kernels {
                    var a = [Float](repeating: 0, count: M * V)
                    let rows = x.withUnsafeBufferPointer { xp in
                        a.withUnsafeMutableBufferPointer {
                            int8Screen(xp.baseAddress!, M, head, $0.baseAddress!, ldo: V, kernel: kernel)
                        }
                    }
                    var a2s = [Float]()
                    for i in 0..<M {
                        for v in 0..<V {
                            // Stage 1's value is s·t·(the integer dot), the dot as a plain loop computes it.
                            var dot = 0
                            for k in 0..<K {
                                let u =
                                    Int(rows.u.ptr.load(fromByteOffset: i * rows.rowBytes + k, as: UInt8.self)) - 128
                                dot +=
                                    u
                                    * Int(head.rows.ptr.load(fromByteOffset: 2 * v * head.rowBytes + k, as: Int8.self))
                            }
                            XCTAssertEqual(a[i * V + v], Float(dot) * (rows.scale[i] * head.scale[v]))
                            let l = exact[i * V + v]
                            let b = int8ScreenBound(
                                a: a[i * V + v], rowErr: rows.normErr[i], rowNorm: rows.norm[i],
                                headHat: head.normHat[v],
                                headErr: head.normErr[v])
                            XCTAssertLessThanOrEqual(
                                abs(l - a[i * V + v]), b, "stage 1 \(type) \(kernel) row \(i) token \(v)")
                            let (a2, b2) = int8Refine(rows, i, head, v, kernel: kernel)
                            XCTAssertLessThanOrEqual(abs(l - a2), b2, "stage 2 \(type) \(kernel) row \(i) token \(v)")
                            if b2 < b / 10 { tighter += 1 }
                            a2s.append(a2)
                        }
                    }
                    if let f = firstA {
                        XCTAssertEqual(f, a, "\(kernel) differs from \(Self.kernels[0])")
                    } else {
                        firstA = a
                    }
                    if let f = firstA2 { XCTAssertEqual(f, a2s) } else { firstA2 = a2s }
                }
                // Stage 2 is what makes the screen useful: it must be far tighter than stage 1 (zero rows aside).
                XCTAssertGreaterThan(tighter, Self.kernels.count * (M - 1) * (V - 1) * 9 / 10, "\(type)")
                // Every element alone, in the GEMM's order, is the GEMM's element bit for bit.
                var ids = (0..<V).map { Int32($0) }
                ids.reverse()
                for i in 0..<M {
                    var got = [Float](repeating: 0, count: V)
                    x.withUnsafeBufferPointer { xp in
                        gemmRowElements(xp.baseAddress! + i * K, w, ids: &ids, count: V, &got)
                    }
                    for j in 0..<V {
                        XCTAssertEqual(
                            got[j].bitPattern, exact[i * V + Int(ids[j])].bitPattern,
                            "\(type) \(kernelPath) row \(i) token \(ids[j])")
                    }
                }
            }
        }
    }
}
