// Saving and loading IRM weights as safetensors, named as in the reference's `basic_forward`
// nn.Sequential (Linear at even indices, ReLU between): basic_forward.0.weight, basic_forward.0.bias,
// basic_forward.2.weight, … The IRM config travels in the header's __metadata__ as JSON.
import Foundation
import Numerics
import ModelIO

extension IRMNetwork {
    public static func tensorName(_ k: Int, _ kind: String) -> String { "basic_forward.\(2 * k).\(kind)" }

    /// Writes the weights straight from the parameter buffer (no copy: a checkpoint of a large IRM needs no
    /// memory beyond the IRM itself).
    public func save(path: String, extraMetadata: [String: String] = [:]) throws {
        var tensors: [(name: String, type: TensorType, shape: [Int], data: UnsafeRawBufferPointer)] = []
        for (k, s) in config.linearShapes.enumerated() {
            tensors.append((IRMNetwork.tensorName(k, "weight"), .f32, [s.out, s.in], UnsafeRawBufferPointer(start: weight(k), count: 4 * s.out * s.in)))
            tensors.append((IRMNetwork.tensorName(k, "bias"), .f32, [s.out], UnsafeRawBufferPointer(start: bias(k), count: 4 * s.out)))
        }
        var meta = extraMetadata
        meta["irm_config"] = String(decoding: try sortedJSONEncoder().encode(config), as: UTF8.self)
        meta["output_layout"] = "out[token, i*L + j] = hidden index i of injection layer slot j (reference .view(B, T, h, L))"
        try withExtendedLifetime(params) { try writeSafetensors(path: path, rawTensors: tensors, metadata: meta) }
    }

    /// Loads weights saved by `save` (or by the reference with a matching config).
    public static func load(path: String, config expected: IRMConfig? = nil) throws -> IRMNetwork {
        let f = try SafetensorsFile(path: path)
        var config = expected
        if config == nil {
            guard let js = f.metadata["irm_config"], let c = try? JSONDecoder().decode(IRMConfig.self, from: Data(js.utf8)) else {
                throw IRMError.badFile(path, "no IRM configuration in the file's metadata")
            }
            config = c
        }
        let net = IRMNetwork(config: config!, seed: 0)
        try net.loadWeights(f)
        return net
    }

    /// Reads this network's weights from `f` in place (names and shapes checked, NaN and infinity refused).
    public func loadWeights(_ f: SafetensorsFile) throws {
        for (k, s) in config.linearShapes.enumerated() {
            for (kind, shape, dst) in [("weight", [s.out, s.in], weight(k)), ("bias", [s.out], bias(k))] {
                let name = IRMNetwork.tensorName(k, kind)
                guard let t = f.tensors[name] else { throw IRMError.badFile(f.path, "missing tensor '\(name)'") }
                guard t.shape == shape else {
                    throw IRMError.badFile(f.path, "tensor '\(name)' has shape \(t.shape), the IRM config needs \(shape)")
                }
                try f.readFloats(t, into: dst)
            }
        }
        for i in 0..<params.count where !params[i].isFinite {
            throw IRMError.badFile(f.path, "weights contain NaN or infinity")
        }
    }
}

/// JSON with sorted keys: files written from the same state are byte-identical (Swift's dictionary
/// order changes from process to process).
public func sortedJSONEncoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return e
}
