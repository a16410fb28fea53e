// The frozen weights of a Llama-family model, in the layout the kernels use.
// Linear weights are `Weight` [out, in] in fp32/fp16/bf16 or a ggml block format; norm gains are fp32 vectors.
import Numerics
import ModelIO

public struct LayerWeights: @unchecked Sendable {
    public var attnNorm: FloatBuffer  // [dim]   input_layernorm
    public var wq: Weight  // [qDim, dim]
    public var wk: Weight  // [kvDim, dim]
    public var wv: Weight  // [kvDim, dim]
    public var wo: Weight  // [dim, qDim]
    public var ffnNorm: FloatBuffer  // [dim]   post_attention_layernorm
    public var wGate: Weight  // [hidden, dim]  w1
    public var wUp: Weight  // [hidden, dim]  w3
    public var wDown: Weight  // [dim, hidden]  w2
}

public final class LlamaWeights: @unchecked Sendable {
    public let tokenEmbedding: Weight  // [vocab, dim]
    public let layers: [LayerWeights]
    public let outputNorm: FloatBuffer  // [dim]
    public let output: Weight  // [vocab, dim]; the embedding itself when tied

    public init(tokenEmbedding: Weight, layers: [LayerWeights], outputNorm: FloatBuffer, output: Weight) {
        self.tokenEmbedding = tokenEmbedding; self.layers = layers; self.outputNorm = outputNorm; self.output = output
    }

    /// Every matrix once (a tied output is the embedding).
    public var matrices: [Weight] {
        var m = [tokenEmbedding]
        if output.base != tokenEmbedding.base { m.append(output) }
        for l in layers { m += [l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown] }
        return m
    }

    /// Bytes the weights occupy in memory (shared tensors counted once).
    public var byteCount: Int {
        var n = outputNorm.count * 4
        for l in layers { n += (l.attnNorm.count + l.ffnNorm.count) * 4 }
        return matrices.reduce(n) { $0 + $1.byteCount }
    }
}
