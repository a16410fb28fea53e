// Dequantization against gguf-py's numpy implementation (fixtures in DequantFixtures.swift), on random
// blocks and on rows of the real SmolLM2 file; and makeWeight's views, conversions and errors.
import Foundation
import XCTest
@testable import ModelIO
import Numerics

final class DequantizeTests: XCTestCase {

    func testEveryTypeMatchesNumpyBitForBit() throws {
        var seen = Set<UInt32>()
        for fx in dequantFixtures {
            let type = try XCTUnwrap(TensorType(rawValue: fx.type))
            seen.insert(fx.type)
            let bytes = hexBytes(fx.blocks), expected = hexFloats(fx.floats)
            let t = tensorInfo("fx", type, [expected.count], bytes)
            let got = try dequantize(t).array
            XCTAssertEqual(got.count, expected.count, "\(type)")
            var mismatches = 0
            for i in 0..<min(got.count, expected.count) where got[i].bitPattern != expected[i].bitPattern {
                if mismatches < 5 { XCTFail("\(type)[\(i)]: got \(got[i]), numpy \(expected[i])") }
                mismatches += 1
            }
            XCTAssertEqual(mismatches, 0, "\(type): \(mismatches) of \(expected.count) differ")
            // The quantized blocks are not all-zero and the values span signs (a decoder returning
            // zeros or abs values would fail above; this guards the fixture itself).
            XCTAssertTrue(expected.contains { $0 < 0 } && expected.contains { $0 > 0 }, "\(type) fixture")
        }
        XCTAssertEqual(
            seen,
            Set(
                [TensorType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K, .f16, .bf16]
                    .map(\.rawValue)))
    }

    func testQuantizedRowsOfTheRealModelMatchNumpy() throws {
        // Needs the real model (`make model`, which `make test` runs first); a missing file fails the test.
        // Through the GGUF reader: whole tensors dequantized (in parallel), rows compared with numpy's.
        let g = try GGUFFile(path: smolPath)
        var cache: [String: [Float]] = [:]
        for fx in smolLM2RowFixtures {
            let t = try g.tensor(fx.tensor)
            XCTAssertEqual(t.type.rawValue, fx.type)
            XCTAssertEqual(t.shape.last, fx.cols)
            // The fixture's absolute offset (from gguf-py's reader) agrees with our reader's pointer.
            let rowBytes = fx.cols / t.type.blockLayout.elements * t.type.blockLayout.bytes
            XCTAssertEqual(t.data - g.file.base + fx.row * rowBytes, fx.fileOffset)
            if cache[fx.tensor] == nil { cache[fx.tensor] = try dequantize(t).array }
            let got = Array(cache[fx.tensor]![(fx.row * fx.cols)..<((fx.row + 1) * fx.cols)])
            XCTAssertEqual(got.map(\.bitPattern), hexFloats(fx.floats).map(\.bitPattern), "\(fx.tensor) row \(fx.row)")
            // And makeWeight's fp32 matrix holds the same row.
            if fx.row == 1 {
                let w = try makeWeight(t, storage: .f32)
                XCTAssertEqual((0..<fx.cols).map { w.value(1, $0) }, got)
            }
        }
        XCTAssertEqual(
            Set(smolLM2RowFixtures.map { $0.type }), Set([TensorType.q4_1.rawValue, TensorType.q8_0.rawValue]))
    }

    /// A hand-built Q4_K block checks the scale/min unpacking of sub-blocks 4-7 independently of the
    /// fixtures: scale 37 = 0b10_0101 (low nibble in byte 8+j's low half, top bits in byte j's top),
    /// min 50 = 0b11_0010 (low nibble in byte 8+j's high half, top bits in byte 4+j's top).
    func testQ4KHighSubBlockScaleAndMin() throws {
        var b = [UInt8](repeating: 0, count: 144)
        b[0] = 0x00; b[1] = 0x3C  // d = 1.0 (fp16 0x3C00)
        b[2] = 0x00; b[3] = 0x38  // dmin = 0.5
        // sub-block 5 (j = 5): scale bits from scales[9] low nibble and scales[1] >> 6; min from
        // scales[9] high nibble and scales[5] >> 6.
        b[4 + 9] = (0b0010 << 4) | 0b0101
        b[4 + 1] = 0b10 << 6
        b[4 + 5] = 0b11 << 6
        for l in 0..<32 { b[16 + 64 + l] = 0x70 | UInt8(l % 16) }  // group 2: low nibble = sub-block 4, high = 5
        let y = try dequantize(tensorInfo("k", .q4_K, [256], b)).array
        // Sub-block 5 covers y[160..<192]: 37 * 7 - 0.5 * 50 = 234
        XCTAssertEqual(y[160], 234); XCTAssertEqual(y[191], 234)
        // Sub-block 4 (y[128..<160]) has scale = min = 0 (bits of bytes 8, 0, 4 are zero) except
        // scales[0] & 63 is sub-block 0's, so it is 0 here.
        XCTAssertEqual(y[128 + 3], 0)
    }

