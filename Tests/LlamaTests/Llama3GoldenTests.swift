import XCTest
@testable import Llama
import ModelIO
import Numerics

/// Llama 3.1-style models (RoPE scaling `llama3`, GQA, tied and untied heads) against Hugging Face `transformers` 5:
/// tiny random models and their logits at all 160 positions (the "original" context is 64 or 48), made by
/// `make fixtures-llama3` (scripts/make_llama3_fixtures.py), read here from config.json in both spellings and
/// from a GGUF with `rope_freqs` written by the `gguf` package.
final class Llama3GoldenTests: XCTestCase {
    let fixtures = packageRoot + "/Tests/Fixtures/llama3"
    let names = ["untied", "tied"]

    struct Fixture {
        let folder: String, tokens: [Int32], logits: [Float], vocab: Int, moved: Float
    }

    func fixture(_ name: String) throws -> Fixture {
        let f = fixtures + "/" + name
        let meta = try json(f + "/meta.json") as! [String: Any]
        let tokens = (try json(f + "/tokens.json") as! [Int]).map(Int32.init)
        let logits = try readF32(f + "/logits.f32")
        let vocab = meta["vocab"] as! Int
        XCTAssertEqual(tokens.count, meta["T"] as! Int)
        XCTAssertEqual(logits.count, tokens.count * vocab)
        XCTAssertGreaterThan(tokens.count, meta["original_context"] as! Int)  // both sides of the original context
        return Fixture(
            folder: f, tokens: tokens, logits: logits, vocab: vocab,
            moved: Float((meta["moved_without_scaling"] as! NSNumber).doubleValue))
    }

    /// A Hugging Face folder with `config` as its config.json and the fixture's weights.
    func hfFolder(_ fx: Fixture, config: Data) throws -> String {
        let dir = try tempDir()
        try config.write(to: URL(fileURLWithPath: dir + "/config.json"))
        try FileManager.default.createSymbolicLink(
            atPath: dir + "/model.safetensors", withDestinationPath: fx.folder + "/model.safetensors")
        return dir
    }

    func allLogits(_ model: LlamaModel, _ tokens: [Int32]) throws -> [Float] {
        try model.forward(tokens, state: model.makeState(capacity: tokens.count), allLogits: true)
    }

    func testLogitsMatchTransformersFromEveryFile() throws {
        for name in names {
            let fx = try fixture(name)
            let v4 = try hfFolder(fx, config: Data(contentsOf: URL(fileURLWithPath: fx.folder + "/config_v4.json")))
            for (label, path) in [
                ("config.json (transformers 5)", fx.folder), ("config.json (rope_scaling)", v4),
                ("GGUF with rope_freqs", fx.folder + "/model.gguf")
            ] {
                let model = try LlamaModel.load(path: path, storage: .f32)
                guard case .some = model.config.ropeScaling else {
                    return XCTFail("\(name) \(label): no RoPE scaling read")
                }
                let d = maxAbsDiff(try allLogits(model, fx.tokens), fx.logits)
                print("llama3 \(name) from \(label): max |Δlogit| over \(fx.tokens.count) positions = \(d)")
                XCTAssertLessThan(d, 1e-4, "\(name) from \(label)")
            }
        }
    }

    /// Both spellings give one config; the GGUF's divisors give the same frequencies as the llama3 rule.
    func testSpellingsAgree() throws {
        for name in names {
            let fx = try fixture(name)
            let v5 = try LlamaConfig(hfConfigAt: fx.folder + "/config.json")
            let v4 = try LlamaConfig(hfConfigAt: fx.folder + "/config_v4.json")
            XCTAssertEqual(v5, v4, name)
            XCTAssertEqual(v5.ropeTheta, 500000, name)
            guard case .llama3(let factor, 1, 4, let L) = v5.ropeScaling else {
                return XCTFail("\(name): \(String(describing: v5.ropeScaling))")
            }
            XCTAssertEqual(factor, name == "untied" ? 8 : 32)
            XCTAssertEqual(L, name == "untied" ? 64 : 48)
            let g = try LlamaConfig(gguf: GGUFFile(path: fx.folder + "/model.gguf"))
            guard case .divisors(let d) = g.ropeScaling else { return XCTFail("\(name): GGUF without rope_freqs") }
            XCTAssertEqual(d.count, v5.headDim / 2)
            let a = ropeFrequencies(headDim: v5.headDim, theta: v5.ropeTheta, scaling: v5.ropeScaling)
            let b = ropeFrequencies(headDim: g.headDim, theta: g.ropeTheta, scaling: g.ropeScaling)
            for i in a.indices { XCTAssertEqual(a[i], b[i], accuracy: a[i] * 1e-6, "\(name) pair \(i)") }
            // Every regime is present: kept, divided by the factor, and blended.
            let plain = ropeFrequencies(headDim: v5.headDim, theta: v5.ropeTheta, scaling: nil)
            let ratios = zip(plain, a).map { $0 / $1 }
            XCTAssertTrue(ratios.contains { abs($0 - 1) < 1e-12 }, "\(name): \(ratios)")
            XCTAssertTrue(ratios.contains { abs($0 - factor) < 1e-9 }, "\(name): \(ratios)")
            XCTAssertTrue(ratios.contains { $0 > 1.01 && $0 < factor - 0.01 }, "\(name): \(ratios)")
        }
    }

