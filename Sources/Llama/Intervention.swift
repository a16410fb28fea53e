// Hook sites: places in the forward pass where an intervention (an IRM, a clamped neuron, a probe)
// may read or change activations. The model knows no intervention; with none, no hook is called.
//
// `replay` is true when the backward pass recomputes a layer (training with --recompute keeps only each
// layer's input): the hook sees the same activations as in the forward and must change them the same
// way, but should not redo work or record twice (the IRM re-injects the output it computed then).

public protocol Intervention: AnyObject {
    /// The residual stream x[T, dim] of layer `layer` right after its attention residual add
    /// (x + attn(norm(x))), before post_attention_layernorm and the MLP. Positions pos0 ..< pos0+T
    /// (in training, T counts the rows of all B sequences and pos0 is 0).
    func afterAttention(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool)
    /// The MLP activation h[T, hiddenDim] = silu(x·W_gateᵀ) ⊙ (x·W_upᵀ) of layer `layer`, before W_down.
    func mlpActivation(layer: Int, activation h: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool)
    /// The residual stream x[T, dim] after layer `layer`'s MLP residual add: the block's output, where
    /// llama.cpp adds a control vector's direction.N (its `l_out`).
    func afterLayer(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool)
}

extension Intervention {
    public func afterAttention(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {}
    public func mlpActivation(layer: Int, activation h: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {}
    public func afterLayer(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {}
}
