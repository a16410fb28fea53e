// The activations a training step keeps for its backward pass, for one batch of B sequences × T tokens
// (N = B·T rows), carved out of one allocation that is reused from step to step. The layout is one
// ordered table (`table`): summed for the size the memory plan prints, walked for the carving.
//
// Per layer (all [N, ·] row-major):            with --recompute only xIn is kept per layer; the rest
//   xIn   [N, dim]     residual entering          lives in a single layer's worth of storage, shared by
//   rstd1 [N]          1/rms of xIn               every layer, and is recomputed from xIn during the
//   q     [N, qDim]    rotated queries            backward pass.
//   k, v  [N, kvDim]   rotated keys, values
//   probs [B, nHeads, T, T] softmax weights
//   xMid  [N, dim]     residual after attention (and after any injection)
//   rstd2 [N]
//   gate, up [N, hidden]  MLP pre-activations
// Final: xFinal [N, dim], rstdF [N], xnF [N, dim] (normalised final residual, the LM head's input).
// Scratch shared by every layer, forward and backward: x, xb, att, h/dH, dGate, dUp, dq, dk, dv, ds, dX, dXb.
// The LM head's chunk (CrossEntropy.swift): headLogits [chunk, vocab], headIn, headInGrad [chunk, dim].
import Numerics

public final class TrainingArena: @unchecked Sendable {
    public let config: LlamaConfig
    /// The largest batch this arena holds; `setShape` selects the current one (no reallocation).
    public let maxB: Int, maxT: Int
    public let recompute: Bool
    public private(set) var B: Int, T: Int
    public var N: Int { B * T }

    /// What layer l's backward reads (views into storage; nil only until the first carving).
    struct SavedLayer {
        var xIn, rstd1, q, k, v, probs, xMid, rstd2, gate, up: UnsafeMutablePointer<Float>!
    }
    let storage: FloatBuffer
    /// Floats the current shape's carving spans (≤ storage.count).
    private(set) var extent = 0
    var layers: [SavedLayer]
    var xFinal, rstdF, xnF: UnsafeMutablePointer<Float>!
    var x, xb, att, h, dGate, dUp, dq, dk, dv, ds, dX, dXb: UnsafeMutablePointer<Float>!
    /// The backward's names for the two forward buffers it reuses: d loss / d h [N, hiddenDim] (the SwiGLU output,
    /// W_down's input) is written into `h`, d loss / d att [N, qDim] (W_o's input) into `att`. Each is dead in the
    /// forward sense by then (the layer's backward has read what it needed from the saved views).
    var dH: UnsafeMutablePointer<Float>! { h }
    var dAtt: UnsafeMutablePointer<Float>! { att }
    var headLogits, headIn, headInGrad: UnsafeMutablePointer<Float>!

    typealias View = ReferenceWritableKeyPath<TrainingArena, UnsafeMutablePointer<Float>?>

