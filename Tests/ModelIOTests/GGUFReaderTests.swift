import XCTest
import Foundation
@testable import ModelIO

final class GGUFReaderTests: XCTestCase {
    func testSmolLM2Metadata() throws {
        let g = try GGUFFile(path: smolPath)
        XCTAssertEqual(g.version, 3)
        XCTAssertEqual(g.metadata["general.architecture"]?.string, "llama")
        XCTAssertEqual(g.metadata["llama.embedding_length"]?.int, 576)
        XCTAssertEqual(g.metadata["llama.block_count"]?.int, 30)
        XCTAssertEqual(g.metadata["llama.attention.head_count"]?.int, 9)
        XCTAssertEqual(g.metadata["llama.attention.head_count_kv"]?.int, 3)
        XCTAssertEqual(g.metadata["llama.rope.freq_base"]?.double, 100000)
        XCTAssertEqual(g.metadata["tokenizer.ggml.model"]?.string, "gpt2")
        XCTAssertEqual(g.metadata["tokenizer.ggml.tokens"]?.array?.count, 49152)
        // 30 layers × 9 tensors + token_embd + output_norm; no separate output (tied).
        XCTAssertEqual(g.tensors.count, 272)
        XCTAssertNil(g.tensors["output.weight"])
        let q = try g.tensor("blk.0.attn_q.weight")
        XCTAssertEqual(q.type, .q4_1)
        XCTAssertEqual(q.shape, [576, 576])
        let k = try g.tensor("blk.0.attn_k.weight")
        XCTAssertEqual(k.shape, [192, 576])
        let e = try g.tensor("token_embd.weight")
        XCTAssertEqual(e.type, .q8_0)
        XCTAssertEqual(e.shape, [49152, 576])
        XCTAssertEqual(e.byteCount, 49152 * 576 / 32 * 34)
        XCTAssertEqual(g.tensors.values.filter { $0.type == .q4_1 }.count, 210)
    }

    func testTruncatedGGUFNamesFileAndProblem() throws {
        let src = try Data(contentsOf: URL(fileURLWithPath: smolPath))
        let tmp = NSTemporaryDirectory() + "truncated-\(getpid()).gguf"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        // Cut inside the tensor data: the header parses, the last tensors run past the end.
        try src.prefix(src.count - 1_000_000).write(to: URL(fileURLWithPath: tmp))
        XCTAssertThrowsError(try GGUFFile(path: tmp)) { err in
            let msg = "\(err)"
            XCTAssertTrue(msg.hasPrefix(tmp + ": "), msg)
            XCTAssertTrue(msg.contains("truncated"), msg)
        }
        // Cut inside the metadata.
        try src.prefix(500_000).write(to: URL(fileURLWithPath: tmp))
        XCTAssertThrowsError(try GGUFFile(path: tmp)) { err in
            XCTAssertTrue("\(err)".contains("unexpected end of file"), "\(err)")
        }
    }

    func testMissingAndNonGGUFFiles() throws {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf")) { err in
            XCTAssertEqual("\(err)", "/nonexistent/model.gguf: no such file")
        }
        let tmp = NSTemporaryDirectory() + "notgguf-\(getpid()).gguf"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try Data(repeating: 65, count: 100).write(to: URL(fileURLWithPath: tmp))
        XCTAssertThrowsError(try GGUFFile(path: tmp)) { err in
            XCTAssertEqual("\(err)", "\(tmp): not a GGUF file (bad magic)")
        }
    }

    func testUnknownTensorType() throws {
        // A minimal hand-built GGUF v3 with one tensor of type 99.
        var d = Data("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        u32(3); u64(1); u64(0)
        u64(1); d.append(contentsOf: Array("w".utf8)); u32(1); u64(32); u32(99); u64(0)
        d.append(Data(repeating: 0, count: 64))
        let tmp = NSTemporaryDirectory() + "badtype-\(getpid()).gguf"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try d.write(to: URL(fileURLWithPath: tmp))
        XCTAssertThrowsError(try GGUFFile(path: tmp)) { err in
            XCTAssertEqual("\(err)", "\(tmp): tensor 'w' has unknown tensor type 99")
        }
    }
}

final class SHA256Tests: XCTestCase {
    func testKnownVectorsAndModelFile() throws {
        func hex(_ s: String) -> String {
            var h = SHA256(); h.update(Array(s.utf8)); return h.finalize().map { String(format: "%02x", $0) }.joined()
        }
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            hex(String(repeating: "a", count: 1000)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        )
        // Fed in odd-sized pieces it gives the same digest.
        var h = SHA256()
        let msg = Array(String(repeating: "The quick brown fox. ", count: 50).utf8)
        var i = 0
        while i < msg.count { let n = min(37, msg.count - i); h.update(Array(msg[i..<i + n])); i += n }
        var whole = SHA256(); whole.update(msg)
        XCTAssertEqual(h.finalize(), whole.finalize())
        XCTAssertEqual(
            try sha256Hex(ofFile: smolPath), "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53")
    }
}
