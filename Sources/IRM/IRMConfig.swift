// The shape of an Injectable Realignment Model (Smith et al., arXiv 2407.03621, §3): a feed-forward net
//   Linear(h, w·h) → ReLU → [Linear(w·h, w·h) → ReLU] × (depth − 2) → Linear(w·h, h·L)
// reading the residual stream after the tap layer's attention block and adding one h-wide slice of its
// output to the residual after the attention block of each of its L injection layers.
// The `constant` kind has no network: its output is one trainable vector of h·L values, the same for every
// token (the input-independent "knob" of issue 19's hypothesis), added at the same sites.
import Foundation
import ModelIO

public struct IRMConfig: Codable, Hashable, Sendable {
    /// h, the model's residual width (its `dim`; `hidden` as the reference and irm_config call it, not the MLP's
    /// hiddenDim).
    public var hidden: Int
    public var widthMultiplier: Int = 3  // w (reference: 3)
    public var depth: Int = 5  // Linear layers (reference: 5)
    public var layers: [Int]  // injection layers, ascending
    public var tapLayer: Int = 0  // reference: layer 0 (after its attention add)
    public var l1: Float = 0  // L1 penalty on the output (reference runs: 0 or on)
    public var initialization: IRMInit = .pytorch
    public var kind: IRMKind = .network  // constant: no network, width and depth unused

    public init(
        hidden: Int, layers: [Int], widthMultiplier: Int = 3, depth: Int = 5, tapLayer: Int = 0,
        l1: Float = 0, initialization: IRMInit = .pytorch, kind: IRMKind = .network
    ) {
        self.hidden = hidden; self.layers = layers; self.widthMultiplier = widthMultiplier; self.depth = depth
        self.tapLayer = tapLayer; self.l1 = l1; self.initialization = initialization; self.kind = kind
    }

    public var width: Int { hidden * widthMultiplier }
    /// h·L: the output holds every injection layer's slice, interleaved (see IRMNetwork.swift).
    public var outputDim: Int { hidden * layers.count }
    /// (out, in) of each Linear, first to last; none for the constant kind.
    public var linearShapes: [(out: Int, in: Int)] {
        guard kind == .network else { return [] }
        let ins = [hidden] + Array(repeating: width, count: depth - 1)
        let outs = Array(repeating: width, count: depth - 1) + [outputDim]
        return zip(outs, ins).map { (out: $0, in: $1) }
    }
    public var parameterCount: Int {
        kind == .constant ? outputDim : linearShapes.reduce(0) { $0 + $1.out * $1.in + $1.out }
    }
    /// One line for reports and logs.
    public var summary: String {
        switch kind {
        case .network: "\(depth) Linear layers, width \(widthMultiplier)·\(hidden) = \(width)"
        case .constant: "a constant vector per injection layer (no network)"
        }
    }

    /// The parameter count computed without overflow and without building `linearShapes` (nil when it does not
    /// fit in Int or a size is not positive): what a config read from a file is checked with.
    public var checkedParameterCount: Int? {
        guard hidden >= 1, widthMultiplier >= 1, depth >= 1, !layers.isEmpty,
            let w = checkedProduct([hidden, widthMultiplier]), let out = checkedProduct([hidden, layers.count])
        else { return nil }
        // Linear(in, out) has out·in weights and out biases.
        func linear(_ i: Int, _ o: Int) -> Int? { checkedSum([i, 1]).flatMap { checkedProduct([o, $0]) } }
        if kind == .constant { return out }
        if depth == 1 { return linear(hidden, out) }
        guard let first = linear(hidden, w), let last = linear(w, out),
            let middles = depth == 2 ? 0 : linear(w, w).flatMap({ checkedProduct([$0, depth - 2]) })
        else { return nil }
        return checkedSum([first, middles, last])
    }

    /// Deeper or wider than this is not an IRM anyone trains (the reference: depth 5, 3·4096 wide for Llama-2-7B).
    /// With these bounds every size derived from a config (parameters, activations for 2^24 tokens, memory
    /// plans) stays within Int, whatever a file says.
    public static let maxDepth = 256, maxWidth = 1 << 24