    /// The arena's regions in order, for batch shape B × T.
    static func table(_ c: LlamaConfig, B: Int, T: Int, recompute: Bool) -> RegionTable<View> {
        let N = B * T, nL = c.nLayers
        var t = RegionTable<View>()
        func layer(_ l: Int, _ v: WritableKeyPath<SavedLayer, UnsafeMutablePointer<Float>?>) -> View {
            let slot: ReferenceWritableKeyPath<TrainingArena, SavedLayer> = \.layers[l]
            return slot.appending(path: v)
        }
        // What a layer's backward reads besides its input, with each one's float count.
        let saved: [(WritableKeyPath<SavedLayer, UnsafeMutablePointer<Float>?>, Int)] = [
            (\.rstd1, N), (\.q, N * c.qDim), (\.k, N * c.kvDim), (\.v, N * c.kvDim), (\.probs, B * c.nHeads * T * T),
            (\.xMid, N * c.dim), (\.rstd2, N), (\.gate, N * c.hiddenDim), (\.up, N * c.hiddenDim)
        ]
        if recompute {
            for l in 0..<nL { t.add(layer(l, \.xIn), N * c.dim) }
            for (v, n) in saved { t.add(shared: (0..<nL).map { layer($0, v) }, n) }
        } else {
            for l in 0..<nL {
                t.add(layer(l, \.xIn), N * c.dim)
                for (v, n) in saved { t.add(layer(l, v), n) }
            }
        }
        t.add(\.xFinal, N * c.dim); t.add(\.rstdF, N); t.add(\.xnF, N * c.dim)
        // Scratch. h holds silu(gate)⊙up in the forward and dH in the backward; ds is one sequence's
        // score gradient (the attention backward runs one sequence at a time).
        t.add(\.x, N * c.dim); t.add(\.xb, N * c.dim); t.add(\.att, N * c.qDim)
        t.add(\.h, N * c.hiddenDim); t.add(\.dGate, N * c.hiddenDim); t.add(\.dUp, N * c.hiddenDim)
        t.add(\.dq, N * c.qDim); t.add(\.dk, N * c.kvDim); t.add(\.dv, N * c.kvDim)
        t.add(\.ds, c.nHeads * T * T); t.add(\.dX, N * c.dim); t.add(\.dXb, N * c.dim)
        let chunk = crossEntropyChunkRows(vocab: c.vocabSize, rows: N)
        t.add(\.headLogits, chunk * c.vocabSize); t.add(\.headIn, chunk * c.dim); t.add(\.headInGrad, chunk * c.dim)
        return t
    }

    /// Bytes this arena needs (for the memory plan).
    public static func byteCount(_ c: LlamaConfig, B: Int, T: Int, recompute: Bool) -> Int {
        4 * table(c, B: B, T: T, recompute: recompute).floats
    }

    public init(config c: LlamaConfig, B: Int, T: Int, recompute: Bool = false) {
        config = c; maxB = B; maxT = T; self.B = B; self.T = T; self.recompute = recompute
        storage = FloatBuffer(count: TrainingArena.byteCount(c, B: B, T: T, recompute: recompute) / 4)
        layers = Array(repeating: SavedLayer(), count: c.nLayers)
        carve()
    }

    /// Selects a batch shape B' ≤ maxB, T' ≤ maxT; the views are re-carved from the same storage
    /// (everything fits since every region grows with B, T or T²).
    public func setShape(B: Int, T: Int) {
        // Not a precondition: Llama builds with -Ounchecked, and a shape past the storage would write past it.
        guard B >= 1 && B <= maxB && T >= 1 && T <= maxT else {
            fatalError("TrainingArena.setShape: \(B)×\(T) does not fit the arena's \(maxB)×\(maxT)")
        }
        if B == self.B && T == self.T { return }
        self.B = B; self.T = T
        carve()
    }

    private func carve() {
        extent = TrainingArena.table(config, B: B, T: T, recompute: recompute).carve(storage.ptr) {
            self[keyPath: $0] = $1
        }
        guard extent <= storage.count else {
            fatalError("TrainingArena: carving \(extent) floats past \(storage.count)")
        }
    }

    /// The LM head's chunk buffers for the current shape.
    var headBuffers: CrossEntropyBuffers {
        CrossEntropyBuffers(
            logits: headLogits, input: headIn, inputGrad: headInGrad,
            chunk: crossEntropyChunkRows(vocab: config.vocabSize, rows: N))
    }

    /// Where layer l's forward writes in this arena: its saved views and the shared scratch. Without
    /// `saveInput` (a recomputation) xIn is left alone: it is what the layer is being recomputed from.
    func views(_ l: Int, saveInput: Bool = true) -> LayerViews {
        let S = layers[l]
        return LayerViews(
            x: x, xb: xb, q: S.q, k: S.k, v: S.v, att: att, gate: S.gate, up: S.up, h: h,
            xIn: saveInput ? S.xIn : nil, rstd1: S.rstd1, probs: S.probs, xMid: S.xMid, rstd2: S.rstd2)
    }
}
