// Saving and loading IRM weights as safetensors, named as in the reference's `basic_forward`
// nn.Sequential (Linear at even indices, ReLU between): basic_forward.0.weight, basic_forward.0.bias,
// basic_forward.2.weight, … The IRM config travels in the header's __metadata__ as JSON.
import Foundation
import Numerics
import ModelIO

extension IRMNetwork {
    public static func tensorName(_ k: Int, _ kind: String) -> String { "basic_forward.\(2 * k).\(kind)" }
    /// The constant kind's one tensor, [h·L] in the output's layout (the reference has no such IRM).
    public static let constantTensorName = "constant"

    /// Every tensor of an IRM of `config`, in file order, with its shape and offset in the parameter buffer.
    static func tensorTable(_ config: IRMConfig) -> [(name: String, shape: [Int], offset: Int, count: Int)] {
        if config.kind == .constant { return [(constantTensorName, [config.outputDim], 0, config.outputDim)] }
        var t: [(String, [Int], Int, Int)] = [], n = 0
        for (k, s) in config.linearShapes.enumerated() {
            t.append((tensorName(k, "weight"), [s.out, s.in], n, s.out * s.in)); n += s.out * s.in
            t.append((tensorName(k, "bias"), [s.out], n, s.out)); n += s.out
        }
        return t
    }

    /// Writes the weights straight from the parameter buffer (no copy: a checkpoint of a large IRM needs no
    /// memory beyond the IRM itself).
    public func save(path: String, extraMetadata: [String: String] = [:]) throws {
        var tensors: [(name: String, type: TensorType, shape: [Int], data: UnsafeRawBufferPointer)] = []
        for t in IRMNetwork.tensorTable(config) {
            tensors.append(
                (t.name, .f32, t.shape, UnsafeRawBufferPointer(start: params.ptr + t.offset, count: 4 * t.count)))
        }
        var meta = extraMetadata
        meta["irm_config"] = String(decoding: try encodeJSON(config, .compact), as: UTF8.self)
        meta["output_layout"] =
            "out[token, i*L + j] = hidden index i of injection layer slot j (reference .view(B, T, h, L))"
        try withExtendedLifetime(params) { try writeSafetensors(path: path, rawTensors: tensors, metadata: meta) }
    }

    /// Loads weights saved by `save` (or by the reference with a matching config). The config (the file's
    /// `irm_config` unless `expected` is given) is checked alone, against `model` when given and against the
    /// memory `available`, and every tensor against the config, before anything is allocated.
    public static func load(
        path: String, config expected: IRMConfig? = nil,
        model: (hidden: Int, nLayers: Int)? = nil
    ) throws -> IRMNetwork {
        try load(file: SafetensorsFile(path: path), config: expected, model: model)
    }

    public static func load(
        file f: SafetensorsFile, config expected: IRMConfig? = nil,
        model: (hidden: Int, nLayers: Int)? = nil, available: Int = availableMemory()
    ) throws -> IRMNetwork {
        let path = f.path
        func bad(_ m: String) -> IRMError { .badFile(path, m) }
        let config: IRMConfig
        if let e = expected {
            config = e
        } else {
            guard let js = f.metadata["irm_config"] else {
                throw bad("no IRM configuration (irm_config) in the file's metadata")
            }
            do { config = try JSONDecoder().decode(IRMConfig.self, from: Data(js.utf8)) } catch {
                throw bad("irm_config is not a valid IRM configuration (\(oneLineDescription(error)))")
            }
        }
        do {
            if let m = model {
                try config.validate(nLayers: m.nLayers, hidden: m.hidden)
            } else {
                try config.checkShape()
            }
        } catch IRMError.invalid(let m) {
            throw bad("irm_config: \(m)")
        }
        // The weights, fp32 (checkShape has made sure the count fits in Int); a loaded IRM has no gradients.
        let count = config.checkedParameterCount ?? Int.max, bytes = checkedProduct([count, 4]) ?? Int.max
        guard bytes <= available else {
            throw bad(
                "irm_config describes an IRM of \(count) parameters, \(formatBytes(bytes)) for its weights; "
                    + "\(formatBytes(available)) of memory is available")
        }
        try checkTensors(f, config: config)
        let net = IRMNetwork(config: config, seed: 0, withGradients: false)
        try net.loadWeights(f)
        return net
    }

    /// `f` holds exactly the tensors of an IRM of `config`, with its shapes (their byte sizes the safetensors
    /// reader has checked against the shapes).
    static func checkTensors(_ f: SafetensorsFile, config: IRMConfig) throws {
        var names = Set<String>()
        let described = config.kind == .constant ? "a constant IRM" : "depth \(config.depth)"
        for want in tensorTable(config) {
            names.insert(want.name)
            guard let t = f.tensors[want.name] else {
                throw IRMError.badFile(f.path, "missing tensor '\(want.name)' (irm_config has \(described))")
            }
            guard t.shape == want.shape else {
                throw IRMError.badFile(
                    f.path, "tensor '\(want.name)' has shape \(t.shape), the IRM config needs \(want.shape)")
            }
        }
        let ours = { (n: String) in n.hasPrefix("basic_forward.") || n == constantTensorName }
        if let extra = f.tensors.keys.filter({ ours($0) && !names.contains($0) }).sorted().first {
            throw IRMError.badFile(
                f.path, "tensor '\(extra)' is not part of the IRM that irm_config describes (\(described))")
        }
    }

    /// Reads this network's weights from `f` in place (names and shapes checked, NaN and infinity refused).
    public func loadWeights(_ f: SafetensorsFile) throws {
        try IRMNetwork.checkTensors(f, config: config)
        for t in IRMNetwork.tensorTable(config) { try f.readFloats(f.tensor(t.name), into: params.ptr + t.offset) }
        for i in 0..<params.count where !params[i].isFinite {
            throw IRMError.badFile(f.path, "weights contain NaN or infinity")
        }
    }
}