    func testMakeWeightViewsAndConversions() throws {
        // 2 × 32 Q8_0: every conversion equals dequantize() followed by rounding.
        let fx = dequantFixtures.first { $0.type == TensorType.q8_0.rawValue }!
        let bytes = Array(hexBytes(fx.blocks)[0..<(2 * 34)])
        let t = tensorInfo("blk.0.attn_q.weight", .q8_0, [2, 32], bytes)
        let ref = try dequantize(t).array
        let w32 = try makeWeight(t, storage: .f32)
        let w16 = try makeWeight(t, storage: .f16)
        let wbf = try makeWeight(t, storage: .bf16)
        for (w, type) in [(w32, WeightType.f32), (w16, .f16), (wbf, .bf16)] {
            XCTAssertEqual(w.rows, 2); XCTAssertEqual(w.cols, 32); XCTAssertEqual(w.type, type)
        }
        for r in 0..<2 {
            for c in 0..<32 {
                let x = ref[r * 32 + c]
                XCTAssertEqual(w32.value(r, c), x)
                XCTAssertEqual(w16.value(r, c), Float(Float16(x)))
                XCTAssertEqual(wbf.value(r, c), bf16ToFloat(floatToBF16(x)))
            }
        }

        // Same storage: a zero-copy view into the tensor's memory, owned by the tensor's owner.
        let f16 = tensorInfo(
            "f", .f16, [3, 4],
            (0..<12).flatMap { i -> [UInt8] in
                let h = Float16(Float(i) - 5.5).bitPattern; return [UInt8(h & 0xFF), UInt8(h >> 8)]
            })
        let view = try makeWeight(f16, storage: .f16)
        XCTAssertEqual(view.base, f16.data)
        XCTAssertTrue(view.owner === f16.owner)
        XCTAssertEqual(view.value(2, 3), 5.5)
        let widened = try makeWeight(f16, storage: .f32)
        XCTAssertNotEqual(widened.base, f16.data)
        XCTAssertEqual(widened.value(1, 0), -1.5)
        let asBF16 = try makeWeight(f16, storage: .bf16)
        XCTAssertEqual(asBF16.value(0, 0), -5.5)
    }

    func testMakeWeightErrors() {
        let q = [UInt8](repeating: 0, count: 34)
        assertModelIOError(
            {
                _ = try makeWeight(
                    tensorInfo("norm", .f32, [8], [UInt8](repeating: 0, count: 32)),
                    storage: .f32)
            },
            file: "test.gguf", contains: ["'norm'", "2-D", "[8]"])
        assertModelIOError(
            { _ = try makeWeight(tensorInfo("odd", .q8_0, [1, 17], q), storage: .f32) },
            file: "test.gguf", contains: ["'odd'", "17", "block size 32"])
        assertModelIOError(
            { _ = try makeWeight(tensorInfo("short", .q8_0, [2, 32], q), storage: .f16) },
            file: "test.gguf", contains: ["'short'", "needs 68 bytes", "has 34"])
        assertModelIOError(
            {
                _ = try makeWeight(
                    tensorInfo(
                        "k2", .q2_K, [1, 256],
                        [UInt8](repeating: 0, count: 84)), storage: .f32)
            },
            file: "test.gguf", contains: ["'k2'", "Q2_K", "cannot dequantize"])
        assertModelIOError(
            { _ = try dequantize(tensorInfo("neg", .f32, [-1, 4], [])) },
            file: "test.gguf", contains: ["'neg'", "invalid shape"])
    }

    func testDequantizeIsParallelAndShapeFaithful() throws {
        // 300 rows of Q4_0 blocks built from one fixture block: every row must equal that block's floats.
        let fx = dequantFixtures.first { $0.type == TensorType.q4_0.rawValue }!
        let block = Array(hexBytes(fx.blocks)[0..<18]), blockFloats = Array(hexFloats(fx.floats)[0..<32])
        let rows = 300
        let t = tensorInfo("big", .q4_0, [3, 100, 64], Array([[UInt8]](repeating: block, count: rows * 2).joined()))
        let y = try dequantize(t)
        XCTAssertEqual(y.count, rows * 64)
        for r in [0, 1, 150, 299] {
            XCTAssertEqual(Array(y.array[(r * 64)..<(r * 64 + 32)]), blockFloats)
            XCTAssertEqual(Array(y.array[(r * 64 + 32)..<(r * 64 + 64)]), blockFloats)
        }
    }
}
