import XCTest
import Foundation

/// Bad model files reach the user as one clear line naming the file and the problem, with a non-zero exit.
final class BadModelInputTests: XCTestCase {
    let smol = packageRoot + "/Models/SmolLM2-135M-Instruct.Q4_1.gguf"

    func testTruncatedGGUF() throws {
        let d = try tempDir("trunc")
        let path = d + "/cut.gguf"
        let data = try Data(contentsOf: URL(fileURLWithPath: smol))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        assertOneLineError(try runIRM(["info", "--model", path]), contains: [path, "truncated"])
    }

    func testSafetensorsOffsetsPastTheEnd() throws {
        let d = try tempDir("st")
        try
            #"{"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 10}"#
            .write(toFile: d + "/config.json", atomically: true, encoding: .utf8)
        var header = Array(#"{"model.embed_tokens.weight":{"dtype":"F32","shape":[10,8],"data_offsets":[0,320]}}"#.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes = [UInt8]()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes += $0 }
        bytes += header + [UInt8](repeating: 0, count: 100)  // 100 of the 320 bytes
        try Data(bytes).write(to: URL(fileURLWithPath: d + "/model.safetensors"))
        assertOneLineError(
            try runIRM(["info", "--model", d]), contains: ["model.safetensors", "model.embed_tokens.weight"])
    }

    func testConfigWithoutHiddenSize() throws {
        let d = try tempDir("cfg")
        try #"{"intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "vocab_size": 10}"#
            .write(toFile: d + "/config.json", atomically: true, encoding: .utf8)
        assertOneLineError(try runIRM(["info", "--model", d]), contains: [d + "/config.json", "hidden_size"])
    }

    func testUnknownTensorType() throws {
        var d = Data("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        u32(3); u64(1); u64(0)
        u64(17); d.append(contentsOf: Array("token_embd.weight".utf8)); u32(2); u64(32); u64(4); u32(77); u64(0)
        d.append(Data(repeating: 0, count: 1024))
        let path = try tempDir("type") + "/t.gguf"
        try d.write(to: URL(fileURLWithPath: path))
        assertOneLineError(
            try runIRM(["info", "--model", path]), contains: [path, "token_embd.weight", "unknown tensor type 77"])
    }

    func testMissingFile() throws {
        assertOneLineError(
            try runIRM(["info", "--model", "/no/such/model.gguf"]), contains: ["/no/such/model.gguf", "no such file"])
    }

    func testUsageErrors() throws {
        let r = try runIRM(["generate", "--bogus", "1"])
        assertOneLineError(r, contains: ["--bogus"])
        XCTAssertEqual(r.status, 2)
        assertOneLineError(
            try runIRM(["generate", "--prompt", "hi", "--max-tokens", "lots"]), contains: ["--max-tokens", "lots"])
        assertOneLineError(try runIRM(["frobnicate"]), contains: ["frobnicate"])
    }
}