    /// The checks that need no model: positive sizes, a non-empty list of distinct, non-negative layers, a
    /// finite L1 weight, and a parameter count that fits in Int. A config read from a file passes here before
    /// it sizes anything.
    public func checkShape() throws {
        guard hidden >= 1 else { throw IRMError.invalid("hidden size \(hidden) must be at least 1") }
        guard depth >= 1 else { throw IRMError.invalid("depth \(depth) must be at least 1") }
        guard depth <= IRMConfig.maxDepth else {
            throw IRMError.invalid("depth \(depth) is above the supported \(IRMConfig.maxDepth)")
        }
        guard widthMultiplier >= 1 else {
            throw IRMError.invalid("width multiplier \(widthMultiplier) must be at least 1")
        }
        guard !layers.isEmpty else { throw IRMError.invalid("no injection layers") }
        for (what, a, b) in [("width", hidden, widthMultiplier), ("output width", hidden, layers.count)] {
            let w = checkedProduct([a, b])
            guard let w, w <= IRMConfig.maxWidth else {
                throw IRMError.invalid(
                    "\(what) \(a) × \(b) = \(w.map(String.init) ?? "more than Int holds") is above the supported \(IRMConfig.maxWidth)"
                )
            }
        }
        var seen = Set<Int>()
        for l in layers {
            guard l >= 0 else { throw IRMError.invalid("injection layer \(l) is negative") }
            guard seen.insert(l).inserted else { throw IRMError.invalid("injection layer \(l) is listed twice") }
        }
        guard tapLayer >= 0 else { throw IRMError.invalid("tap layer \(tapLayer) is negative") }
        guard l1.isFinite, l1 >= 0 else { throw IRMError.invalid("L1 weight \(l1) must be a finite number >= 0") }
        guard checkedParameterCount != nil else {
            throw IRMError.invalid(
                "hidden \(hidden) × width \(widthMultiplier) × depth \(depth) × \(layers.count) layers: the parameter count overflows"
            )
        }
    }

    /// `checkShape`, then the checks against the model the IRM is injected into: its layer count and, when
    /// given, its hidden size.
    public func validate(nLayers: Int, hidden modelHidden: Int? = nil) throws {
        try checkShape()
        if let h = modelHidden, h != hidden {
            throw IRMError.invalid("the IRM reads a hidden size of \(hidden) but the model's is \(h)")
        }
        guard tapLayer < nLayers else { throw IRMError.invalid("tap layer \(tapLayer) is outside 0...\(nLayers - 1)") }
        for l in layers where l >= nLayers {
            throw IRMError.invalid("injection layer \(l) is outside the model's layers 0...\(nLayers - 1)")
        }
        let lowest = layers.min() ?? tapLayer
        guard lowest >= tapLayer else {
            throw IRMError.invalid("injection layer \(lowest) comes before the tap layer \(tapLayer)")
        }
    }
}

extension IRMConfig {
    enum CodingKeys: String, CodingKey {
        case hidden, widthMultiplier, depth, layers, tapLayer, l1, initialization, kind
    }

    /// `kind` is written only when it is not `network`, so a network IRM's config (and every hash and file made
    /// from it) is byte for byte what it was before the constant kind existed; every other key is required.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hidden = try c.decode(Int.self, forKey: .hidden)
        widthMultiplier = try c.decode(Int.self, forKey: .widthMultiplier)
        depth = try c.decode(Int.self, forKey: .depth)
        layers = try c.decode([Int].self, forKey: .layers)
        tapLayer = try c.decode(Int.self, forKey: .tapLayer)
        l1 = try c.decode(Float.self, forKey: .l1)
        initialization = try c.decode(IRMInit.self, forKey: .initialization)
        kind = try c.decodeIfPresent(IRMKind.self, forKey: .kind) ?? .network
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hidden, forKey: .hidden)
        try c.encode(widthMultiplier, forKey: .widthMultiplier)
        try c.encode(depth, forKey: .depth)
        try c.encode(layers, forKey: .layers)
        try c.encode(tapLayer, forKey: .tapLayer)
        try c.encode(l1, forKey: .l1)
        try c.encode(initialization, forKey: .initialization)
        if kind != .network { try c.encode(kind, forKey: .kind) }
    }
}

public enum IRMKind: String, Codable, Sendable, CaseIterable {
    /// The paper's feed-forward network (its output depends on the token's residual).
    case network
    /// One trainable vector per injection layer, added at every token: the input-independent part alone.
    case constant
}

public enum IRMInit: String, Codable, Sendable, CaseIterable {
    /// PyTorch's nn.Linear default (the reference): W, b ~ U(−1/√in, 1/√in).
    case pytorch
    /// As pytorch, but the last layer starts at zero, so training starts from the unchanged model.
    case zeroOutput = "zero-output"
}

public enum IRMError: Error, CustomStringConvertible {
    case invalid(String)
    case badFile(String, String)
    public var description: String {
        switch self {
        case .invalid(let m): singleLine(m)
        case .badFile(let f, let m): singleLine("\(f): \(m)")
        }
    }
}
