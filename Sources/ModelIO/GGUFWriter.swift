// GGUF v3 writer: metadata + tensors → one file, written atomically.
//
// Layout (ggml/docs/gguf.md; gguf-py's GGUFWriter writes the same), all little-endian:
//   u32 magic "GGUF" | u32 version = 3 | u64 tensor_count | u64 metadata_kv_count
//   metadata_kv_count × { gguf_string key | u32 value_type | value }
//   tensor_count      × { gguf_string name | u32 n_dims | u64 ne[n_dims] (innermost first) | u32 ggml_type
//                         | u64 offset (relative to the data section, a multiple of the alignment) }
//   zero padding to `general.alignment` | data section: each tensor's bytes, zero-padded to the alignment
// gguf_string = u64 byte length + UTF-8 bytes (no terminator).
// Arrays: u32 element type | u64 count | elements. GGUF allows arrays of arrays; the reader does not,
// so the writer refuses them too (nothing in a Llama file needs them).
import Foundation
import Numerics
#if canImport(Glibc)
import Glibc
#endif

public final class GGUFWriter {
    public struct Tensor {
        public let name: String
        public let type: TensorType
        /// PyTorch order, outermost first ([out, in]); written reversed as ggml's ne[].
        public let shape: [Int]
        public let byteCount: Int
        /// Hands the tensor's `byteCount` bytes to `write`, in order (StreamedTensor in Safetensors.swift).
        let produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    }

    /// The path the file will be written to (named in errors).
    public let path: String
    public private(set) var alignment: Int
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    public private(set) var tensors: [Tensor] = []

    /// `alignment` (a power of two) is stored as `general.alignment` and used for every tensor's offset.
    public init(path: String, alignment: Int = 32) throws {
        self.path = path
        self.alignment = 32
        try set("general.alignment", .uint32(UInt32(clamping: alignment)))
        guard self.alignment == alignment else {
            throw FileError(path, "general.alignment \(alignment) must be a power of two below 2^32")
        }
    }

    // ------------------------------------------------------------------------
    // Metadata

    /// Sets a metadata key (replacing an earlier value; keys keep their first insertion order).
    /// Setting `general.alignment` changes the alignment of the tensor data.
    public func set(_ key: String, _ value: GGUFValue) throws {
        try checkValue(value, key: key, nested: false)
        if key == "general.alignment" {
            guard let a = value.int, a > 0, a & (a - 1) == 0, a <= Int(UInt32.max) else {
                throw FileError(path, "general.alignment \(value) must be a positive power of two")
            }
            alignment = a
        }
        if let i = metadata.firstIndex(where: { $0.key == key }) {
            metadata[i].value = value
        } else {
            metadata.append((key, value))
        }
    }

    private func checkValue(_ v: GGUFValue, key: String, nested: Bool) throws {
        guard case .array(let a) = v else { return }
        guard !nested else { throw FileError(path, "metadata '\(key)': arrays of arrays are not supported") }
        if let first = a.first {
            let t = valueType(first)
            guard a.allSatisfy({ valueType($0) == t }) else {
                throw FileError(path, "metadata '\(key)': array elements must all have the same type")
            }
            try checkValue(first, key: key, nested: true)
        }
    }

    // ------------------------------------------------------------------------
    // Tensors

