import XCTest
@testable import Numerics

/// A random weight of the given type, plus its exact fp32 values (after rounding to the type).
func randomWeight(_ rows: Int, _ cols: Int, _ type: WeightType, _ rng: inout Rng) -> (Weight, [Float]) {
    let n = rows * cols
    var vals = [Float](repeating: 0, count: n)
    let buf = ByteBuffer(byteCount: n * type.byteSize)
    for i in 0..<n {
        let v = rng.normal()
        switch type {
        case .f32:
            buf.ptr.storeBytes(of: v, toByteOffset: i * 4, as: Float.self); vals[i] = v
        case .f16:
            let h = Float16(v); buf.ptr.storeBytes(of: h, toByteOffset: i * 2, as: Float16.self); vals[i] = Float(h)
        case .bf16:
            let h = floatToBF16(v); buf.ptr.storeBytes(of: h, toByteOffset: i * 2, as: UInt16.self);
            vals[i] = bf16ToFloat(h)
        default: preconditionFailure("quantized weights: QuantTests.swift")
        }
    }
    return (Weight(rows: rows, cols: cols, type: type, base: UnsafeRawPointer(buf.ptr), owner: buf), vals)
}

func randomArray(_ n: Int, _ rng: inout Rng) -> [Float] { (0..<n).map { _ in rng.normal() } }

/// Runs `body` once on every kernel path this CPU has (KernelPath.swift), `kernelPath` set to it; a path the
/// CPU lacks is named as skipped (an AVX2-only machine cannot test the AVX-512 kernels).
func onEveryKernelPath(_ body: () -> Void) {
    let saved = kernelPath
    defer { kernelPath = saved }
    let here = CPUInfo.current.paths
    for path in KernelPath.allCases {
        guard here.contains(path) else {
            print("kernel path \(path.rawValue) skipped: this CPU cannot run it"); continue
        }
        kernelPath = path
        body()
    }
}

/// Checks got against a Double reference: |got - ref| ≤ tol · (Σ|terms| + |initial|) per element.
func check(
    _ got: [Float], _ ref: [Double], _ mag: [Double], _ what: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(got.count, ref.count)
    var worst = 0.0, worstAt = -1
    for i in 0..<ref.count {
        let err = abs(Double(got[i]) - ref[i]) / max(mag[i], 1e-30)
        if !(err <= worst) { worst = err; worstAt = i }  // also catches NaN
    }
    XCTAssert(
        worst <= 1e-5, "[\(kernelPath.rawValue)] \(what): worst relative error \(worst) at \(worstAt)",
        file: file, line: line)
}

final class GEMMTests: XCTestCase {
    let Ms = [1, 2, 3, 5, 7, 8, 13, 64, 130]
    let dims = [1, 7, 8, 15, 16, 17, 33, 100, 577]

