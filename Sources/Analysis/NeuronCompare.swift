// Comparing two models' neuron maps (Davies, arXiv 2501.02688: over 75 % of Llama-3.1-8B's neurons keep
// their top-1 token between the base and instruct models): the share of neurons whose top-1 token agrees,
// per layer and overall. Both maps must come from models of the same shape and cover the same layers.

public struct NeuronAgreement: Sendable {
    public let layers: [Int]
    public let perLayer: [(agree: Int, total: Int)]
    public var agree: Int { perLayer.reduce(0) { $0 + $1.agree } }
    public var total: Int { perLayer.reduce(0) { $0 + $1.total } }
    public var share: Double { total == 0 ? 0 : Double(agree) / Double(total) }
    public func share(slot s: Int) -> Double {
        perLayer[s].total == 0 ? 0 : Double(perLayer[s].agree) / Double(perLayer[s].total)
    }
}

public struct NeuronCompareError: Error, CustomStringConvertible {
    public let description: String
}

/// Agreement of top-1 tokens between two maps of the same kind, shape and layers.
public func compareTop1(_ a: NeuronMap, _ b: NeuronMap) throws -> NeuronAgreement {
    guard a.hiddenDim == b.hiddenDim, a.dim == b.dim, a.vocab == b.vocab else {
        throw NeuronCompareError(
            description:
                "the two models differ in shape (dim \(a.dim)/\(b.dim), MLP \(a.hiddenDim)/\(b.hiddenDim), vocab \(a.vocab)/\(b.vocab))"
        )
    }
    guard a.layers == b.layers else { throw NeuronCompareError(description: "the two maps cover different layers") }
    guard a.kind == b.kind else {
        throw NeuronCompareError(
            description: "the two maps decode different kinds (\(a.kind.rawValue) vs \(b.kind.rawValue))")
    }
    let H = a.hiddenDim
    var per: [(Int, Int)] = []
    for s in 0..<a.layers.count {
        var n = 0
        for i in 0..<H where a.decoded.topIds[(s * H + i) * a.k] == b.decoded.topIds[(s * H + i) * b.k] { n += 1 }
        per.append((n, H))
    }
    return NeuronAgreement(layers: a.layers, perLayer: per)
}
