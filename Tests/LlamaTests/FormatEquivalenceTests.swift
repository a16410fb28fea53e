import XCTest
import Foundation
@testable import Llama
import Numerics
import ModelIO

/// One tiny random Llama written as GGUF and as a Hugging Face folder (q/k permuted for rotate_half)
/// must load back to the same logits: this checks both readers, both writers and the un-permutation.
final class FormatEquivalenceTests: XCTestCase {
    func testGGUFAndHuggingFaceFolderGiveTheSameLogits() throws {
        let cfg = LlamaConfig(
            dim: 64, hiddenDim: 96, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 101,
            normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 64, tiedEmbeddings: false)
        let model = LlamaModel.random(cfg, seed: 11)
        let dir = NSTemporaryDirectory() + "irm-fmt-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try model.writeGGUF(path: dir + "/m.gguf")
        try model.writeHuggingFace(folder: dir + "/hf")

        let g = try LlamaModel.load(path: dir + "/m.gguf", storage: .f32)
        let h = try LlamaModel.load(path: dir + "/hf", storage: .f32)
        XCTAssertEqual(g.config, cfg)
        XCTAssertEqual(h.config, cfg)
        XCTAssertEqual(h.format, .huggingFace)
        let tokens: [Int32] = [3, 17, 99, 42, 0, 58, 7, 100]
        let ref = try model.forward(tokens, state: model.makeState(capacity: 16), allLogits: true)
        let lg = try g.forward(tokens, state: g.makeState(capacity: 16), allLogits: true)
        let lh = try h.forward(tokens, state: h.makeState(capacity: 16), allLogits: true)
        XCTAssertEqual(lg, ref)  // fp32 written and read back exactly
        XCTAssertEqual(lh, ref)

        // Reading the HF folder *without* un-permuting would differ: the permutation matters.
        let raw = try loadSafetensorsFolderForTest(dir + "/hf")
        XCTAssertNotEqual(raw, model.weights.layers[0].wq.value(1, 0))
    }

    private func loadSafetensorsFolderForTest(_ dir: String) throws -> Float {
        let ts = try loadSafetensorsFolder(dir)
        let q = ts["model.layers.0.self_attn.q_proj.weight"]!
        // HF row 1 of head 0 is Meta row 2 (i = 1, j = 0).
        return q.data.load(fromByteOffset: 1 * 64 * 4, as: Float.self)
    }
}
