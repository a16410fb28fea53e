// An independent PNG reader for the tests: Python's standard library (zlib, struct) parses the chunks,
// checks every CRC, inflates IDAT, undoes the row filters and prints pixels back.
import Foundation
import XCTest

public let pythonPNGReader = #"""
    import sys, zlib, struct
    path = sys.argv[1]
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'bad signature'
    pos, idat, ihdr, types = 8, b'', None, []
    while pos < len(data):
        n, = struct.unpack('>I', data[pos:pos+4]); t = data[pos+4:pos+8]; body = data[pos+8:pos+8+n]
        crc, = struct.unpack('>I', data[pos+8+n:pos+12+n])
        assert zlib.crc32(t + body) & 0xffffffff == crc, 'bad CRC in ' + t.decode()
        types.append(t.decode())
        if t == b'IHDR': ihdr = struct.unpack('>IIBBBBB', body)
        elif t == b'IDAT': idat += body
        pos += 12 + n
    assert pos == len(data), 'trailing bytes'
    assert types[0] == 'IHDR' and types[-1] == 'IEND', types
    w, h, depth, ctype, comp, filt, inter = ihdr
    assert depth == 8 and ctype in (2, 6) and comp == 0 and filt == 0 and inter == 0, ihdr
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    assert len(raw) == h * (stride + 1), 'wrong inflated size'
    prev = bytearray(stride); rows = []; used = set()
    for y in range(h):
        f = raw[y * (stride + 1)]; line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        used.add(f)
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
            if f == 0: p = 0
            elif f == 1: p = a
            elif f == 2: p = b
            elif f == 3: p = (a + b) // 2
            elif f == 4:
                pp = a + b - c; pa = abs(pp - a); pb = abs(pp - b); pc = abs(pp - c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            else: raise Exception('bad filter type %d' % f)
            line[i] = (line[i] + p) & 255
        rows.append(line); prev = line
    print('size', w, h, bpp)
    print('chunks', ' '.join(types))
    print('filters', ''.join(str(f) for f in sorted(used)))
    for arg in sys.argv[2:]:
        pts = [(x, y) for y in range(h) for x in range(w)] if arg == 'all' else [tuple(map(int, arg.split(',')))]
        for x, y in pts: print('px', x, y, *rows[y][x * bpp:(x + 1) * bpp])
    """#

public struct DecodedPNG: Sendable {
    public var width = 0, height = 0, channels = 0
    public var chunks: [String] = []
    public var filters: Set<Int> = []
    public var pixels: [String: [Int]] = [:]  // "x,y" → channel values
    public func at(_ x: Int, _ y: Int) -> [Int]? { pixels["\(x),\(y)"] }
}

/// Decodes `path` with the Python reader; `points` are "x,y" strings or "all".
public func decodeWithPython(_ path: String, points: [String] = []) throws -> DecodedPNG {
    let r = try runProcess(try python3(), ["-c", pythonPNGReader, path] + points)
    guard r.status == 0 else { throw NSError(domain: "python PNG reader: \(r.stderr)", code: Int(r.status)) }
    var d = DecodedPNG()
    for line in r.stdout.split(separator: "\n") {
        let f = line.split(separator: " ").map(String.init)
        switch f.first {
        case "size": d.width = Int(f[1])!; d.height = Int(f[2])!; d.channels = Int(f[3])!
        case "chunks": d.chunks = Array(f.dropFirst())
        case "filters": d.filters = Set(f[1].map { Int(String($0))! })
        case "px": d.pixels["\(f[1]),\(f[2])"] = f.dropFirst(3).map { Int($0)! }
        default: break
        }
    }
    return d
}
