// Safetensors: reader (single file and sharded Hugging Face folders) and writer.
//
// Format (huggingface/safetensors, README "Format"):
//   u64 N (little-endian) | N bytes of UTF-8 JSON header | data section (the rest of the file)
//   header = { "__metadata__": { str: str }  (optional),
//              "<name>": { "dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end] }, ... }
//   data_offsets are byte offsets relative to the start of the data section; end - begin must equal
//   product(shape) * sizeof(dtype); tensors are stored row-major (C order), little-endian.
// The header may be padded with trailing spaces (the reference writer pads to 8 bytes so that the data
// section, and every tensor in it, is aligned).
//
// Every number read from the file is checked before it is used to form a pointer.
import Foundation
import Numerics

// ----------------------------------------------------------------------------
// dtypes

/// The safetensors dtype strings irm maps to storage types (all others are rejected by name).
private let safetensorsDTypes: [String: TensorType] = ["F32": .f32, "F16": .f16, "BF16": .bf16]

private func safetensorsDType(_ t: TensorType) -> String? {
    switch t {
    case .f32: "F32";
    case .f16: "F16";
    case .bf16: "BF16";
    default: nil
    }
}

// ----------------------------------------------------------------------------
// Reader

public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    public let file: MappedFile
    /// name → tensor view into the mapping (zero-copy), shape outermost first as stored.
    public let tensors: [String: TensorInfo]
    /// Tensor names in data order (ascending begin offset).
    public let tensorNames: [String]
    /// The header's `__metadata__` (empty when absent).
    public let metadata: [String: String]

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        self.file = file
        let size = file.size

        // Header length: 8 bytes, then the JSON must fit inside the file.
        guard size >= 8 else {
            throw FileError(path, "not a safetensors file: \(size) bytes, too short for the 8-byte header length")
        }
        let n = file.base.loadUnaligned(as: UInt64.self).littleEndian
        guard n <= UInt64(size - 8) else {
            throw FileError(
                path,
                "header length \(n) runs past the end of the file (\(size) bytes): "
                    + "not a safetensors file, or truncated")
        }
        let headerLength = Int(n)
        let dataStart = 8 + headerLength, dataSize = size - dataStart

        let headerData = Data(bytes: file.base + 8, count: headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerData)
        } catch {
            throw FileError(path, "header (\(headerLength) bytes) is not valid JSON")
        }
        guard let header = json as? [String: Any] else {
            throw FileError(path, "header is not a JSON object")
        }

        var meta: [String: String] = [:]
        var ts: [String: TensorInfo] = [:]
        var order: [(begin: Int, name: String)] = []
        for (name, entry) in header {
            if name == "__metadata__" {
                guard let m = entry as? [String: Any] else {
                    throw FileError(path, "__metadata__ is not a JSON object")
                }
                for (k, v) in m {
                    guard let s = v as? String else {
                        throw FileError(path, "__metadata__ value for '\(k)' is not a string")
                    }
                    meta[k] = s
                }
                continue
            }
            let what = "tensor '\(name)'"
            guard let e = entry as? [String: Any] else {
                throw FileError(path, "\(what) entry is not a JSON object")
            }
            guard let dtypeName = e["dtype"] as? String else { throw FileError(path, "\(what) has no dtype") }
            guard let type = safetensorsDTypes[dtypeName] else {
                throw FileError(
                    path, "\(what) has dtype \(dtypeName), which irm does not read (F32, F16 and BF16 only)")
            }
            guard let shape = jsonInts(e["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw FileError(path, "\(what) has a missing or invalid shape")
            }
            guard let offs = jsonInts(e["data_offsets"]), offs.count == 2, offs[0] >= 0, offs[1] >= 0 else {
                throw FileError(path, "\(what) has missing or invalid data_offsets")
            }
            let begin = offs[0], end = offs[1]
            guard begin <= end else {
                throw FileError(path, "\(what) data_offsets [\(begin), \(end)] end before they begin")
            }
            guard end <= dataSize else {
                throw FileError(
                    path,
                    "\(what) data_offsets [\(begin), \(end)] run past the end of the file "
                        + "(\(dataSize) bytes of data): truncated or corrupt")
            }
            var bytes = type.blockLayout.bytes
            for d in shape {
                let (p, o) = bytes.multipliedReportingOverflow(by: d)
                guard !o else { throw FileError(path, "\(what) shape \(shape) overflows") }
                bytes = p
            }
            guard end - begin == bytes else {
                throw FileError(
                    path,
                    "\(what) \(dtypeName) \(shape) needs \(bytes) bytes but data_offsets "
                        + "[\(begin), \(end)] hold \(end - begin)")
            }
            ts[name] = TensorInfo(
                name: name, type: type, shape: shape, data: file.base + dataStart + begin,
                byteCount: bytes, owner: file, file: path)
            order.append((begin, name))
        }
        tensors = ts
        tensorNames = order.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }.map(\.name)
        metadata = meta
    }

    public func tensor(_ name: String) throws -> TensorInfo {
        guard let t = tensors[name] else { throw FileError(path, "missing tensor '\(name)'") }
        return t
    }

    /// Tensor `t` of this file as fp32 into `dst` (t.elementCount floats). F32 data is read with pread, not
    /// through the mapping, so that loading a large checkpoint does not also hold the file's pages resident.
    public func readFloats(_ t: TensorInfo, into dst: UnsafeMutablePointer<Float>) throws {
        guard t.type == .f32 else {
            let b = try dequantize(t)
            dst.update(from: b.ptr, count: b.count)
            return
        }
        // From the file with pread, so that the mapping's pages never count twice in the resident set; a file
        // given as bytes (a fuzz input) has no disk file behind it.
        if file.inMemory {
            UnsafeMutableRawPointer(dst).copyMemory(from: t.data, byteCount: t.byteCount)
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let start = t.data - file.base
        var done = 0
        while done < t.byteCount {
            let n = pread(fd, UnsafeMutableRawPointer(dst) + done, t.byteCount - done, off_t(start + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw FileError(
                    path,
                    "tensor '\(t.name)': read failed (\(n < 0 ? String(cString: strerror(errno)) : "file shrank"))")
            }
            done += n
        }
    }
}

/// A JSON array of integers (nil if anything is not an exact integer; `true`/`false` are not integers).
private func jsonInts(_ v: Any?) -> [Int]? {
    guard let a = v as? [Any] else { return nil }
    var out: [Int] = []
    for x in a {
        // Foundation hands JSON numbers and booleans over as NSNumber; booleans report objCType "c".
        guard let n = x as? NSNumber, String(cString: n.objCType) != "c", let i = x as? Int else { return nil }
        out.append(i)
    }
    return out
}

/// Tensors of a Hugging Face model folder: `model.safetensors`, or the shards that
/// `model.safetensors.index.json`'s `weight_map` lists (tensor name → shard file in the same folder).
/// Every shard must exist and hold every tensor the index assigns to it.
public func loadSafetensorsFolder(_ dir: String) throws -> [String: TensorInfo] {
    let fm = FileManager.default
    let indexPath = dir + "/model.safetensors.index.json"
    let singlePath = dir + "/model.safetensors"
    guard fm.fileExists(atPath: indexPath) else {
        guard fm.fileExists(atPath: singlePath) else {
            throw FileError(dir, "no model.safetensors or model.safetensors.index.json in this folder")
        }
        return try SafetensorsFile(path: singlePath).tensors
    }

    guard let data = fm.contents(atPath: indexPath) else { throw FileError(indexPath, "cannot read the file") }
    guard let json = try? JSONSerialization.jsonObject(with: data), let index = json as? [String: Any] else {
        throw FileError(indexPath, "not valid JSON")
    }
    guard let weightMap = index["weight_map"] as? [String: Any] else {
        throw FileError(indexPath, "no weight_map object")
    }
    var byShard: [String: [String]] = [:]
    for (tensor, shard) in weightMap {
        guard let s = shard as? String else {
            throw FileError(indexPath, "weight_map entry for '\(tensor)' is not a file name")
        }
        // Shards live beside the index; a path would let a downloaded index read any file.
        guard !s.isEmpty, !s.contains("/"), s != "..", s != "." else {
            throw FileError(indexPath, "weight_map entry for '\(tensor)' names '\(s)', not a file in this folder")
        }
        byShard[s, default: []].append(tensor)
    }
    var out: [String: TensorInfo] = [:]
    for (shard, names) in byShard.sorted(by: { $0.key < $1.key }) {
        let shardPath = dir + "/" + shard
        guard fm.fileExists(atPath: shardPath) else {
            throw FileError(indexPath, "shard '\(shard)' (listed for tensor '\(names.sorted()[0])') is missing")
        }
        let f = try SafetensorsFile(path: shardPath)
        for name in names.sorted() {
            guard let t = f.tensors[name] else {
                throw FileError(
                    shardPath,
                    "tensor '\(name)', which model.safetensors.index.json places in this "
                        + "shard, is not in it")
            }
            out[name] = t
        }
    }
    return out
}

// ----------------------------------------------------------------------------
// Writer

/// Writes a safetensors file atomically (temporary file in the same folder, then rename).
/// Header keys are sorted (`__metadata__` with them), the header is padded with spaces to a multiple of
/// 8 bytes, and tensors are laid out by descending element size then name, without gaps, so every
/// tensor is aligned to its element size (as the reference Python writer does).
/// `shape` is outermost first; `bytes` are little-endian row-major.
public func writeSafetensors(
    path: String,
    tensors: [(name: String, type: TensorType, shape: [Int], bytes: [UInt8])],
    metadata: [String: String] = [:]
) throws {
    // One buffer for all tensors, so that the writer below can see them all at once.
    var all = [UInt8]()
    all.reserveCapacity(tensors.reduce(0) { $0 + $1.bytes.count })
    var starts: [Int] = []
    for t in tensors { starts.append(all.count); all.append(contentsOf: t.bytes) }
    try all.withUnsafeBytes { buf in
        try writeSafetensors(
            path: path,
            rawTensors: tensors.enumerated().map { i, t in
                (t.name, t.type, t.shape, UnsafeRawBufferPointer(rebasing: buf[starts[i]..<starts[i] + t.bytes.count]))
            }, metadata: metadata)
    }
}

/// The same from memory the caller owns (e.g. a model's parameter buffer), streamed to the file without a
/// copy: a checkpoint of a large IRM costs no memory beyond the IRM itself.
public func writeSafetensors(
    path: String,
    rawTensors tensors: [(name: String, type: TensorType, shape: [Int], data: UnsafeRawBufferPointer)],
    metadata: [String: String] = [:]
) throws {
    try writeSafetensors(
        path: path,
        streamed: tensors.map { t in
            StreamedTensor(name: t.name, type: t.type, shape: t.shape, byteCount: t.data.count) { write in
                try write(t.data)
            }
        }, metadata: metadata)
}

/// A tensor whose bytes are produced while the file is written (`produce` hands exactly `byteCount` bytes to
/// `write`, in order): files larger than memory, such as a 13 GB model made of random weights.
public struct StreamedTensor {
    public let name: String, type: TensorType, shape: [Int], byteCount: Int
    public let produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    public init(
        name: String, type: TensorType, shape: [Int], byteCount: Int,
        produce: @escaping (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) {
        self.name = name; self.type = type; self.shape = shape; self.byteCount = byteCount; self.produce = produce
    }
}

/// The same with each tensor's bytes produced as it is written; a producer that hands the wrong number of
/// bytes fails the write (the old file stays).
public func writeSafetensors(path: String, streamed tensors: [StreamedTensor], metadata: [String: String] = [:]) throws
{
    var seen = Set<String>()
    for t in tensors {
        guard t.name != "__metadata__" else { throw FileError(path, "'__metadata__' cannot be a tensor name") }
        guard seen.insert(t.name).inserted else { throw FileError(path, "duplicate tensor name '\(t.name)'") }
        guard safetensorsDType(t.type) != nil else {
            throw FileError(
                path, "tensor '\(t.name)' is \(t.type); safetensors files are written as F32, F16 or BF16")
        }
        guard t.shape.allSatisfy({ $0 >= 0 }) else {
            throw FileError(path, "tensor '\(t.name)' has an invalid shape \(t.shape)")
        }
        var n = t.type.blockLayout.bytes
        for d in t.shape {
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o else { throw FileError(path, "tensor '\(t.name)' shape \(t.shape) overflows") }
            n = p
        }
        guard n == t.byteCount else {
            throw FileError(path, "tensor '\(t.name)' \(t.type) \(t.shape) needs \(n) bytes, got \(t.byteCount)")
        }
    }

    let ordered = tensors.sorted {
        ($0.type.blockLayout.bytes, $1.name) > ($1.type.blockLayout.bytes, $0.name)
    }
    var entries: [(key: String, json: String)] = []
    if !metadata.isEmpty {
        let m = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
        entries.append(("__metadata__", "{" + m.joined(separator: ",") + "}"))
    }
    var offset = 0
    for t in ordered {
        let shape = t.shape.map(String.init).joined(separator: ",")
        entries.append(
            (
                t.name,
                "{\"dtype\":\"\(safetensorsDType(t.type)!)\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(offset),\(offset + t.byteCount)]}"
            ))
        offset += t.byteCount
    }
    // Keys sorted by their UTF-8 bytes, as Python's json.dumps(sort_keys=True) does for ASCII names.
    entries.sort { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
    var header = Array(("{" + entries.map { "\(jsonString($0.key)):\($0.json)" }.joined(separator: ",") + "}").utf8)
    while header.count % 8 != 0 { header.append(0x20) }

    var prefix = [UInt8]()
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { prefix.append(contentsOf: $0) }
    prefix.append(contentsOf: header)
    try writeFileAtomically(path) { write in
        try prefix.withUnsafeBytes { try write($0) }
        for t in ordered where t.byteCount > 0 { try writeCounted(t.name, t.byteCount, path, t.produce, write) }
    }
}

/// Runs a tensor's producer, passing its bytes on, and fails unless it handed exactly `count` of them.
func writeCounted(
    _ name: String, _ count: Int, _ path: String,
    _ produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void,
    _ write: (UnsafeRawBufferPointer) throws -> Void
) throws {
    var written = 0
    try withoutActuallyEscaping(write) { write in
        try produce { chunk in
            guard written + chunk.count <= count else {
                throw FileError(path, "tensor '\(name)': its producer wrote more than its \(count) bytes")
            }
            written += chunk.count
            try write(chunk)
        }
    }
    guard written == count else {
        throw FileError(path, "tensor '\(name)': its producer wrote \(written) of its \(count) bytes")
    }
}

/// fp32 convenience: each tensor's values stored as `storage` (.f32, .f16 or .bf16, rounded to nearest-even).
public func writeSafetensors(
    path: String, floatTensors: [(name: String, shape: [Int], values: [Float])],
    storage: TensorType = .f32, metadata: [String: String] = [:]
) throws {
    let converted: [(name: String, type: TensorType, shape: [Int], bytes: [UInt8])] = try floatTensors.map { t in
        let bytes: [UInt8]
        switch storage {
        case .f32: bytes = t.values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { [UInt8]($0) }
        case .f16: bytes = t.values.map { Float16($0).bitPattern.littleEndian }.withUnsafeBytes { [UInt8]($0) }
        case .bf16: bytes = t.values.map { floatToBF16($0).littleEndian }.withUnsafeBytes { [UInt8]($0) }
        default: throw FileError(path, "safetensors files are written as F32, F16 or BF16, not \(storage)")
        }
        return (t.name, storage, t.shape, bytes)
    }
    try writeSafetensors(path: path, tensors: converted, metadata: metadata)
}
