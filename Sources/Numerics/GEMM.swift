// Matrix products in the three forms a frozen model with a trained adapter needs.
// All activations are fp32 row-major [tokens, features]; W is a `Weight` [N, K] (PyTorch [out, in]).
//
//   matmul(x, W)         y[M,N]  = x[M,K] · Wᵀ         forward of a Linear
//   matmulBackward(dy,W) dx[M,K] (+)= dy[M,N] · W      gradient wrt the Linear's input
//   matmulWeightGrad     dW[N,K] (+)= dyᵀ[N,M] · x[M,K] gradient wrt the Linear's weight (fp32 only)
//
// Reference implementation: simple, parallel, SIMD dot products. Fast kernels replace the bodies.

/// y[M,N] = x[M,K] · Wᵀ (+ y if accumulate).
public func matmul(_ x: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ y: UnsafeMutablePointer<Float>,
                   accumulate: Bool = false) {
    let N = W.rows, K = W.cols
    let xs = SendableConstPointer(x), ys = SendablePointer(y)
    parallelRanges(N, align: 8) { range in
        let row = UnsafeMutablePointer<Float>.allocate(capacity: K)
        defer { row.deallocate() }
        for n in range {
            W.copyRow(n, into: row)
            for m in 0..<M {
                let d = dot(xs.p + m * K, row, K)
                ys.p[m * N + n] = accumulate ? ys.p[m * N + n] + d : d
            }
        }
    }
}

/// dx[M,K] = dy[M,N] · W (+ dx if accumulate).
public func matmulBackward(_ dy: UnsafePointer<Float>, _ M: Int, _ W: Weight, _ dx: UnsafeMutablePointer<Float>,
                           accumulate: Bool = false) {
    let N = W.rows, K = W.cols
    let dys = SendableConstPointer(dy), dxs = SendablePointer(dx)
    parallelRanges(M) { range in
        let row = UnsafeMutablePointer<Float>.allocate(capacity: K)
        defer { row.deallocate() }
        for m in range where !accumulate { (dxs.p + m * K).update(repeating: 0, count: K) }
        for n in 0..<N {
            W.copyRow(n, into: row)
            for m in range {
                let g = dys.p[m * N + n]
                if g != 0 { axpy(g, row, dxs.p + m * K, K) }
            }
        }
    }
}

/// dW[N,K] = dyᵀ[N,M] · x[M,K] (+ dW if accumulate).
public func matmulWeightGrad(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, M: Int, N: Int, K: Int,
                             _ dW: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
    let dys = SendableConstPointer(dy), xs = SendableConstPointer(x), dws = SendablePointer(dW)
    parallelRanges(N) { range in
        for n in range {
            let out = dws.p + n * K
            if !accumulate { out.update(repeating: 0, count: K) }
            for m in 0..<M {
                let g = dys.p[m * N + n]
                if g != 0 { axpy(g, xs.p + m * K, out, K) }
            }
        }
    }
}