    func testForward() { onEveryKernelPath(checkForward) }
    func checkForward() {
        var rng = Rng(seed: 1)
        let saved = gemvMaxRows
        defer { gemvMaxRows = saved }
        var cases = 0
        for type in [WeightType.f32, .f16, .bf16] {
            for N in dims {
                for K in dims {
                    // Every (N, K) pair with a few M; all M on a subset so the test stays quick.
                    let ms = (N == 17 || K == 33 || N == 577) ? Ms : [1, 3, 7, 13]
                    let (W, wv) = randomWeight(N, K, type, &rng)
                    for M in ms {
                        let x = randomArray(M * K, &rng)
                        for acc in [false, true] {
                            let y0 = randomArray(M * N, &rng)
                            let y = acc ? y0 : [Float](repeating: .nan, count: M * N)
                            var ref = [Double](repeating: 0, count: M * N), mag = ref
                            for m in 0..<M {
                                for n in 0..<N {
                                    var s = acc ? Double(y0[m * N + n]) : 0, a = abs(s)
                                    for k in 0..<K {
                                        let t = Double(x[m * K + k]) * Double(wv[n * K + k]); s += t; a += abs(t)
                                    }
                                    ref[m * N + n] = s; mag[m * N + n] = a
                                }
                            }
                            // Both paths on every shape: the packed GEMM and the GEMV.
                            for gemvRows in [0, Int.max] {
                                gemvMaxRows = gemvRows
                                var y = y
                                x.withUnsafeBufferPointer { xp in
                                    y.withUnsafeMutableBufferPointer { yp in
                                        matmul(xp.baseAddress!, M, W, yp.baseAddress!, accumulate: acc)
                                    }
                                }
                                check(
                                    y, ref, mag,
                                    "matmul(\(gemvRows == 0 ? "gemm" : "gemv")) \(type) M=\(M) N=\(N) K=\(K) acc=\(acc)"
                                )
                                cases += 1
                            }
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(cases, 500)
    }

    func testBackward() { onEveryKernelPath(checkBackward) }
    func checkBackward() {
        var rng = Rng(seed: 2)
        for type in [WeightType.f32, .f16, .bf16] {
            for N in dims {
                for K in dims {
                    let ms = (N == 17 || K == 33) ? Ms : [1, 7, 13]
                    let (W, wv) = randomWeight(N, K, type, &rng)
                    for M in ms {
                        let dy = randomArray(M * N, &rng)
                        for acc in [false, true] {
                            let d0 = randomArray(M * K, &rng)
                            var dx = acc ? d0 : [Float](repeating: .nan, count: M * K)
                            var ref = [Double](repeating: 0, count: M * K), mag = ref
                            for m in 0..<M {
                                for k in 0..<K {
                                    var s = acc ? Double(d0[m * K + k]) : 0, a = abs(s)
                                    for n in 0..<N {
                                        let t = Double(dy[m * N + n]) * Double(wv[n * K + k]); s += t; a += abs(t)
                                    }
                                    ref[m * K + k] = s; mag[m * K + k] = a
                                }
                            }
                            dy.withUnsafeBufferPointer { p in
                                dx.withUnsafeMutableBufferPointer { q in
                                    matmulBackward(p.baseAddress!, M, W, q.baseAddress!, accumulate: acc)
                                }
                            }
                            check(dx, ref, mag, "matmulBackward \(type) M=\(M) N=\(N) K=\(K) acc=\(acc)")
                        }
                    }
                }
            }
        }
    }

    func testWeightGrad() { onEveryKernelPath(checkWeightGrad) }
    func checkWeightGrad() {
        var rng = Rng(seed: 3)
        for N in dims {
            for K in dims {
                for M in ((N == 17 || K == 33) ? Ms : [1, 7, 130]) {
                    let dy = randomArray(M * N, &rng), x = randomArray(M * K, &rng)
                    for acc in [false, true] {
                        let d0 = randomArray(N * K, &rng)
                        var dW = acc ? d0 : [Float](repeating: .nan, count: N * K)
                        var ref = [Double](repeating: 0, count: N * K), mag = ref
                        for n in 0..<N {
                            for k in 0..<K {
                                var s = acc ? Double(d0[n * K + k]) : 0, a = abs(s)
                                for m in 0..<M {
                                    let t = Double(dy[m * N + n]) * Double(x[m * K + k]); s += t; a += abs(t)
                                }
                                ref[n * K + k] = s; mag[n * K + k] = a
                            }
                        }
                        dy.withUnsafeBufferPointer { p in
                            x.withUnsafeBufferPointer { xp in
                                dW.withUnsafeMutableBufferPointer { q in
                                    matmulWeightGrad(
                                        p.baseAddress!, xp.baseAddress!, M: M, N: N, K: K, q.baseAddress!,
                                        accumulate: acc)
                                }
                            }
                        }
                        check(dW, ref, mag, "matmulWeightGrad M=\(M) N=\(N) K=\(K) acc=\(acc)")
                    }
                }
            }
        }
    }

    /// Larger shapes that cross the KC/MC/NC block edges and split across threads.
    func testBlockEdges() { onEveryKernelPath(checkBlockEdges) }
    func checkBlockEdges() {
        var rng = Rng(seed: 4)
        for (M, N, K, type) in [
            (130, 1100, 800, WeightType.f16), (200, 40, 1300, .bf16), (9, 2050, 390, .f32),
            (300, 70, 100, .f32)
        ] {
            let (W, wv) = randomWeight(N, K, type, &rng)
            let x = randomArray(M * K, &rng)
            var y = [Float](repeating: .nan, count: M * N)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in matmul(xp.baseAddress!, M, W, yp.baseAddress!) }
            }
            var ref = [Double](repeating: 0, count: M * N), mag = ref
            for m in 0..<M {
                for n in 0..<N {
                    var s = 0.0, a = 0.0
                    for k in 0..<K { let t = Double(x[m * K + k]) * Double(wv[n * K + k]); s += t; a += abs(t) }
                    ref[m * N + n] = s; mag[m * N + n] = a
                }
            }
            check(y, ref, mag, "matmul big M=\(M) N=\(N) K=\(K)")
        }
    }

    /// A product with few column chunks is cut so that its tasks go round the threads evenly (N = 192 on the
    /// AVX-512 path was 3 tasks on 2 threads: one thread idle for a third of it).
    func testFewColumnChunksGoRoundTheThreads() {
        let saved = numThreads
        defer { numThreads = saved }
        var rng = Rng(seed: 7)
        let x = FloatBuffer(count: 1024 * 576), y = FloatBuffer(count: 1024 * 320)
        for N in [150, 192, 250, 320] {
            let W = randomWeight(N, 576, .f32, &rng).0
            for threads in [2, 3] {
                numThreads = threads
                let p = gemmPlan(
                    M: 1024, N: N, K: 576, a: .rowMajor(x.ptr, ld: 576), b: .transposed(W), c: y.ptr, ldc: N,
                    accumulate: false)
                XCTAssertTrue(
                    p.tasks % threads == 0 || p.nChunks >= 4 * threads, "N \(N), \(threads) threads: \(p.tasks) tasks")
            }
        }
    }

    /// The shape added to the thread-count test below does exercise the shared packed A on several threads.
    func testSeveralColumnTasksSharePackedA() {
        let saved = numThreads
        defer { numThreads = saved }
        var rng = Rng(seed: 6)
        let W = randomWeight(250, 100, .f32, &rng).0
        let x = FloatBuffer(count: 400 * 100), y = FloatBuffer(count: 400 * 250)
        func shares() -> Bool {
            GEMMPlan.sharePackedA([
                gemmPlan(
                    M: 400, N: 250, K: 100, a: .rowMajor(x.ptr, ld: 100), b: .transposed(W), c: y.ptr, ldc: 250,
                    accumulate: false)
            ])
        }
        numThreads = 1
        XCTAssertFalse(shares())
        numThreads = 2
        XCTAssertTrue(shares())
    }

    /// Results must be bit-identical whatever the thread count (training is reproducible from a seed).
    func testThreadCountDoesNotChangeResults() { onEveryKernelPath(checkThreadCountDoesNotChangeResults) }
    func checkThreadCountDoesNotChangeResults() {
        var rng = Rng(seed: 5)
        let saved = numThreads
        defer { numThreads = saved }
        let savedRows = gemvMaxRows
        defer { gemvMaxRows = savedRows }
        for (M, N, K) in [
            (1, 1500, 700), (3, 1001, 577), (8, 1500, 700), (130, 577, 1100), (64, 2100, 300), (20, 3000, 200),
            // More rows than one packed A block: with several threads the column tasks share one packed A
            // (GEMMPlan.sharePackedA), with one thread the only task packs its own.
            (400, 250, 100),
            // Column chunks that do not go round the threads (3 of 2 panels on AVX-512): rows split as well.
            (400, 150, 100)
        ] {
            for type in [WeightType.f32, .f16, .bf16] {
                for gemvRows in [0, Int.max] {
                    gemvMaxRows = gemvRows
                    let (W, _) = randomWeight(N, K, type, &rng)
                    let x = randomArray(M * K, &rng), dy = randomArray(M * N, &rng)
                    func run() -> ([Float], [Float], [Float]) {
                        var y = [Float](repeating: 0, count: M * N), dx = [Float](repeating: 0, count: M * K)
                        var dW = [Float](repeating: 0, count: N * K)
                        x.withUnsafeBufferPointer { xp in
                            dy.withUnsafeBufferPointer { dyp in
                                y.withUnsafeMutableBufferPointer { matmul(xp.baseAddress!, M, W, $0.baseAddress!) }
                                dx.withUnsafeMutableBufferPointer {
                                    matmulBackward(dyp.baseAddress!, M, W, $0.baseAddress!)
                                }
                                dW.withUnsafeMutableBufferPointer {
                                    matmulWeightGrad(
                                        dyp.baseAddress!, xp.baseAddress!, M: M, N: N, K: K, $0.baseAddress!)
                                }
                            }
                        }
                        return (y, dx, dW)
                    }
                    numThreads = 1
                    let one = run()
                    for t in [2, 3, 5] {
                        numThreads = t
                        let many = run()
                        XCTAssert(
                            one.0.map(\.bitPattern) == many.0.map(\.bitPattern),
                            "[\(kernelPath)] matmul \(type) \(M)×\(N)×\(K) threads=\(t)")
                        XCTAssert(
                            one.1.map(\.bitPattern) == many.1.map(\.bitPattern),
                            "[\(kernelPath)] backward \(type) \(M)×\(N)×\(K) threads=\(t)")
                        XCTAssert(
                            one.2.map(\.bitPattern) == many.2.map(\.bitPattern),
                            "[\(kernelPath)] weightGrad \(M)×\(N)×\(K) threads=\(t)")
                    }
                }
            }
        }
    }
}
