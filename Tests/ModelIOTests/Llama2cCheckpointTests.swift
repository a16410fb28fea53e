// llama2.c checkpoint reader on stories260K (values computed independently with Python's struct module).
import Foundation
import XCTest
@testable import ModelIO
import Numerics

final class Llama2cCheckpointTests: XCTestCase {
    var storiesPath: String { sharedDir + "/models/stories260K/stories260K.bin" }

    func testStories260K() throws {
        let c = try Llama2cCheckpoint(path: storiesPath)
        XCTAssertEqual(
            [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKVHeads, c.vocabSize, c.seqLen],
            [64, 172, 5, 8, 4, 512, 512])
        XCTAssertTrue(c.sharedClassifier)
        XCTAssertEqual(c.kvDim, 32); XCTAssertEqual(c.headSize, 8)
        XCTAssertEqual(c.tensors.count, 2 + 9 * 5)  // token_embd, output_norm, 9 per layer; no output.weight
        XCTAssertNil(c.tensors["output.weight"])

        let e = try c.tensor("token_embd.weight")
        XCTAssertEqual(e.shape, [512, 64]); XCTAssertEqual(e.type, .f32); XCTAssertEqual(e.file, storiesPath)
        XCTAssertEqual(e.data, c.file.base + 28)
        let w = try makeWeight(e, storage: .f32)
        XCTAssertEqual(w.base, e.data)  // zero-copy
        // struct.unpack('<4f', b[28:44]) and the last float of the embedding
        XCTAssertEqual(
            (0..<4).map { w.value(0, $0) },
            [
                -0.29474878311157227, 0.5618956089019775,
                0.1754225343465805, 0.34057360887527466
            ])
        XCTAssertEqual(w.value(511, 63), -0.424032598733902)

        XCTAssertEqual(try c.tensor("blk.0.attn_norm.weight").shape, [64])
        XCTAssertEqual(
            Array(try dequantize(c.tensor("blk.0.attn_norm.weight")).array.prefix(3)),
            [0.9722429513931274, 0.6754933595657349, 0.8203195333480835])
        let k = try makeWeight(c.tensor("blk.2.attn_k.weight"), storage: .f32)
        XCTAssertEqual([k.rows, k.cols], [32, 64])
        XCTAssertEqual(k.value(3, 5), -0.27966585755348206)
        let up = try makeWeight(c.tensor("blk.4.ffn_up.weight"), storage: .f32)  // w3
        XCTAssertEqual([up.rows, up.cols], [172, 64])
        XCTAssertEqual(up.value(171, 63), 0.10603193938732147)
        let down = try makeWeight(c.tensor("blk.1.ffn_down.weight"), storage: .f32)  // w2
        XCTAssertEqual([down.rows, down.cols], [64, 172])
        XCTAssertEqual(down.value(10, 100), -0.0028175238985568285)
        XCTAssertEqual(
            try c.tensor("blk.3.ffn_norm.weight").data.load(fromByteOffset: 7 * 4, as: Float.self),
            0.9354807138442993)
        XCTAssertEqual(try c.tensor("output_norm.weight").data.load(as: Float.self), 2.4583089351654053)
        XCTAssertEqual(try c.tensor("blk.4.ffn_gate.weight").shape, [172, 64])
        XCTAssertEqual(try c.tensor("blk.4.attn_output.weight").shape, [64, 64])
    }

    func testUnsharedClassifier() throws {
        // A tiny synthetic checkpoint: dim 4, hidden 8, 1 layer, 2 heads / 1 KV head, vocab -3, seq 2.
        let dir = try tempDir()
        let header: [Int32] = [4, 8, 1, 2, 1, -3, 2]
        let floats = 3 * 4 + 4 + 16 + 2 * 2 * 4 + 16 + 4 + 3 * 32 + 4 + 2 * 2 * 1 + 3 * 4
        var bytes = header.withUnsafeBytes { [UInt8]($0) }
        bytes += (0..<floats).map { Float($0) }.withUnsafeBytes { [UInt8]($0) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/tiny.bin"))
        let c = try Llama2cCheckpoint(path: dir + "/tiny.bin")
        XCTAssertFalse(c.sharedClassifier); XCTAssertEqual(c.vocabSize, 3); XCTAssertEqual(c.kvDim, 2)
        let out = try c.tensor("output.weight")
        XCTAssertEqual(out.shape, [3, 4])
        XCTAssertEqual(try dequantize(out).array, (floats - 12..<floats).map { Float($0) })
        XCTAssertEqual(try dequantize(c.tensor("blk.0.attn_k.weight")).array, (32..<40).map { Float($0) })
    }

    func testTruncatedCopy() throws {
        let dir = try tempDir()
        let full = try Data(contentsOf: URL(fileURLWithPath: storiesPath))
        let path = dir + "/stories260K.bin"
        try full.prefix(full.count - 100).write(to: URL(fileURLWithPath: path))
        assertModelIOError(
            { _ = try Llama2cCheckpoint(path: path) }, file: "stories260K.bin",
            contains: ["size 1056440 bytes", "1056540 bytes expected", "truncated"])
        try full.prefix(20).write(to: URL(fileURLWithPath: path))
        assertModelIOError(
            { _ = try Llama2cCheckpoint(path: path) }, file: "stories260K.bin",
            contains: ["20 bytes", "28-byte header"])
        var bad = full; bad[12] = 3  // n_heads = 3 does not divide dim 64
        try bad.write(to: URL(fileURLWithPath: path))
        assertModelIOError(
            { _ = try Llama2cCheckpoint(path: path) }, file: "stories260K.bin",
            contains: ["inconsistent header"])
        var huge = full; huge[3] = 0x7f  // dim ≈ 2^31
        try huge.write(to: URL(fileURLWithPath: path))
        assertModelIOError(
            { _ = try Llama2cCheckpoint(path: path) }, file: "stories260K.bin",
            contains: ["implausible header"])
        assertModelIOError(
            { _ = try Llama2cCheckpoint(path: dir + "/missing.bin") }, file: "missing.bin",
            contains: ["no such file"])
    }
}
