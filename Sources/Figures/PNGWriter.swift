// PNG encoder (PNG spec, 3rd edition / ISO 15948): 8-bit truecolour (RGB) or truecolour with alpha (RGBA),
// no interlace, one IDAT holding a zlib stream (Deflate.swift), adaptive per-row filtering, CRC-32 per chunk.
import Foundation
import ModelIO
#if canImport(Glibc)
import Glibc
#endif

/// An 8-bit RGB or RGBA image in row-major order, `channels` bytes per pixel.
public struct PNGImage {
    public let width: Int
    public let height: Int
    public let channels: Int  // 3 = RGB, 4 = RGBA
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 3 || channels == 4, "PNGImage: channels must be 3 (RGB) or 4 (RGBA)")
        precondition(width > 0 && height > 0, "PNGImage: empty image")
        precondition(pixels.count == width * height * channels, "PNGImage: pixel count does not match size")
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }

    /// The complete PNG file.
    public func encode(effort: DeflateEffort = .default) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]  // signature (§5.2)
        var ihdr: [UInt8] = []
        appendBE32(&ihdr, UInt32(width)); appendBE32(&ihdr, UInt32(height))
        // bit depth 8; colour type 2 (truecolour) or 6 (truecolour + alpha); deflate; adaptive filtering;
        // no interlace (§11.2.2).
        ihdr += [8, channels == 4 ? 6 : 2, 0, 0, 0]
        appendChunk(&out, "IHDR", ihdr)
        appendChunk(&out, "IDAT", zlibCompress(filteredScanlines(), effort: effort))
        appendChunk(&out, "IEND", [])
        return out
    }

    /// Each row prefixed by its filter type byte. The filter is chosen per row by the heuristic of the
    /// PNG spec §12.8: the one whose output, read as signed bytes, has the smallest sum of absolute values.
    func filteredScanlines() -> [UInt8] {
        let bpp = channels, stride = width * channels
        var out = [UInt8](repeating: 0, count: height * (stride + 1))
        var candidate = [[UInt8]](repeating: [UInt8](repeating: 0, count: stride), count: 5)
        let zero = [UInt8](repeating: 0, count: stride)
        pixels.withUnsafeBufferPointer { px in
            for y in 0..<height {
                let row = px.baseAddress! + y * stride
                zero.withUnsafeBufferPointer { z in
                    let up = y > 0 ? px.baseAddress! + (y - 1) * stride : z.baseAddress!
                    var best = 0, bestScore = Int.max
                    for f in 0..<5 {
                        var score = 0
                        candidate[f].withUnsafeMutableBufferPointer { c in
                            for i in 0..<stride {
                                let x = row[i]
                                let a = i >= bpp ? row[i - bpp] : 0, b = up[i], cc = i >= bpp ? up[i - bpp] : 0
                                let pred: UInt8
                                switch f {
                                case 0: pred = 0
                                case 1: pred = a
                                case 2: pred = b
                                case 3: pred = UInt8((Int(a) + Int(b)) >> 1)
                                default: pred = paeth(a, b, cc)
                                }
                                let v = x &- pred
                                c[i] = v
                                score += v < 128 ? Int(v) : 256 - Int(v)
                            }
                        }
                        if score < bestScore { bestScore = score; best = f }
                    }
                    let o = y * (stride + 1)
                    out[o] = UInt8(best)
                    out.withUnsafeMutableBufferPointer { ob in
                        candidate[best].withUnsafeBufferPointer { c in
                            (ob.baseAddress! + o + 1).update(from: c.baseAddress!, count: stride)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Writes the PNG atomically (temporary file in the same directory, then rename).
    public func write(to path: String) throws {
        try writeFileAtomically(path, encode())
    }
}

/// Paeth predictor (PNG spec §9.4).
@inline(__always) private func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
    let p = Int(a) + Int(b) - Int(c)
    let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
    if pa <= pb && pa <= pc { return a }
    return pb <= pc ? b : c
}

private func appendBE32(_ out: inout [UInt8], _ v: UInt32) {
    out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
}

/// length, type, data, CRC-32 over type and data (§5.3).
private func appendChunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
    let t = Array(type.utf8)
    appendBE32(&out, UInt32(data.count))
    out += t; out += data
    var c = CRC32(); c.update(t); c.update(data)
    appendBE32(&out, c.value)
}

// ----------------------------------------------------------------------------
// Atomic writes (ARCHITECTURE.md: never leave a half-written file).

/// Writes a text file (CSV) atomically.
public func writeTextAtomically(_ path: String, _ text: String) throws {
    try writeFileAtomically(path, Array(text.utf8))
}
