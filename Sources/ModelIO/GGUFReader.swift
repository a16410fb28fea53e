// GGUF v2/v3 reader (ggml's single-file model format), memory-mapped.
//
// Layout (little-endian; see ggml/docs/gguf.md):
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv × { string key | u32 value_type | value }
//   n_tensors × { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   padding to general.alignment (default 32) | tensor data (offsets relative to here)
// where string = u64 length + UTF-8 bytes, and ne[] lists the innermost dimension first.
// Every count, length and offset is checked against the file before it is used.

public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: Int
    public let metadata: [String: GGUFValue]
    /// Tensors by name; shapes are outermost-first (ne reversed), so a Linear weight is [out, in].
    public let tensors: [String: TensorInfo]
    /// Tensor names in file order.
    public let tensorNames: [String]
    public let file: MappedFile

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        path = file.path
        var r = ByteReader(file: file)
        guard file.size >= 24 else { throw FileError(path, "not a GGUF file (only \(file.size) bytes)") }
        let magic = try r.bytes(4)
        guard Array(magic) == Array("GGUF".utf8) else { throw FileError(path, "not a GGUF file (bad magic)") }
        let v = Int(try r.u32())
        guard v == 2 || v == 3 else {
            throw FileError(path, "unsupported GGUF version \(v) (2 and 3 are supported)")
        }
        version = v
        let nTensors = try r.u64(), nKV = try r.u64()
        // Each entry takes at least 8+4 bytes (KV) or 8+4+4+8 bytes (tensor): a count beyond that is corrupt.
        guard nKV <= UInt64(file.size / 12), nTensors <= UInt64(file.size / 24) else {
            throw FileError(
                path,
                "header claims \(nTensors) tensors and \(nKV) metadata entries, too many for a \(file.size)-byte file (truncated or corrupt)"
            )
        }

        var meta: [String: GGUFValue] = [:]
        for _ in 0..<Int(nKV) {
            let key = try r.string()
            let type = try r.u32()
            meta[key] = try r.value(type: type, key: key)
        }
        metadata = meta

        var alignment = 32
        if let a = meta["general.alignment"] {
            guard let ai = a.int, ai > 0, ai & (ai - 1) == 0 else {
                throw FileError(path, "general.alignment must be a power of two")
            }
            alignment = ai
        }

        struct Raw { let name: String; let ne: [Int]; let type: TensorType; let offset: Int }
        var raws: [Raw] = []
        raws.reserveCapacity(Int(nTensors))
        for _ in 0..<Int(nTensors) {
            let name = try r.string()
            let nDims = Int(try r.u32())
            guard (1...4).contains(nDims) else {
                throw FileError(path, "tensor '\(name)' has \(nDims) dimensions (1 to 4 allowed)")
            }
            var ne: [Int] = []
            for _ in 0..<nDims {
                let d = try r.u64()
                guard d <= UInt64(Int32.max) else {
                    throw FileError(path, "tensor '\(name)' has an impossible dimension \(d)")
                }
                ne.append(Int(d))
            }
            let rawType = try r.u32()
            guard let type = TensorType(rawValue: rawType) else {
                throw FileError(path, "tensor '\(name)' has unknown tensor type \(rawType)")
            }
            let off = try r.u64()
            guard off <= UInt64(file.size) else {
                throw FileError(
                    path,
                    "tensor '\(name)' offset \(off) is past the end of the file (\(file.size) bytes): the file is truncated"
                )
            }
            raws.append(Raw(name: name, ne: ne, type: type, offset: Int(off)))
        }
        let dataStart = (r.pos + alignment - 1) / alignment * alignment

        var ts: [String: TensorInfo] = [:]
        var names: [String] = []
        for t in raws {
            var count = 1
            for d in t.ne {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o, p <= Int(UInt32.max) * 16 else {
                    throw FileError(path, "tensor '\(t.name)' is impossibly large")
                }
                count = p
            }
            let (blockElems, blockBytes) = t.type.blockLayout
            guard t.ne[0] % blockElems == 0 else {
                throw FileError(
                    path,
                    "tensor '\(t.name)' row of \(t.ne[0]) values is not a multiple of the \(t.type) block size \(blockElems)"
                )
            }
            let bytes = count / blockElems * blockBytes
            let start = dataStart + t.offset
            guard start + bytes <= file.size else {
                throw FileError(
                    path,
                    "tensor '\(t.name)' (\(bytes) bytes at offset \(start)) runs past the end of the file (\(file.size) bytes): the file is truncated"
                )
            }
            guard ts[t.name] == nil else { throw FileError(path, "duplicate tensor name '\(t.name)'") }
            ts[t.name] = TensorInfo(
                name: t.name, type: t.type, shape: t.ne.reversed(), data: file.base + start,
                byteCount: bytes, owner: file, file: path)
            names.append(t.name)
        }
        tensors = ts
        tensorNames = names
    }

    public func tensor(_ name: String) throws -> TensorInfo {
        guard let t = tensors[name] else { throw FileError(path, "missing tensor '\(name)'") }
        return t
    }
}

