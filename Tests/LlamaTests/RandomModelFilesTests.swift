import XCTest
import Foundation
@testable import Llama
import ModelIO
import Numerics
import TestSupport

/// The random-weight files `make check-7b` writes, at a tiny shape: a sharded HF folder and GGUFs of one seed
/// hold one model (bit-equal logits in fp16), the shards cut as save_pretrained cuts them, checked also by
/// Python's stdlib, and the GGUF's tokenizer (from tokenizer.model) encodes as tokenizer.model does.
final class RandomModelFilesTests: XCTestCase {
    let config = LlamaConfig(
        dim: 256, hiddenDim: 512, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 32000,
        normEps: 1e-5, ropeTheta: 10000, maxSeqLen: 512)

    func testHuggingFaceShardsAndGGUFHoldOneModel() throws {
        let dir = try tempDir()
        // 17 MB per shard: the 16 MB embedding and lm_head force three shards, each closed before the tensor
        // that would pass the limit.
        let limit = 17_000_000
        let shards = try writeRandomHuggingFace(
            config, folder: dir + "/hf", seed: 7, maxShardBytes: limit,
            tokenizerModel: llama2TokenizerModel)
        XCTAssertEqual(shards.map(\.file), (1...3).map { String(format: "model-%05d-of-00003.safetensors", $0) })
        try writeRandomGGUF(
            config, path: dir + "/f16.gguf", seed: 7, scheme: .uniform(.f16),
            extraMetadata: try ggufTokenizerMetadata(sentencePieceModel: llama2TokenizerModel))
        try writeRandomGGUF(
            config, path: dir + "/q4km.gguf", seed: 7, scheme: .q4_K_M,
            extraMetadata: try ggufTokenizerMetadata(sentencePieceModel: llama2TokenizerModel))

        // An independent reader of the folder: every shard's header, offsets contiguous, sizes adding up, the
        // index naming each tensor's shard, and no shard over the limit unless it holds a single tensor.
        let py = """
            import json, struct, sys, os
            d, limit = sys.argv[1], int(sys.argv[2])
            idx = json.load(open(os.path.join(d, 'model.safetensors.index.json')))
            seen, total = {}, 0
            for f in sorted(set(idx['weight_map'].values())):
                b = open(os.path.join(d, f), 'rb').read()
                n = struct.unpack('<Q', b[:8])[0]
                h = json.loads(b[8:8 + n]); h.pop('__metadata__', None)
                spans = sorted(v['data_offsets'] for v in h.values())
                assert spans[0][0] == 0 and all(a[1] == c[0] for a, c in zip(spans, spans[1:])), f
                assert 8 + n + spans[-1][1] == len(b), f
                size = sum(e - s for s, e in spans)
                assert size <= limit or len(h) == 1, (f, size)
                for k, v in h.items():
                    assert v['dtype'] == 'F16' and idx['weight_map'][k] == f, k
                    seen[k] = f
                total += size
            assert set(seen) == set(idx['weight_map']) and total == idx['metadata']['total_size']
            cfg = json.load(open(os.path.join(d, 'config.json')))
            assert cfg['rope_scaling'] is None and cfg['torch_dtype'] == 'float16' and cfg['vocab_size'] == 32000
            print(len(seen), total)
            """
        let r = try runProcess("/usr/bin/env", ["python3", "-c", py, dir + "/hf", "\(limit)"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(
            r.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            "\(3 + 9 * config.nLayers) \(2 * (config.parameterCount))")

        let hf = try LoadedModel.load(path: dir + "/hf")
        let f16 = try LoadedModel.load(path: dir + "/f16.gguf")
        let q4 = try LoadedModel.load(path: dir + "/q4km.gguf")
        // use_more_bits(i, 2): layer 1 (i ≥ 7·2/8), not layer 0.
        XCTAssertEqual(q4.model.weights.layers.map(\.wv.type), [.q4_K, .q6_K])
        XCTAssertEqual(q4.model.weights.layers.map(\.wDown.type), [.q4_K, .q6_K])
        XCTAssertEqual(q4.model.weights.layers.map(\.wq.type), [.q4_K, .q4_K])
        XCTAssertEqual(q4.model.weights.output.type, .q6_K)

        let text = "Hello world, what makes you angry?"
        let ids = hf.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        XCTAssertEqual(f16.tokenizer.encode(text, addSpecial: true, parseSpecial: false), ids)
        XCTAssertEqual(ids.first, 1)
        func logits(_ m: LoadedModel) throws -> [Float] {
            try m.model.forward(ids, state: m.model.makeState(capacity: 64))
        }
        let a = try logits(hf), b = try logits(f16), c = try logits(q4)
        XCTAssert(
            a.map(\.bitPattern) == b.map(\.bitPattern),
            "HF fp16 shards and GGUF fp16 of one seed: max |Δ| "
                + "\(zip(a, b).map { abs($0 - $1) }.max()!)")
        var dot = 0.0, na = 0.0, nc = 0.0
        for i in a.indices { dot += Double(a[i] * c[i]); na += Double(a[i] * a[i]); nc += Double(c[i] * c[i]) }
        XCTAssertGreaterThan(dot / (na * nc).squareRoot(), 0.98, "Q4_K_M logits against fp16")
    }
}
