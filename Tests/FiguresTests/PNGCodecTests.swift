// CRC-32 / Adler-32 known vectors, DEFLATE round trips through Python's zlib, PNG files read back by an
// independent decoder (Python) and by `file`.
import Foundation
import XCTest
import ModelIO
@testable import Figures
import TestSupport

final class PNGCodecTests: XCTestCase {

    func testCRC32KnownVectors() {
        XCTAssertEqual(crc32(Array("123456789".utf8)), 0xCBF4_3926)  // the CRC-32 check value
        XCTAssertEqual(crc32([UInt8]()), 0)
        XCTAssertEqual(crc32(Array("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
        // PNG's IEND chunk: CRC over "IEND" is AE 42 60 82.
        XCTAssertEqual(crc32(Array("IEND".utf8)), 0xAE42_6082)
        var c = CRC32(); c.update(Array("12345".utf8)); c.update(Array("6789".utf8))
        XCTAssertEqual(c.value, 0xCBF4_3926)
    }

    func testAdler32KnownVectors() {
        XCTAssertEqual(adler32(Array("Wikipedia".utf8)), 0x11E6_0398)
        XCTAssertEqual(adler32([]), 1)
        // Long run of 0xFF crosses the 5552-byte reduction boundary many times; value from zlib.adler32.
        XCTAssertEqual(adler32([UInt8](repeating: 0xFF, count: 100_000)), 0x149A_302C)
    }

    /// Every block mode and effort on random, repetitive, long-run and tiny inputs; Python's zlib must
    /// return the original bytes (zlib.decompress also checks the Adler-32 trailer).
    func testDeflateRoundTripThroughPythonZlib() throws {
        var rng = SplitMix(seed: 7)
        let random = (0..<100_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let text = Array(
            String(repeating: "The IRM output lines up in vertical stripes; index 1512 dominates. ", count: 3000).utf8)
        let zeros = [UInt8](repeating: 0, count: 200_000)
        var mixed: [UInt8] = []
        for k in 0..<40_000 { mixed.append(k % 7 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(k / 300 % 256)) }
        let inputs: [(String, [UInt8])] = [
            ("empty", []), ("one", [42]), ("two", [1, 2]), ("random", random),
            ("text", text), ("zeros", zeros), ("mixed", mixed)
        ]
        let modes: [(String, DeflateBlockMode)] = [
            ("auto", .automatic), ("stored", .stored), ("fixed", .fixed),
            ("dynamic", .dynamic)
        ]
        let dir = try tempDir()
        var args: [String] = []
        var sizes: [String: Int] = [:]
        for (name, data) in inputs {
            let orig = "\(dir)/\(name).bin"
            try Data(data).write(to: URL(fileURLWithPath: orig))
            for (mname, mode) in modes {
                for (ename, effort) in [("fast", DeflateEffort.fast), ("default", .default), ("best", .best)] {
                    if mode == .stored && ename != "default" { continue }
                    let z = zlibCompress(data, effort: effort, mode: mode)
                    XCTAssertEqual((Int(z[0]) << 8 | Int(z[1])) % 31, 0, "FCHECK")
                    let comp = "\(dir)/\(name).\(mname).\(ename).z"
                    try Data(z).write(to: URL(fileURLWithPath: comp))
                    args += [orig, comp]
                    sizes["\(name).\(mname).\(ename)"] = z.count
                }
            }
        }
        let script = #"""
            import sys, zlib
            a = sys.argv[1:]
            for i in range(0, len(a), 2):
                orig = open(a[i], 'rb').read(); comp = open(a[i + 1], 'rb').read()
                out = zlib.decompress(comp)
                print('ok' if out == orig else 'MISMATCH', a[i + 1])
            """#
        let r = try runProcess(try python3(), ["-c", script] + args)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, args.count / 2)
        for l in lines { XCTAssertTrue(l.hasPrefix("ok "), String(l)) }

        // Compression is real: repetitive data shrinks far below the stored size; random data costs at most
        // the stored framing (automatic mode falls back to stored blocks).
        let storedText = sizes["text.stored.default"]!
        XCTAssertLessThan(sizes["text.auto.default"]!, storedText / 50)
        XCTAssertLessThan(sizes["zeros.auto.default"]!, 1000)
        XCTAssertLessThanOrEqual(Double(sizes["random.auto.default"]!), Double(sizes["random.stored.default"]!) * 1.001)
        XCTAssertLessThanOrEqual(sizes["mixed.auto.default"]!, sizes["mixed.fixed.default"]!)
        XCTAssertLessThan(sizes["mixed.dynamic.default"]!, sizes["mixed.fixed.default"]!)
        XCTAssertLessThanOrEqual(sizes["text.auto.best"]!, sizes["text.auto.fast"]!)
    }

    func testHuffmanLengthsAreLimitedAndComplete() {
        // Fibonacci frequencies force a deep tree; the limit must hold and the Kraft sum must be exactly 1.
        var f = [1, 1]; while f.count < 30 { f.append(f[f.count - 1] + f[f.count - 2]) }
        for limit in [7, 15] {
            let l = huffmanLengths(f, limit: limit)
            XCTAssertLessThanOrEqual(l.max()!, limit)
            let kraft = l.reduce(0.0) { $0 + pow(2.0, -Double($1)) }
            XCTAssertEqual(kraft, 1.0, accuracy: 1e-12)
        }
        // A single used symbol still gets a second code (one-bit codes, complete).
        XCTAssertEqual(huffmanLengths([0, 0, 5, 0], limit: 15).filter { $0 > 0 }, [1, 1])
    }

    func testSmallRGBImageDecodesWithPythonAndFile() throws {
        // 3×2: red, green, blue / white, black, (12, 34, 56)
        let px: [UInt8] = [
            255, 0, 0, 0, 255, 0, 0, 0, 255,
            255, 255, 255, 0, 0, 0, 12, 34, 56
        ]
        let path = try tempDir() + "/small.png"
        try PNGImage(width: 3, height: 2, channels: 3, pixels: px).write(to: path)
        let d = try decodeWithPython(path, points: ["all"])
        XCTAssertEqual([d.width, d.height, d.channels], [3, 2, 3])
        XCTAssertEqual(d.chunks, ["IHDR", "IDAT", "IEND"])
        for y in 0..<2 {
            for x in 0..<3 {
                let o = (y * 3 + x) * 3
                XCTAssertEqual(d.at(x, y), px[o..<(o + 3)].map(Int.init), "pixel \(x),\(y)")
            }
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/file") {
            let out = try runProcess("/usr/bin/file", [path]).stdout
            XCTAssertTrue(out.contains("PNG image data, 3 x 2, 8-bit/color RGB"), out)
        }
    }

    func testRGBAImageDecodes() throws {
        let px: [UInt8] = [255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 10, 20, 30, 40]
        let path = try tempDir() + "/rgba.png"
        try PNGImage(width: 2, height: 2, channels: 4, pixels: px).write(to: path)
        let d = try decodeWithPython(path, points: ["all"])
        XCTAssertEqual([d.width, d.height, d.channels], [2, 2, 4])
        XCTAssertEqual(d.at(1, 0), [0, 255, 0, 128])
        XCTAssertEqual(d.at(1, 1), [10, 20, 30, 40])
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/file") {
            let out = try runProcess("/usr/bin/file", [path]).stdout
            XCTAssertTrue(out.contains("PNG image data, 2 x 2, 8-bit/color RGBA"), out)
        }
    }

    /// Gradients and noise make the heuristic pick several filter types; the decoder must undo each.
    func testAdaptiveFiltersRoundTrip() throws {
        let w = 61, h = 37
        var rng = SplitMix(seed: 3)
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let o = (y * w + x) * 3
                switch y % 4 {
                case 0: px[o] = UInt8(x * 4); px[o + 1] = UInt8(y * 6); px[o + 2] = 128  // horizontal ramp: Sub
                case 1: px[o] = UInt8(truncatingIfNeeded: rng.next()); px[o + 1] = 7; px[o + 2] = UInt8(x)  // noise
                case 2: px[o] = px[o - w * 3]; px[o + 1] = px[o - w * 3 + 1]; px[o + 2] = px[o - w * 3 + 2]  // Up
                default: px[o] = UInt8((x + y) * 3 % 256); px[o + 1] = UInt8(x * y % 256); px[o + 2] = UInt8(255 - x)
                }
            }
        }
        let img = PNGImage(width: w, height: h, channels: 3, pixels: px)
        let filtered = img.filteredScanlines()
        let used = Set((0..<h).map { filtered[$0 * (w * 3 + 1)] })
        XCTAssertGreaterThanOrEqual(used.count, 3, "filter types used: \(used)")
        let path = try tempDir() + "/filters.png"
        try img.write(to: path)
        let d = try decodeWithPython(path, points: ["all"])
        XCTAssertEqual(d.filters, Set(used.map(Int.init)))
        for y in 0..<h {
            for x in 0..<w {
                let o = (y * w + x) * 3
                XCTAssertEqual(d.at(x, y), px[o..<(o + 3)].map(Int.init), "pixel \(x),\(y)")
            }
        }
    }

    func testWriteErrorsNameThePathAndLeaveNoTemporaryFile() throws {
        let img = PNGImage(width: 1, height: 1, channels: 3, pixels: [1, 2, 3])
        let missing = "/nonexistent-dir-irm/x.png"
        XCTAssertThrowsError(try img.write(to: missing)) { e in
            XCTAssertEqual((e as? FileError)?.file, missing)
            XCTAssertTrue("\(e)".hasPrefix(missing + ": "), "\(e)")
        }
        // Target is an existing non-empty directory: rename fails, and the temporary file is removed.
        let dir = try tempDir() + "/target-is-dir"
        try FileManager.default.createDirectory(atPath: dir + "/inner", withIntermediateDirectories: true)
        XCTAssertThrowsError(try img.write(to: dir)) { e in XCTAssertEqual((e as? FileError)?.file, dir) }
        let parent = (dir as NSString).deletingLastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
        // A successful write replaces an existing file completely.
        let path = try tempDir() + "/replace.png"
        try Data(repeating: 0x41, count: 10_000).write(to: URL(fileURLWithPath: path))
        try img.write(to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(img.encode()))
    }
}

/// Deterministic generator for test data (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}

final class PNGCompressionQualityTests: XCTestCase {
    /// Our IDAT against zlib level 6 on the same filtered scanlines (inflated from our file and recompressed
    /// by Python): within 25 %. Also prints the encode time of a Llama-sized heatmap (not asserted).
    func testIDATSizeComparableToZlib() throws {
        var rng = SplitMix(seed: 9)
        let rows = 32, cols = 4096
        var v = (0..<(rows * cols)).map { _ in 0.02 * rng.float() }
        for r in 0..<rows { v[r * cols + 1512] = -1 }
        let cv = renderHeatmap(values: v, rows: rows, cols: cols, spec: HeatmapSpec(title: "size check"))
        let t0 = Date()
        let png = cv.image.encode()
        let dt = Date().timeIntervalSince(t0)
        let path = try tempDir() + "/quality.png"
        try Data(png).write(to: URL(fileURLWithPath: path))
        let script = #"""
            import sys, zlib, struct
            d = open(sys.argv[1], 'rb').read(); pos = 8; idat = b''
            while pos < len(d):
                n, = struct.unpack('>I', d[pos:pos+4])
                if d[pos+4:pos+8] == b'IDAT': idat += d[pos+8:pos+8+n]
                pos += 12 + n
            raw = zlib.decompress(idat)
            print(len(idat), len(zlib.compress(raw, 6)), len(zlib.compress(raw, 9)), len(raw))
            """#
        let r = try runProcess(try python3(), ["-c", script, path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let n = r.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { Int($0)! }
        print(
            "heatmap \(cv.width)×\(cv.height): encode \(String(format: "%.3f", dt)) s; IDAT ours \(n[0]) B, zlib -6 \(n[1]) B, zlib -9 \(n[2]) B, raw \(n[3]) B"
        )
        XCTAssertLessThan(Double(n[0]), Double(n[1]) * 1.25)
    }
}
