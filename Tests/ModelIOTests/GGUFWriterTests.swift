// GGUF writer: bytes checked directly, then round trips through the GGUF reader.
import Foundation
import XCTest
@testable import ModelIO
import Numerics

final class GGUFWriterTests: XCTestCase {

    static let allValues: [(String, GGUFValue)] = [
        ("t.u8", .uint8(250)), ("t.i8", .int8(-7)), ("t.u16", .uint16(65000)), ("t.i16", .int16(-30000)),
        ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-2_000_000_000)),
        ("t.u64", .uint64(18_000_000_000_000_000_000)), ("t.i64", .int64(-9_000_000_000_000_000_000)),
        ("t.f32", .float32(-1.5e-7)), ("t.f64", .float64(3.141592653589793)), ("t.true", .bool(true)),
        ("t.false", .bool(false)), ("t.str", .string("héllo ▁world\n")), ("t.empty_str", .string("")),
        ("tokenizer.ggml.tokens", .array([.string("<s>"), .string("</s>"), .string("▁the"), .string("")])),
        ("t.i32s", .array([.int32(1), .int32(-2), .int32(3)])),
        ("t.f32s", .array([.float32(0.5), .float32(-0.25)])),
        ("t.bools", .array([.bool(true), .bool(false)])),
        ("t.u64s", .array([.uint64(1), .uint64(UInt64.max)])),
        ("t.empty", .array([]))
    ]

    func testHeaderBytes() throws {
        let dir = try tempDir()
        let w = try GGUFWriter(path: dir + "/h.gguf")
        try w.set("a", .uint32(7))
        try w.addTensor(name: "x", floats: [1, 2, 3], shape: [3])
        let b = try w.serialize()
        // magic, version 3, 1 tensor, 2 kv (general.alignment + a)
        XCTAssertEqual(Array(b[0..<4]), Array("GGUF".utf8))
        XCTAssertEqual(Array(b[4..<8]), [3, 0, 0, 0])
        XCTAssertEqual(Array(b[8..<16]), [1, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(b[16..<24]), [2, 0, 0, 0, 0, 0, 0, 0])
        // first kv: "general.alignment" (17 bytes), type 4 (u32), value 32
        XCTAssertEqual(Array(b[24..<32]), [17, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(String(decoding: b[32..<49], as: UTF8.self), "general.alignment")
        XCTAssertEqual(Array(b[49..<57]), [4, 0, 0, 0, 32, 0, 0, 0])
        // data section: aligned to 32, holds 1, 2, 3 as f32, padded to 32
        XCTAssertEqual(b.count % 32, 0)
        let data = b.count - 32
        XCTAssertEqual(
            Array(b[data..<(data + 12)]),
            [1.0, 2.0, 3.0].flatMap { (f: Float) -> [UInt8] in
                withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) }
            })
        XCTAssertTrue(b[(data + 12)...].allSatisfy { $0 == 0 })
    }

    func testRoundTripThroughReader() throws {
        let dir = try tempDir()
        for alignment in [32, 64] {
            let path = dir + "/rt\(alignment).gguf"
            let w = try GGUFWriter(path: path, alignment: alignment)
            for (k, v) in Self.allValues { try w.set(k, v) }
            try w.set("general.architecture", .string("llama"))

            let f32 = (0..<(3 * 5)).map { Float($0) * 0.37 - 2 }
            try w.addTensor(name: "a.f32", floats: f32, shape: [3, 5])
            let f16 = (0..<(4 * 8)).map { Float($0) / 3 - 4 }
            try w.addTensorF16(name: "b.f16", floats: f16, shape: [4, 8])
            try w.addTensor(name: "c.bf16", floats: [1.5, -2.25, 3.0e-3], shape: [3], storage: .bf16)
            let q8 = dequantFixtures.first { $0.type == TensorType.q8_0.rawValue }!
            let q8Bytes = Array(hexBytes(q8.blocks)[0..<(4 * 34)])
            try w.addTensor(name: "d.q8_0", type: .q8_0, shape: [2, 64], bytes: q8Bytes)
            try w.addTensor(name: "e.f32.3d", floats: (0..<24).map(Float.init), shape: [2, 3, 4])
            try w.write()

            let g = try GGUFFile(path: path)
            XCTAssertEqual(g.version, 3)
            for (k, v) in Self.allValues {
                if case .array(let a) = v, a.isEmpty { XCTAssertEqual(g.metadata[k]?.array?.count, 0); continue }
                XCTAssertEqual(g.metadata[k], v, k)
            }
            XCTAssertEqual(g.metadata["general.alignment"], .uint32(UInt32(alignment)))
            XCTAssertEqual(g.metadata.count, Self.allValues.count + 2)
            XCTAssertEqual(g.tensorNames, ["a.f32", "b.f16", "c.bf16", "d.q8_0", "e.f32.3d"])

            for t in g.tensors.values {
                XCTAssertEqual((t.data - g.file.base) % alignment, 0, "\(t.name) misaligned")
            }
            let a = try g.tensor("a.f32")
            XCTAssertEqual(a.shape, [3, 5]); XCTAssertEqual(a.type, .f32)
            XCTAssertEqual(try dequantize(a).array, f32)
            let b = try g.tensor("b.f16")
            XCTAssertEqual(b.shape, [4, 8]); XCTAssertEqual(b.type, .f16)
            XCTAssertEqual(try dequantize(b).array, f16.map { Float(Float16($0)) })
            let c = try g.tensor("c.bf16")
            XCTAssertEqual(c.type, .bf16)
            XCTAssertEqual(try dequantize(c).array, [1.5, -2.25, bf16ToFloat(floatToBF16(3.0e-3))])
            let d = try g.tensor("d.q8_0")
            XCTAssertEqual(d.shape, [2, 64]); XCTAssertEqual(d.type, .q8_0); XCTAssertEqual(d.byteCount, 4 * 34)
            XCTAssertEqual(Array(UnsafeRawBufferPointer(start: d.data, count: d.byteCount)), q8Bytes)
            XCTAssertEqual(try dequantize(d).array, Array(hexFloats(q8.floats)[0..<128]))
            let e = try g.tensor("e.f32.3d")
            XCTAssertEqual(e.shape, [2, 3, 4])
            XCTAssertEqual(try dequantize(e).array, (0..<24).map(Float.init))
            // The view makeWeight gives over the written file is the zero-copy one.
            let wa = try makeWeight(a, storage: .f32)
            XCTAssertEqual(wa.base, a.data); XCTAssertEqual(wa.value(2, 4), f32[14])
        }
        // Atomic write leaves no temporary file behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["rt32.gguf", "rt64.gguf"])
    }

    func testOverwriteReplacesFileAtomically() throws {
        let dir = try tempDir()
        let path = dir + "/m.gguf"
        let w1 = try GGUFWriter(path: path); try w1.set("v", .int32(1)); try w1.write()
        let w2 = try GGUFWriter(path: path); try w2.set("v", .int32(2)); try w2.write()
        XCTAssertEqual(try GGUFFile(path: path).metadata["v"], .int32(2))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["m.gguf"])
    }

    func testWriterErrors() throws {
        let dir = try tempDir()
        let path = dir + "/bad.gguf"
        assertModelIOError(
            { _ = try GGUFWriter(path: path, alignment: 24) }, file: "bad.gguf",
            contains: ["alignment", "power of two"])
        let w = try GGUFWriter(path: path)
        assertModelIOError(
            { try w.set("mixed", .array([.int32(1), .string("x")])) }, file: "bad.gguf",
            contains: ["'mixed'", "same type"])
        assertModelIOError(
            { try w.set("nested", .array([.array([.int32(1)])])) }, file: "bad.gguf",
            contains: ["'nested'", "arrays of arrays"])
        try w.addTensor(name: "x", floats: [1], shape: [1])
        assertModelIOError(
            { try w.addTensor(name: "x", floats: [1], shape: [1]) }, file: "bad.gguf",
            contains: ["duplicate", "'x'"])
        assertModelIOError(
            { try w.addTensor(name: "y", floats: [1, 2], shape: [3]) }, file: "bad.gguf",
            contains: ["'y'", "needs 12 bytes", "got 8"])
        assertModelIOError(
            { try w.addTensor(name: "q", type: .q8_0, shape: [1, 16], bytes: [UInt8](repeating: 0, count: 17)) },
            file: "bad.gguf", contains: ["'q'", "block size 32"])
        let nowhere = try GGUFWriter(path: dir + "/no/such/dir/x.gguf")
        assertModelIOError({ try nowhere.write() }, file: "x.gguf", contains: ["temporary file", "no/such/dir"])
    }
}