/// Bounds-checked little-endian cursor over a mapped file.
struct ByteReader {
    let file: MappedFile
    var pos = 0
    init(file: MappedFile) { self.file = file }

    private func need(_ n: Int) throws {
        guard n >= 0, pos <= file.size - n else {
            throw FileError(file.path, "unexpected end of file at byte \(pos) (file is truncated or corrupt)")
        }
    }
    mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        try need(n)
        defer { pos += n }
        return UnsafeRawBufferPointer(start: file.base + pos, count: n)
    }
    mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        try need(MemoryLayout<T>.size)
        defer { pos += MemoryLayout<T>.size }
        return T(littleEndian: file.base.loadUnaligned(fromByteOffset: pos, as: T.self))
    }
    mutating func u32() throws -> UInt32 { try load(UInt32.self) }
    mutating func u64() throws -> UInt64 { try load(UInt64.self) }
    mutating func string() throws -> String {
        let n = try u64()
        guard n <= UInt64(file.size - pos) else {
            throw FileError(file.path, "string length \(n) at byte \(pos) runs past the end of the file")
        }
        return String(decoding: try bytes(Int(n)), as: UTF8.self)
    }

    mutating func value(type: UInt32, key: String, depth: Int = 0) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try load(UInt8.self))
        case 1: return .int8(try load(Int8.self))
        case 2: return .uint16(try load(UInt16.self))
        case 3: return .int16(try load(Int16.self))
        case 4: return .uint32(try load(UInt32.self))
        case 5: return .int32(try load(Int32.self))
        case 6: return .float32(Float(bitPattern: try load(UInt32.self)))
        case 7:
            let b = try load(UInt8.self)
            guard b <= 1 else { throw FileError(file.path, "metadata '\(key)': invalid bool \(b)") }
            return .bool(b == 1)
        case 8: return .string(try string())
        case 9:
            guard depth == 0 else {
                throw FileError(file.path, "metadata '\(key)': nested arrays are not supported")
            }
            let et = try u32()
            let n = try u64()
            guard n <= UInt64(file.size - pos) else {
                throw FileError(file.path, "metadata '\(key)': array of \(n) elements runs past the end of the file")
            }
            var a: [GGUFValue] = []
            a.reserveCapacity(Int(n))
            for _ in 0..<Int(n) { a.append(try value(type: et, key: key, depth: depth + 1)) }
            return .array(a)
        case 10: return .uint64(try load(UInt64.self))
        case 11: return .int64(try load(Int64.self))
        case 12: return .float64(Double(bitPattern: try load(UInt64.self)))
        default: throw FileError(file.path, "metadata '\(key)' has unknown value type \(type)")
        }
    }
}
