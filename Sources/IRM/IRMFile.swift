// Saving and loading IRM weights as safetensors, named as in the reference's `basic_forward`
// nn.Sequential (Linear at even indices, ReLU between): basic_forward.0.weight, basic_forward.0.bias,
// basic_forward.2.weight, … The IRM config travels in the header's __metadata__ as JSON.
import Foundation
import Numerics
import ModelIO

extension IRMNetwork {
    public static func tensorName(_ k: Int, _ kind: String) -> String { "basic_forward.\(2 * k).\(kind)" }

    public func save(path: String, extraMetadata: [String: String] = [:]) throws {
        var tensors: [(name: String, shape: [Int], values: [Float])] = []
        for (k, s) in config.linearShapes.enumerated() {
            tensors.append((IRMNetwork.tensorName(k, "weight"), [s.out, s.in], Array(UnsafeBufferPointer(start: weight(k), count: s.out * s.in))))
            tensors.append((IRMNetwork.tensorName(k, "bias"), [s.out], Array(UnsafeBufferPointer(start: bias(k), count: s.out))))
        }
        var meta = extraMetadata
        meta["irm_config"] = String(decoding: try sortedJSONEncoder().encode(config), as: UTF8.self)
        meta["output_layout"] = "out[token, i*L + j] = hidden index i of injection layer slot j (reference .view(B, T, h, L))"
        try writeSafetensors(path: path, floatTensors: tensors, metadata: meta)
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
        for (k, s) in config!.linearShapes.enumerated() {
            for (kind, shape, dst) in [("weight", [s.out, s.in], net.weight(k)), ("bias", [s.out], net.bias(k))] {
                let name = tensorName(k, kind)
                guard let t = f.tensors[name] else { throw IRMError.badFile(path, "missing tensor '\(name)'") }
                guard t.shape == shape else {
                    throw IRMError.badFile(path, "tensor '\(name)' has shape \(t.shape), the IRM config needs \(shape)")
                }
                let values = try dequantize(t)
                dst.update(from: values.ptr, count: values.count)
            }
        }
        for i in 0..<net.params.count where !net.params[i].isFinite {
            throw IRMError.badFile(path, "weights contain NaN or infinity")
        }
        return net
    }
}

/// JSON with sorted keys: files written from the same state are byte-identical (Swift's dictionary
/// order changes from process to process).
public func sortedJSONEncoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return e
}
