import XCTest
@testable import Training
import Llama
import IRM
import TestSupport

final class MemoryPlanTests: XCTestCase {
    func bytes(_ p: MemoryPlan, _ prefix: String) -> Int { p.items.first { $0.name.hasPrefix(prefix) }!.bytes }

    /// Llama-2-7b with the reference IRM (width 3·4096, all 32 layers): 2.12 B IRM parameters, whose
    /// weights, gradients and Adam state alone take 34 GB: the plan must refuse on a 24 GiB machine.
    func testLlama2ReferencePlanDoesNotFit() {
        let c = LlamaConfig.llama2_7b
        let weights = c.parameterCount * 2  // fp16
        XCTAssertEqual(Double(weights) / 1e9, 13.48, accuracy: 0.01)
        let irm = IRMConfig(hidden: 4096, layers: Array(0..<32))
        let p = MemoryPlan.make(
            model: c, weightBytes: weights, irm: irm, B: 8, T: 128, recompute: false,
            available: 24 << 30)
        let P = irm.parameterCount
        XCTAssertEqual(bytes(p, "IRM parameters"), 4 * P)
        XCTAssertEqual(bytes(p, "Adam state"), 8 * P)
        XCTAssertEqual(Double(16 * P) / 1e9, 33.9, accuracy: 0.1)
        // Model activations without recompute, per layer: 2·N·dim + 2N + N·q + 2·N·kv + B·H·T² + 2·N·hidden floats.
        let N = 1024
        let perLayer = 2 * N * 4096 + 2 * N + N * 4096 + 2 * N * 4096 + 8 * 32 * 128 * 128 + 2 * N * 11008
        XCTAssertGreaterThan(bytes(p, "model activations"), 32 * perLayer * 4)
        XCTAssertFalse(p.fits)
        XCTAssertGreaterThan(Double(p.total) / 1e9, 50)
        let s = memorySuggestions(
            model: c, weightBytes: weights, irm: irm, B: 8, T: 128, recompute: false, available: 24 << 30)
        XCTAssertFalse(s.isEmpty)
        XCTAssertTrue(s.allSatisfy { $0.contains("--") })
        print(p.report() + "suggestions: " + s.joined(separator: "; "))
    }

    func testSmolLM2ReferencePlanFits() {
        let c = LlamaConfig.smolLM2_135M
        let irm = IRMConfig(hidden: 576, layers: Array(0..<30))
        XCTAssertEqual(irm.parameterCount, 576 * 1728 + 1728 + 3 * (1728 * 1728 + 1728) + 17280 * 1728 + 17280)
        let p = MemoryPlan.make(
            model: c, weightBytes: 269_000_000, irm: irm, B: 8, T: 128, recompute: false,
            available: 24 << 30)
        XCTAssertTrue(p.fits)
        // 1.98 GB, the LM head's chunk (682 rows of 49152 logits: 134 MB) since it lives in the arena, and the
        // IRM's output and its gradient regrouped by slot (IRMInjector: 2 × 1024 × 17280 floats, 142 MB).
        XCTAssertEqual(Double(p.total) / 1e9, 2.26, accuracy: 0.02)
        // Recomputing keeps one layer's activations instead of 30 (the LM head's chunk is the same in both).
        let r = MemoryPlan.make(
            model: c, weightBytes: 269_000_000, irm: irm, B: 8, T: 128, recompute: true, available: 24 << 30)
        let chunk = crossEntropyChunkRows(vocab: c.vocabSize, rows: 8 * 128)
        XCTAssertEqual(chunk, 682)
        let head = 4 * (chunk * c.vocabSize + 2 * chunk * c.dim)
        XCTAssertLessThan((bytes(r, "model activations") - head) * 5, bytes(p, "model activations") - head)
    }

    func testParseByteSize() {
        XCTAssertEqual(parseByteSize("6G"), 6_000_000_000)
        XCTAssertEqual(parseByteSize("800M"), 800_000_000)
        XCTAssertEqual(parseByteSize("1.5GB"), 1_500_000_000)
        XCTAssertEqual(parseByteSize("512k"), 512_000)
        XCTAssertEqual(parseByteSize("123456"), 123_456)
        for bad in ["", "G", "-1G", "0", "1X", "nanG", "1e30T"] { XCTAssertNil(parseByteSize(bad), bad) }
    }

    /// The plan's weight bytes come from the file headers alone and equal what loading takes: SmolLM2's Q4_1
    /// and Q8_0 blocks as they are with `--dtype auto`, 2 bytes per weight with `--dtype f16`.
    func testPlanCountsQuantizedBytes() throws {
        let auto = try LlamaModel.plan(path: smolPath, storage: .auto).weightBytes
        let f16 = try LlamaModel.plan(path: smolPath, storage: .f16).weightBytes
        XCTAssertEqual(auto, try LlamaModel.load(path: smolPath, storage: .auto).weights.byteCount)
        XCTAssertEqual(f16, try LlamaModel.load(path: smolPath, storage: .f16).weights.byteCount)
        XCTAssertEqual(Double(auto) / 1e6, 96.6, accuracy: 0.1)
        XCTAssertEqual(Double(f16) / 1e6, 269.1, accuracy: 0.1)
    }
}
