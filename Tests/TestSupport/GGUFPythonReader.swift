// An independent GGUF reader for the tests: Python's standard library (struct) parses the header, the
// metadata, the tensor table and the F32 tensor data of a GGUF v2/v3 file and prints them back.
import Foundation

public let pythonGGUFReader = #"""
    import sys, struct
    d = open(sys.argv[1], 'rb').read()
    pos = 0
    def take(fmt):
        global pos
        v = struct.unpack_from('<' + fmt, d, pos)[0]; pos += struct.calcsize('<' + fmt); return v
    def string():
        global pos
        n = take('Q'); s = d[pos:pos + n].decode('utf-8'); pos += n; return s
    assert d[:4] == b'GGUF', 'bad magic'
    pos = 4
    version = take('I'); nt = take('Q'); nkv = take('Q')
    scalar = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}
    def value(t):
        if t in scalar: return take(scalar[t])
        if t == 8: return string()
        if t == 9:
            et = take('I'); n = take('Q'); return [value(et) for _ in range(n)]
        raise Exception('bad value type %d' % t)
    print('version', version, nt, nkv)
    meta = {}
    for _ in range(nkv):
        k = string(); t = take('I'); v = value(t); meta[k] = v
        print('kv', k, t, len(v) if isinstance(v, list) else v)
    align = meta.get('general.alignment', 32)
    infos = []
    for _ in range(nt):
        name = string(); nd = take('I'); ne = [take('Q') for _ in range(nd)]; typ = take('I'); off = take('Q')
        infos.append((name, ne, typ, off))
    start = (pos + align - 1) // align * align
    for name, ne, typ, off in infos:
        n = 1
        for e in ne: n *= e
        assert typ == 0, 'tensor %s is not F32' % name
        assert off % align == 0 and start + off + 4 * n <= len(d), 'tensor %s outside the file' % name
        vals = struct.unpack_from('<%df' % n, d, start + off)
        print('tensor', name, ','.join(map(str, ne)), typ, ' '.join(repr(v) for v in vals))
    """#

public struct PythonGGUF: Sendable {
    public var version = 0, tensorCount = 0, metadataCount = 0
    /// key → (GGUF value type, the value as Python printed it; arrays as their length).
    public var metadata: [String: (type: Int, value: String)] = [:]
    /// In file order: name, ne[] (innermost first), ggml type, values.
    public var tensors: [(name: String, ne: [Int], type: Int, values: [Float])] = []
}

/// Reads `path` with the Python reader (F32 tensors only).
public func readGGUFWithPython(_ path: String) throws -> PythonGGUF {
    let r = try runProcess(try python3(), ["-c", pythonGGUFReader, path])
    guard r.status == 0 else { throw NSError(domain: "python GGUF reader: \(r.stderr)", code: Int(r.status)) }
    var g = PythonGGUF()
    for line in r.stdout.split(separator: "\n") {
        let f = line.split(separator: " ", maxSplits: 3).map(String.init)
        switch f.first {
        case "version": g.version = Int(f[1])!; g.tensorCount = Int(f[2])!; g.metadataCount = Int(f[3])!
        case "kv": g.metadata[f[1]] = (Int(f[2])!, f.count > 3 ? f[3] : "")
        case "tensor":
            let rest = f[3].split(separator: " ", maxSplits: 1).map(String.init)
            g.tensors.append(
                (
                    f[1], f[2].split(separator: ",").map { Int($0)! }, Int(rest[0])!,
                    rest.count > 1 ? rest[1].split(separator: " ").map { Float(String($0))! } : []
                ))
        default: break
        }
    }
    return g
}