    /// The test can fail: the same weights with the scaling dropped (plain RoPE at θ 500000) are far from the goldens.
    func testDroppingTheScalingMovesTheLogits() throws {
        let fx = try fixture("untied")
        var cfg =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fx.folder + "/config.json")))
            as! [String: Any]
        cfg["rope_parameters"] = ["rope_type": "default", "rope_theta": 500000.0]
        let model = try LlamaModel.load(
            path: try hfFolder(fx, config: JSONSerialization.data(withJSONObject: cfg)), storage: .f32)
        XCTAssertNil(model.config.ropeScaling)
        XCTAssertEqual(model.config.ropeTheta, 500000)
        let d = maxAbsDiff(try allLogits(model, fx.tokens), fx.logits)
        XCTAssertGreaterThan(d, 0.5 * fx.moved)
    }

    /// The training forward uses the scaled frequencies too: its loss at late positions equals the goldens'.
    func testTrainingForwardMatchesTheGoldens() throws {
        let fx = try fixture("tied")
        let model = try LlamaModel.load(path: fx.folder, storage: .f32)
        let T = fx.tokens.count, V = fx.vocab
        let a = TrainingArena(config: model.config, B: 1, T: T)
        try model.trainingForward(fx.tokens, arena: a)
        for t in [5, 47, 100, T - 1] {
            var targets = [Int32](repeating: -1, count: T)
            targets[t] = Int32(t % V)
            let row = fx.logits[t * V..<(t + 1) * V]
            let mx = row.max()!
            let lse = log(row.reduce(0.0) { $0 + exp(Double($1 - mx)) }) + Double(mx)
            XCTAssertEqual(
                model.trainingLoss(targets: targets, arena: a).mean, lse - Double(row[t * V + t % V]),
                accuracy: 1e-4, "position \(t)")
        }
    }

    /// Written back out (GGUF with rope_freqs, config.json with rope_scaling), the model computes the same logits.
    func testExportRoundTrip() throws {
        let fx = try fixture("untied")
        let model = try LlamaModel.load(path: fx.folder, storage: .f32)
        let dir = try tempDir()
        try model.writeGGUF(path: dir + "/m.gguf")
        try model.writeHuggingFace(folder: dir + "/hf")
        for path in [dir + "/m.gguf", dir + "/hf"] {
            let back = try LlamaModel.load(path: path, storage: .f32)
            XCTAssertLessThan(maxAbsDiff(try allLogits(back, fx.tokens), fx.logits), 1e-4, path)
        }
        // Divisors from a GGUF have no config.json spelling: refused, not dropped.
        let g = try LlamaModel.load(path: dir + "/m.gguf", storage: .f32)
        XCTAssertThrowsError(try g.writeHuggingFace(folder: dir + "/hf2")) {
            XCTAssert("\($0)".contains("rope_freqs"), "\($0)")
        }
    }
}

/// config.json and GGUF settings that change the computation: understood, or refused in one line naming them.
final class ModelSettingsAuditTests: XCTestCase {
    let base: [String: Any] = [
        "model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 256
    ]

    func config(_ extra: [String: Any]) throws -> LlamaConfig {
        try LlamaConfig(
            hfConfigJSON: JSONSerialization.data(withJSONObject: base.merging(extra) { $1 }), file: "c.json")
    }

