// The shape of an Injectable Realignment Model (Smith et al., arXiv 2407.03621, §3): a feed-forward net
//   Linear(h, w·h) → ReLU → [Linear(w·h, w·h) → ReLU] × (depth − 2) → Linear(w·h, h·L)
// reading the residual stream after the tap layer's attention block and adding one h-wide slice of its
// output to the residual after the attention block of each of its L injection layers.
import Foundation

public struct IRMConfig: Codable, Hashable, Sendable {
    public var hidden: Int                 // h, the model's residual width
    public var widthMultiplier: Int = 3    // w (reference: 3)
    public var depth: Int = 5              // Linear layers (reference: 5)
    public var layers: [Int]               // injection layers, ascending
    public var tapLayer: Int = 0           // reference: layer 0 (after its attention add)
    public var l1: Float = 0               // L1 penalty on the output (reference runs: 0 or on)
    public var initialization: IRMInit = .pytorch

    public init(hidden: Int, layers: [Int], widthMultiplier: Int = 3, depth: Int = 5, tapLayer: Int = 0,
                l1: Float = 0, initialization: IRMInit = .pytorch) {
        self.hidden = hidden; self.layers = layers; self.widthMultiplier = widthMultiplier; self.depth = depth
        self.tapLayer = tapLayer; self.l1 = l1; self.initialization = initialization
    }

    public var width: Int { hidden * widthMultiplier }
    /// h·L: the output holds every injection layer's slice, interleaved (see IRMNetwork.swift).
    public var outputDim: Int { hidden * layers.count }
    /// (out, in) of each Linear, first to last.
    public var linearShapes: [(out: Int, in: Int)] {
        let ins = [hidden] + Array(repeating: width, count: depth - 1)
        let outs = Array(repeating: width, count: depth - 1) + [outputDim]
        return zip(outs, ins).map { (out: $0, in: $1) }
    }
    public var parameterCount: Int { linearShapes.reduce(0) { $0 + $1.out * $1.in + $1.out } }

    public func validate(nLayers: Int) throws {
        guard depth >= 1 else { throw IRMError.invalid("depth must be at least 1") }
        guard widthMultiplier >= 1 else { throw IRMError.invalid("width multiplier must be at least 1") }
        guard !layers.isEmpty else { throw IRMError.invalid("no injection layers") }
        guard tapLayer >= 0, tapLayer < nLayers else { throw IRMError.invalid("tap layer \(tapLayer) is outside 0...\(nLayers - 1)") }
        for l in layers where l < 0 || l >= nLayers {
            throw IRMError.invalid("injection layer \(l) is outside the model's layers 0...\(nLayers - 1)")
        }
        guard layers.min()! >= tapLayer else {
            throw IRMError.invalid("injection layer \(layers.min()!) comes before the tap layer \(tapLayer)")
        }
    }
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
        case .invalid(let m): m
        case .badFile(let f, let m): "\(f): \(m)"
        }
    }
}
