// Random-weight models of any shape: for tests (tiny models, gradient checks, format round trips)
// and for benchmarks of shapes whose real weights are not on the machine (Llama-2-7B layers).
import Numerics

/// A [rows, cols] weight with entries uniform in ±scale (default ±1/sqrt(cols), which keeps activations O(1)).
public func randomWeight(rows: Int, cols: Int, type: WeightType, rng: inout Rng, scale: Float? = nil) -> Weight {
    let s = scale ?? 1 / Float(cols).squareRoot()
    let n = rows * cols
    switch type {
    case .f32:
        let b = FloatBuffer(count: n)
        for i in 0..<n { b.ptr[i] = (rng.uniform() * 2 - 1) * s }
        return Weight(rows: rows, cols: cols, buffer: b)
    case .f16, .bf16:
        let b = ByteBuffer(byteCount: n * 2)
        let h = b.ptr.bindMemory(to: UInt16.self, capacity: n)
        for i in 0..<n {
            let v = (rng.uniform() * 2 - 1) * s
            h[i] = type == .f16 ? Float16(v).bitPattern : floatToBF16(v)
        }
        return Weight(rows: rows, cols: cols, type: type, base: UnsafeRawPointer(b.ptr), owner: b)
    default:
        // Random fp32 values quantized row by row (cols must be a multiple of the block size).
        let row = FloatBuffer(count: cols), b = ByteBuffer(byteCount: rows * type.rowBytes(cols))
        for r in 0..<rows {
            for c in 0..<cols { row.ptr[c] = (rng.uniform() * 2 - 1) * s }
            quantizeBlocks(type.blockFormat!, row.ptr, b.ptr + r * type.rowBytes(cols), cols)
        }
        return Weight(rows: rows, cols: cols, type: type, base: UnsafeRawPointer(b.ptr), owner: b)
    }
}

extension LlamaModel {
    /// A model with random weights (norm gains near 1) of the given shape.
    public static func random(_ c: LlamaConfig, seed: UInt64, type: WeightType = .f32) -> LlamaModel {
        var rng = Rng(seed: seed)
        func gain(_ n: Int) -> FloatBuffer {
            let b = FloatBuffer(count: n)
            for i in 0..<n { b.ptr[i] = 1 + (rng.uniform() - 0.5) * 0.2 }
            return b
        }
        var layers: [LayerWeights] = []
        for _ in 0..<c.nLayers {
            layers.append(
                LayerWeights(
                    attnNorm: gain(c.dim),
                    wq: randomWeight(rows: c.qDim, cols: c.dim, type: type, rng: &rng),
                    wk: randomWeight(rows: c.kvDim, cols: c.dim, type: type, rng: &rng),
                    wv: randomWeight(rows: c.kvDim, cols: c.dim, type: type, rng: &rng),
                    wo: randomWeight(rows: c.dim, cols: c.qDim, type: type, rng: &rng),
                    ffnNorm: gain(c.dim),
                    wGate: randomWeight(rows: c.hiddenDim, cols: c.dim, type: type, rng: &rng),
                    wUp: randomWeight(rows: c.hiddenDim, cols: c.dim, type: type, rng: &rng),
                    wDown: randomWeight(rows: c.dim, cols: c.hiddenDim, type: type, rng: &rng)))
        }
        let emb = randomWeight(rows: c.vocabSize, cols: c.dim, type: type, rng: &rng, scale: 1)
        let out = c.tiedEmbeddings ? emb : randomWeight(rows: c.vocabSize, cols: c.dim, type: type, rng: &rng)
        return LlamaModel(
            config: c, weights: LlamaWeights(tokenEmbedding: emb, layers: layers, outputNorm: gain(c.dim), output: out),
            path: "<random seed \(seed)>", format: .gguf)
    }
}