    func refused(_ extra: [String: Any], _ words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try config(extra), file: file, line: line) { e in
            let s = "\(e)"
            XCTAssertFalse(s.contains("\n"), s, file: file, line: line)
            XCTAssert(s.hasPrefix("c.json: "), s, file: file, line: line)
            for w in words { XCTAssert(s.contains(w), "'\(s)' lacks '\(w)'", file: file, line: line) }
        }
    }

    /// The silent bug this replaces: transformers 5 keeps θ inside rope_parameters, and irm used θ 10000.
    func testThetaInsideRopeParameters() throws {
        let c = try config(["rope_parameters": ["rope_type": "default", "rope_theta": 500000.0]])
        XCTAssertEqual(c.ropeTheta, 500000)
        XCTAssertNil(c.ropeScaling)
        XCTAssertEqual(try config(["rope_theta": 250000.0, "rope_scaling": NSNull()]).ropeTheta, 250000)
        XCTAssertEqual(try config([:]).ropeTheta, 10000)  // transformers' LlamaConfig default
        XCTAssertEqual(
            try config(["rope_scaling": ["rope_type": "linear", "factor": 4.0]]).ropeScaling, .linear(factor: 4))
        XCTAssertEqual(try config(["rope_scaling": ["type": "linear", "factor": 2.0]]).ropeScaling, .linear(factor: 2))
        XCTAssertEqual(try config(["sliding_window": 32, "max_position_embeddings": 4096]).maxSeqLen, 32)
        XCTAssertEqual(try config(["sliding_window": NSNull(), "max_position_embeddings": 4096]).maxSeqLen, 4096)
    }

    func testUnsupportedSettingsRefused() {
        refused(["rope_scaling": ["rope_type": "yarn", "factor": 4.0]], ["rope_type 'yarn'"])
        refused(["rope_scaling": ["type": "dynamic", "factor": 2.0]], ["rope_type 'dynamic'"])
        refused(["rope_parameters": ["rope_type": "longrope", "rope_theta": 1e4]], ["rope_type 'longrope'"])
        refused(
            [
                "rope_parameters": [
                    "full_attention": ["rope_type": "default"], "sliding_attention": ["rope_type": "default"]
                ]
            ],
            ["rope_parameters", "per attention type"])
        refused(["rope_theta": 1e4, "rope_parameters": ["rope_type": "default", "rope_theta": 5e5]], ["disagree"])
        refused(
            ["rope_scaling": ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0]],
            ["original_max_position_embeddings"])
        refused(
            [
                "rope_scaling": [
                    "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0,
                    "original_max_position_embeddings": 8192
                ]
            ], ["low_freq_factor"])
        refused(
            ["rope_parameters": ["rope_type": "default", "rope_theta": 1e4, "partial_rotary_factor": 0.5]],
            ["partial_rotary_factor"])
        refused(["hidden_act": "gelu"], ["hidden_act 'gelu'"])
        refused(["attention_bias": true], ["attention_bias"])
        refused(["mlp_bias": true], ["mlp_bias"])
        refused(["logits_scaling": 8.0], ["logits_scaling"])
        refused(["rope_interleaved": true], ["rope_interleaved"])
    }

    func testGGUFScalingKeys() throws {
        let dir = try tempDir()
        let cfg = LlamaConfig(dim: 16, hiddenDim: 24, nLayers: 1, nHeads: 2, nKVHeads: 1, vocabSize: 11)
        let model = LlamaModel.random(cfg, seed: 1)
        var files = 0
        func write(_ meta: [(String, GGUFValue)]) throws -> String {
            files += 1
            let p = dir + "/m\(files).gguf"
            try model.writeGGUF(path: p, extraMetadata: meta)
            return p
        }
        let linear = try LlamaConfig(
            gguf: GGUFFile(
                path: write([
                    ("llama.rope.scaling.type", .string("linear")),
                    ("llama.rope.scaling.factor", .float32(4))
                ])))
        XCTAssertEqual(linear.ropeScaling, .linear(factor: 4))
        for (meta, word) in [
            ([("llama.rope.scaling.type", GGUFValue.string("yarn"))], "'yarn'"),
            ([("llama.expert_count", .uint32(8)), ("llama.expert_used_count", .uint32(2))], "expert_count"),
            ([("llama.attention.sliding_window", .uint32(4))], "sliding_window"),
            ([("llama.attention.key_length", .uint32(8)), ("llama.rope.dimension_count", .uint32(4))], "partial rotary")
        ] {
            XCTAssertThrowsError(try LlamaConfig(gguf: GGUFFile(path: write(meta)))) { e in
                XCTAssert("\(e)".contains(word), "\(e)")
                XCTAssertFalse("\(e)".contains("\n"))
            }
        }
    }
}