    /// Adds a tensor from raw ggml-layout bytes; `shape` is PyTorch order (outermost first).
    public func addTensor(name: String, type: TensorType, shape: [Int], bytes: [UInt8]) throws {
        try addTensor(name: name, type: type, shape: shape, byteCount: bytes.count) { write in
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    /// Adds a tensor whose `byteCount` bytes `produce` hands over while the file is written: files larger than
    /// memory (a 7B model of random weights). A producer that hands another count fails `write()`.
    public func addTensor(
        name: String, type: TensorType, shape: [Int], byteCount: Int,
        produce: @escaping (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        guard !tensors.contains(where: { $0.name == name }) else {
            throw FileError(path, "duplicate tensor name '\(name)'")
        }
        guard (1...4).contains(shape.count), shape.allSatisfy({ $0 >= 0 }) else {
            throw FileError(path, "tensor '\(name)' has an invalid shape \(shape) (1 to 4 dimensions >= 0)")
        }
        let (be, bb) = type.blockLayout
        guard shape.last! % be == 0 else {
            throw FileError(
                path,
                "tensor '\(name)' rows of \(shape.last!) values are not a multiple of the "
                    + "\(type) block size \(be)")
        }
        var count = 1
        for d in shape {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw FileError(path, "tensor '\(name)' shape \(shape) overflows") }
            count = p
        }
        guard count / be * bb == byteCount else {
            throw FileError(
                path,
                "tensor '\(name)' \(type) \(shape) needs \(count / be * bb) bytes, "
                    + "got \(byteCount)")
        }
        tensors.append(Tensor(name: name, type: type, shape: shape, byteCount: byteCount, produce: produce))
    }

    public func addTensor(name: String, type: TensorType, shape: [Int], bytes: UnsafeRawBufferPointer) throws {
        try addTensor(name: name, type: type, shape: shape, bytes: [UInt8](bytes))
    }

    /// Adds fp32 values stored as `storage` (.f32, .f16 or .bf16; fp16 and bf16 round to nearest-even).
    public func addTensor(name: String, floats: [Float], shape: [Int], storage: TensorType = .f32) throws {
        var bytes: [UInt8]
        switch storage {
        case .f32:
            bytes = floats.withUnsafeBytes { [UInt8]($0) }
        case .f16:
            bytes = floats.map { Float16($0).bitPattern }.withUnsafeBytes { [UInt8]($0) }
        case .bf16:
            bytes = floats.map { floatToBF16($0) }.withUnsafeBytes { [UInt8]($0) }
        default:
            throw FileError(path, "tensor '\(name)': addTensor(floats:) stores F32, F16 or BF16, not \(storage)")
        }
        #if _endian(big)
        #error("GGUF is little-endian; byte-swap here on a big-endian host")
        #endif
        try addTensor(name: name, type: storage, shape: shape, bytes: bytes)
    }

    /// fp16 convenience: `addTensor(name:floats:shape:storage: .f16)`.
    public func addTensorF16(name: String, floats: [Float], shape: [Int]) throws {
        try addTensor(name: name, floats: floats, shape: shape, storage: .f16)
    }

    // ------------------------------------------------------------------------
    // Serialization

    /// The whole file's bytes (small files and tests; `write()` streams).
    public func serialize() throws -> [UInt8] {
        var out = [UInt8]()
        try emit { out.append(contentsOf: $0) }
        return out
    }

    /// Writes the file atomically (a temporary file in the same directory, then rename), streaming the tensors.
    public func write() throws {
        try writeFileAtomically(path) { write in try emit(write) }
    }

    /// The header, then each tensor's bytes padded to the alignment, handed to `write` in order.
    private func emit(_ write: (UnsafeRawBufferPointer) throws -> Void) throws {
        var out = [UInt8]()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: s.utf8) }
        func value(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): out.append(x)
            case .int8(let x): out.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .uint32(let x): u32(x)
            case .int32(let x): u32(UInt32(bitPattern: x))
            case .uint64(let x): u64(x)
            case .int64(let x): u64(UInt64(bitPattern: x))
            case .float32(let x): u32(x.bitPattern)
            case .float64(let x): u64(x.bitPattern)
            case .bool(let x): out.append(x ? 1 : 0)
            case .string(let s): string(s)
            case .array(let a):
                // An empty array has no element to take a type from; gguf-py writes such arrays with
                // its default type, and any type reads back as [].
                u32(a.first.map(valueType) ?? valueType(.uint8(0)))
                u64(UInt64(a.count))
                for e in a { value(e) }
            }
        }
        let zeros = [UInt8](repeating: 0, count: alignment)
        func padding(_ n: Int) -> Int { (alignment - n % alignment) % alignment }

        u32(0x4655_4747)  // "GGUF" read as a little-endian u32
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (k, v) in metadata { string(k); u32(valueType(v)); value(v) }
        var offset = 0
        for t in tensors {
            string(t.name)
            u32(UInt32(t.shape.count))
            for d in t.shape.reversed() { u64(UInt64(d)) }  // ggml's ne[]: innermost first
            u32(t.type.rawValue)
            u64(UInt64(offset))
            offset += t.byteCount + padding(t.byteCount)
        }
        out.append(contentsOf: zeros[0..<padding(out.count)])
        try out.withUnsafeBytes { try write($0) }
        for t in tensors {
            try writeCounted(t.name, t.byteCount, path, t.produce, write)
            try zeros.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<padding(t.byteCount)])) }
        }
    }
}

/// GGUF value type ids (gguf.md: GGUF_TYPE_UINT8 = 0 … GGUF_TYPE_FLOAT64 = 12).
private func valueType(_ v: GGUFValue) -> UInt32 {
    switch v {
    case .uint8: 0;
    case .int8: 1;
    case .uint16: 2;
    case .int16: 3;
    case .uint32: 4;
    case .int32: 5
    case .float32: 6;
    case .bool: 7;
    case .string: 8;
    case .array: 9;
    case .uint64: 10;
    case .int64: 11
    case .float64: 12
    }
}
