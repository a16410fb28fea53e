// Per-sequence state for generation: the KV cache and the scratch activations of one forward call.
import Numerics

public final class InferenceState: @unchecked Sendable {
    public let config: LlamaConfig
    public let capacity: Int  // positions the KV cache holds
    public private(set) var length = 0  // positions filled
    let keys: [FloatBuffer]  // per layer [capacity, kvDim]
    let values: [FloatBuffer]

    // Scratch for up to `scratchT` tokens per call; grown on demand.
    var scratchT = 0
    var x = FloatBuffer(count: 0), xb = FloatBuffer(count: 0), q = FloatBuffer(count: 0)
    var att = FloatBuffer(count: 0), gate = FloatBuffer(count: 0), up = FloatBuffer(count: 0)

    public init(config: LlamaConfig, capacity: Int) {
        self.config = config
        self.capacity = capacity
        keys = (0..<config.nLayers).map { _ in FloatBuffer(count: capacity * config.kvDim) }
        values = (0..<config.nLayers).map { _ in FloatBuffer(count: capacity * config.kvDim) }
    }

    /// Forget the sequence (keep the memory).
    public func reset() { length = 0 }
    /// Drop positions ≥ n (e.g. to reuse a shared prompt prefix).
    public func truncate(to n: Int) { length = min(length, max(0, n)) }
    func advance(_ T: Int) { length += T }

    func ensureScratch(_ T: Int) {
        guard T > scratchT else { return }
        let c = config
        x = FloatBuffer(count: T * c.dim); xb = FloatBuffer(count: T * c.dim)
        q = FloatBuffer(count: T * c.qDim); att = FloatBuffer(count: T * c.qDim)
        gate = FloatBuffer(count: T * c.hiddenDim); up = FloatBuffer(count: T * c.hiddenDim)
        scratchT = T
    }
}
