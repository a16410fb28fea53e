// Safetensors: writer ↔ reader round trip, Python's standard library reading our file, sharded folders,
// and one test per kind of bad input.
import Foundation
import XCTest
@testable import ModelIO
import Numerics

final class SafetensorsTests: XCTestCase {

    /// Builds a raw safetensors file from a header JSON string and data bytes (no validation).
    func rawFile(_ path: String, header: String, data: [UInt8], headerLength: UInt64? = nil) throws {
        var b = [UInt8]()
        let h = Array(header.utf8)
        withUnsafeBytes(of: (headerLength ?? UInt64(h.count)).littleEndian) { b.append(contentsOf: $0) }
        b += h + data
        try Data(b).write(to: URL(fileURLWithPath: path))
    }

    let specials: [Float] = [
        0, -0.0, 1, -1.5, 3.1415927, Float(bitPattern: 0x0001_1234), -Float.infinity, Float.greatestFiniteMagnitude,
        65504
    ]

    func testRoundTrip() throws {
        let dir = try tempDir()
        let path = dir + "/irm.safetensors"
        let w1 = (0..<12).map { Float($0) * 0.1 - 0.55 }
        let odd: [Float] = [1, 2, 3]
        try writeSafetensors(
            path: path,
            floatTensors: [
                ("layers.1.weight", [3, 4], w1), ("b", [9], specials),
                ("odd", [3], odd)
            ],
            metadata: ["format": "pt", "irm.layers": "0,1,2", "quote\"key": "line\nbreak"])
        // The same values as f16 and bf16, written through the raw-bytes API.
        let h = try writeAndRead16(dir)
        XCTAssertEqual(h.f16, w1.map { Float(Float16($0)) })
        XCTAssertEqual(h.bf16, w1.map { bf16ToFloat(floatToBF16($0)) })

        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(f.metadata, ["format": "pt", "irm.layers": "0,1,2", "quote\"key": "line\nbreak"])
        XCTAssertEqual(Set(f.tensors.keys), ["layers.1.weight", "b", "odd"])
        let t = try f.tensor("layers.1.weight")
        XCTAssertEqual(t.shape, [3, 4]); XCTAssertEqual(t.type, .f32); XCTAssertEqual(t.file, path)
        XCTAssertEqual(try dequantize(t).array, w1)
        XCTAssertEqual(try dequantize(f.tensor("b")).array.map(\.bitPattern), specials.map(\.bitPattern))
        XCTAssertEqual(try dequantize(f.tensor("odd")).array, odd)
        // Header padded to 8, tensors contiguous from offset 0 in name order (same dtype).
        let n = Int(f.file.base.loadUnaligned(as: UInt64.self))
        XCTAssertEqual(n % 8, 0)
        XCTAssertEqual(f.tensorNames, ["b", "layers.1.weight", "odd"])
        XCTAssertEqual(f.tensors["b"]!.data, f.file.base + 8 + n)
        XCTAssertEqual(f.file.size, 8 + n + 4 * (12 + 9 + 3))
        // Keys are sorted in the header text.
        let header = String(decoding: UnsafeRawBufferPointer(start: f.file.base + 8, count: n), as: UTF8.self)
        let positions = ["\"__metadata__\"", "\"b\"", "\"layers.1.weight\"", "\"odd\""].map {
            header.range(of: $0)!.lowerBound
        }
        XCTAssertEqual(positions, positions.sorted())
        XCTAssertTrue(header.hasSuffix("}") || header.hasSuffix(" "))
        // A zero-copy fp32 weight straight from the file.
        let w = try makeWeight(t, storage: .f32)
        XCTAssertEqual(w.base, t.data); XCTAssertEqual(w.value(2, 3), w1[11])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: dir).sorted(),
            ["h.safetensors", "irm.safetensors"])
    }

    func writeAndRead16(_ dir: String) throws -> (f16: [Float], bf16: [Float]) {
        let vals = (0..<12).map { Float($0) * 0.1 - 0.55 }
        let f16 = vals.map { Float16($0).bitPattern }.withUnsafeBytes { [UInt8]($0) }
        let bf = vals.map { floatToBF16($0) }.withUnsafeBytes { [UInt8]($0) }
        let one: [UInt8] = [0, 0, 0x80, 0x3F]
        try writeSafetensors(
            path: dir + "/h.safetensors",
            tensors: [("half", .f16, [12], f16), ("brain", .bf16, [2, 6], bf), ("one", .f32, [1], one)])
        let f = try SafetensorsFile(path: dir + "/h.safetensors")
        XCTAssertEqual(f.metadata, [:])
        // The f32 tensor comes first in the data (largest element size), then 16-bit ones by name.
        XCTAssertEqual(f.tensorNames, ["one", "brain", "half"])
        XCTAssertEqual(try f.tensor("brain").shape, [2, 6])
        let w = try makeWeight(f.tensor("brain"), storage: .bf16)
        XCTAssertEqual(w.base, try f.tensor("brain").data)
        return (try dequantize(f.tensor("half")).array, try dequantize(f.tensor("brain")).array)
    }

    func testPythonStandardLibraryReadsOurFile() throws {
        let dir = try tempDir()
        let path = dir + "/py.safetensors"
        let a = (0..<6).map { Float($0) * -0.75 + 0.125 }
        try writeSafetensors(
            path: path, floatTensors: [("irm.0.weight", [2, 3], a), ("irm.0.bias", [2], [7.5, -1])],
            metadata: ["irm.hidden": "576", "ünï": "cödé"])
        try writeSafetensors(
            path: dir + "/py16.safetensors", floatTensors: [("h", [3], [0.5, -2, 1e-3])],
            storage: .f16)
        try writeSafetensors(
            path: dir + "/pybf.safetensors", floatTensors: [("h", [3], [0.5, -2, 1e-3])],
            storage: .bf16)
        let script = """
            import json, struct, sys
            out = {}
            for path in sys.argv[1:]:
                with open(path, 'rb') as f:
                    raw = f.read()
                (n,) = struct.unpack('<Q', raw[:8])
                assert n % 8 == 0, 'header not padded to 8'
                header = json.loads(raw[8:8 + n].decode('utf-8'))
                data = raw[8 + n:]
                res = {'__metadata__': header.pop('__metadata__', {})}
                for name, e in header.items():
                    b, end = e['data_offsets']
                    chunk = data[b:end]
                    if e['dtype'] == 'F32':
                        vals = list(struct.unpack('<%df' % (len(chunk) // 4), chunk))
                    elif e['dtype'] == 'F16':
                        vals = list(struct.unpack('<%de' % (len(chunk) // 2), chunk))
                    else:
                        hs = struct.unpack('<%dH' % (len(chunk) // 2), chunk)
                        vals = [struct.unpack('<f', struct.pack('<I', h << 16))[0] for h in hs]
                    res[name] = {'dtype': e['dtype'], 'shape': e['shape'], 'values': vals}
                out[path.split('/')[-1]] = res
            print(json.dumps(out))
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, path, dir + "/py16.safetensors", dir + "/pybf.safetensors"]
        let pipe = Pipe(), err = Pipe()
        p.standardOutput = pipe; p.standardError = err
        try p.run()
        let outData = pipe.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: errData, as: UTF8.self))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: outData) as? [String: [String: Any]])

        let py = try XCTUnwrap(json["py.safetensors"])
        XCTAssertEqual(py["__metadata__"] as? [String: String], ["irm.hidden": "576", "ünï": "cödé"])
        func floats(_ any: Any?) -> [Float] { ((any as? [String: Any])?["values"] as? [Double] ?? []).map(Float.init) }
        XCTAssertEqual(floats(py["irm.0.weight"]), a)
        XCTAssertEqual((py["irm.0.weight"] as? [String: Any])?["shape"] as? [Int], [2, 3])
        XCTAssertEqual(floats(py["irm.0.bias"]), [7.5, -1])
        XCTAssertEqual(floats(json["py16.safetensors"]?["h"]), [0.5, -2, Float(Float16(Float(1e-3)))])
        XCTAssertEqual(floats(json["pybf.safetensors"]?["h"]), [0.5, -2, bf16ToFloat(floatToBF16(1e-3))])
    }

    func testShardedFolder() throws {
        let dir = try tempDir()
        try writeSafetensors(
            path: dir + "/model-00001-of-00002.safetensors",
            floatTensors: [("a", [2], [1, 2]), ("b", [1], [3])])
        try writeSafetensors(
            path: dir + "/model-00002-of-00002.safetensors", floatTensors: [("c", [2, 2], [4, 5, 6, 7])])
        let index = """
            {"metadata": {"total_size": 28}, "weight_map": {"a": "model-00001-of-00002.safetensors",
             "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}
            """
        try index.write(toFile: dir + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        let ts = try loadSafetensorsFolder(dir)
        XCTAssertEqual(Set(ts.keys), ["a", "b", "c"])
        XCTAssertEqual(try dequantize(ts["c"]!).array, [4, 5, 6, 7])
        XCTAssertEqual(ts["c"]!.shape, [2, 2])
        XCTAssertTrue(ts["b"]!.file.hasSuffix("model-00001-of-00002.safetensors"))

        // A single-file folder.
        let single = try tempDir()
        try writeSafetensors(path: single + "/model.safetensors", floatTensors: [("x", [1], [9])])
        XCTAssertEqual(try dequantize(loadSafetensorsFolder(single)["x"]!).array, [9])
    }

    // ---------------------------------------------------------------- bad input, one case each

    func testHeaderLengthPastEndOfFile() throws {
        let dir = try tempDir()
        try rawFile(dir + "/model.safetensors", header: "{}", data: [], headerLength: 1_000_000)
        assertModelIOError(
            { _ = try SafetensorsFile(path: dir + "/model.safetensors") }, file: "model.safetensors",
            contains: ["header length 1000000", "past the end of the file (10 bytes)"])
    }

    func testOffsetsPastEnd() throws {
        let dir = try tempDir()
        try rawFile(
            dir + "/model.safetensors",
            header: #"{"x":{"dtype":"F32","shape":[32,32],"data_offsets":[0,4096]}}"#,
            data: [UInt8](repeating: 0, count: 1000))
        assertModelIOError(
            { _ = try SafetensorsFile(path: dir + "/model.safetensors") }, file: "model.safetensors",
            contains: ["tensor 'x' data_offsets [0, 4096] run past the end of the file (1000 bytes of data)"])
    }

    func testOffsetsDisagreeWithShape() throws {
        let dir = try tempDir()
        try rawFile(
            dir + "/m.safetensors", header: #"{"x":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}"#,
            data: [UInt8](repeating: 0, count: 8))
        assertModelIOError(
            { _ = try SafetensorsFile(path: dir + "/m.safetensors") }, file: "m.safetensors",
            contains: ["tensor 'x'", "needs 6 bytes", "hold 8"])
        try rawFile(
            dir + "/r.safetensors", header: #"{"x":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#,
            data: [UInt8](repeating: 0, count: 8))
        assertModelIOError(
            { _ = try SafetensorsFile(path: dir + "/r.safetensors") }, file: "r.safetensors",
            contains: ["tensor 'x'", "[8, 4]", "end before they begin"])
        try rawFile(
            dir + "/o.safetensors",
            header: #"{"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#, data: [])
        assertModelIOError(
            { _ = try SafetensorsFile(path: dir + "/o.safetensors") }, file: "o.safetensors",
            contains: ["tensor 'x'", "overflows"])
    }

    func testUnknownDType() throws {
        let dir = try tempDir()
        try rawFile(
            dir + "/model.safetensors",
            header: #"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8))
        assertModelIOError(
            { _ = try SafetensorsFile(path: dir + "/model.safetensors") }, file: "model.safetensors",
            contains: ["tensor 'ids'", "dtype I64", "F32, F16 and BF16 only"])
    }

    func testBadJSONHeader() throws {
        let dir = try tempDir()
        try rawFile(dir + "/j.safetensors", header: "{\"x\": [1, 2", data: [])
        assertModelIOError(
            { _ = try SafetensorsFile(path: dir + "/j.safetensors") }, file: "j.safetensors",
            contains: ["not valid JSON"])
        try rawFile(
            dir + "/s.safetensors", header: #"{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
            data: [0, 0, 0, 0])
        assertModelIOError(
            { _ = try SafetensorsFile(path: dir + "/s.safetensors") }, file: "s.safetensors",
            contains: ["tensor 'x'", "invalid shape"])
    }

    func testMissingShard() throws {
        let dir = try tempDir()
        try writeSafetensors(path: dir + "/model-00001-of-00002.safetensors", floatTensors: [("a", [1], [1])])
        try #"{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}"#
            .write(toFile: dir + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        assertModelIOError(
            { _ = try loadSafetensorsFolder(dir) }, file: "model.safetensors.index.json",
            contains: ["shard 'model-00002-of-00002.safetensors'", "tensor 'b'", "missing"])
    }

    func testTensorAbsentFromItsShard() throws {
        let dir = try tempDir()
        try writeSafetensors(path: dir + "/s1.safetensors", floatTensors: [("a", [1], [1])])
        try #"{"weight_map": {"a": "s1.safetensors", "ghost": "s1.safetensors"}}"#
            .write(toFile: dir + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        assertModelIOError(
            { _ = try loadSafetensorsFolder(dir) }, file: "s1.safetensors",
            contains: ["tensor 'ghost'", "not in it"])
        try #"{"weight_map": {"a": "../s1.safetensors"}}"#
            .write(toFile: dir + "/model.safetensors.index.json", atomically: true, encoding: .utf8)
        assertModelIOError(
            { _ = try loadSafetensorsFolder(dir) }, file: "model.safetensors.index.json",
            contains: ["'../s1.safetensors'", "not a file in this folder"])
    }

    func testMissingFile() throws {
        let dir = try tempDir()
        assertModelIOError(
            { _ = try SafetensorsFile(path: dir + "/nope.safetensors") }, file: "nope.safetensors",
            contains: ["no such file"])
        assertModelIOError(
            { _ = try loadSafetensorsFolder(dir) }, file: dir,
            contains: ["no model.safetensors or model.safetensors.index.json"])
    }

    func testTruncatedFile() throws {
        let dir = try tempDir()
        let path = dir + "/t.safetensors"
        try writeSafetensors(path: path, floatTensors: [("w", [4, 4], [Float](repeating: 1, count: 16))])
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        try full.prefix(full.count - 10).write(to: URL(fileURLWithPath: path))
        assertModelIOError(
            { _ = try SafetensorsFile(path: path) }, file: "t.safetensors",
            contains: ["tensor 'w' data_offsets [0, 64] run past the end of the file (54 bytes of data)"])
        try full.prefix(5).write(to: URL(fileURLWithPath: path))
        assertModelIOError(
            { _ = try SafetensorsFile(path: path) }, file: "t.safetensors",
            contains: ["5 bytes", "too short"])
    }

    func testWriterRejectsBadTensors() throws {
        let dir = try tempDir()
        let path = dir + "/w.safetensors"
        assertModelIOError(
            { try writeSafetensors(path: path, floatTensors: [("a", [2], [1])]) }, file: "w.safetensors",
            contains: ["tensor 'a'", "needs 8 bytes, got 4"])
        assertModelIOError(
            { try writeSafetensors(path: path, floatTensors: [("a", [1], [1]), ("a", [1], [2])]) },
            file: "w.safetensors", contains: ["duplicate", "'a'"])
        assertModelIOError(
            { try writeSafetensors(path: path, tensors: [("q", .q8_0, [32], [UInt8](repeating: 0, count: 34))]) },
            file: "w.safetensors", contains: ["tensor 'q'", "Q8_0"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }
}
