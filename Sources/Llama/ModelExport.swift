// Writing a model back out: GGUF (llama.cpp names, Meta RoPE layout) or a Hugging Face folder
// (config.json + model.safetensors, q/k permuted for rotate_half). Used to convert between formats and
// by the tests that check every reader against every writer. Weights are written as fp32.
import Foundation
import Numerics
import ModelIO

extension LlamaModel {
    /// Every tensor under the given naming, as fp32 values; q/k rows permuted to HF's layout when asked.
    func namedTensors(_ names: TensorNames, hfPermute: Bool) -> [(name: String, shape: [Int], values: [Float])] {
        let c = config, w = weights
        func mat(_ m: Weight) -> [Float] {
            var out = [Float](repeating: 0, count: m.rows * m.cols)
            out.withUnsafeMutableBufferPointer { b in
                for r in 0..<m.rows { m.copyRow(r, into: b.baseAddress! + r * m.cols) }
            }
            return out
        }
        var ts: [(String, [Int], [Float])] = [
            (names.embedding, [c.vocabSize, c.dim], mat(w.tokenEmbedding)),
            (names.outputNorm, [c.dim], w.outputNorm.array)
        ]
        if !c.tiedEmbeddings { ts.append((names.output, [c.vocabSize, c.dim], mat(w.output))) }
        for (i, L) in w.layers.enumerated() {
            let q = hfPermute ? permuteRotateHalf(L.wq, heads: c.nHeads) : L.wq
            let k = hfPermute ? permuteRotateHalf(L.wk, heads: c.nKVHeads) : L.wk
            ts += [
                (names.layer(i, .attnNorm), [c.dim], L.attnNorm.array),
                (names.layer(i, .q), [c.qDim, c.dim], mat(q)),
                (names.layer(i, .k), [c.kvDim, c.dim], mat(k)),
                (names.layer(i, .v), [c.kvDim, c.dim], mat(L.wv)),
                (names.layer(i, .o), [c.dim, c.qDim], mat(L.wo)),
                (names.layer(i, .ffnNorm), [c.dim], L.ffnNorm.array),
                (names.layer(i, .gate), [c.hiddenDim, c.dim], mat(L.wGate)),
                (names.layer(i, .up), [c.hiddenDim, c.dim], mat(L.wUp)),
                (names.layer(i, .down), [c.dim, c.hiddenDim], mat(L.wDown))
            ]
        }
        return ts
    }

    /// A GGUF file with llama.* metadata and fp32 tensors (no tokenizer unless `extraMetadata` carries one).
    public func writeGGUF(path: String, extraMetadata: [(String, GGUFValue)] = []) throws {
        let c = config
        let g = try GGUFWriter(path: path)
        for (k, v) in c.ggufMetadata + extraMetadata { try g.set(k, v) }
        for t in namedTensors(ggufNames, hfPermute: false) {
            try g.addTensor(name: t.name, floats: t.values, shape: t.shape)
        }
        if let d = c.ggufRopeDivisors { try g.addTensor(name: ggufRopeFreqsTensor, floats: d, shape: [d.count]) }
        try g.write()
    }

    /// A Hugging Face folder: config.json and model.safetensors (fp32).
    public func writeHuggingFace(folder: String) throws {
        let c = config
        let cfg = try c.huggingFaceConfig(extra: ["torch_dtype": "float32"], file: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let json = try encodeJSONObject(cfg)
        try writeFileAtomically(json, to: folder + "/config.json")
        try writeSafetensors(
            path: folder + "/model.safetensors", floatTensors: namedTensors(hfNames, hfPermute: true),
            metadata: ["format": "pt"])
    }
}
