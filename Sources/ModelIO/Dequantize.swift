// Dequantization of ggml tensor types to fp32, and conversion of a TensorInfo into a kernel `Weight`.
//
// The block decoders are Numerics' (QuantBlocks.swift), shared with the kernels that keep weights
// quantized; they are bit for bit ggml's reference `dequantize_row_*` and gguf-py's numpy `gguf/quants.py`
// (the tests compare against numpy bit for bit).
import Numerics

extension TensorType {
    /// The ggml block format of a quantized type that irm decodes (nil for the float types and the others).
    public var blockFormat: BlockFormat? {
        switch self {
        case .q4_0: .q4_0;
        case .q4_1: .q4_1;
        case .q5_0: .q5_0;
        case .q5_1: .q5_1;
        case .q8_0: .q8_0
        case .q4_K: .q4_K;
        case .q5_K: .q5_K;
        case .q6_K: .q6_K
        default: nil
        }
    }
    /// The file type of a kernel weight type (every WeightType is one of ggml's).
    public init(_ w: WeightType) {
        switch w {
        case .f32: self = .f32;
        case .f16: self = .f16;
        case .bf16: self = .bf16;
        case .q8_0: self = .q8_0
        case .q4_0: self = .q4_0;
        case .q4_1: self = .q4_1;
        case .q4_K: self = .q4_K;
        case .q5_K: self = .q5_K
        case .q6_K: self = .q6_K
        }
    }
    /// The same type as a kernel weight type, when the kernels take it as it is stored.
    public var weightType: WeightType? {
        switch self {
        case .f32: .f32;
        case .f16: .f16;
        case .bf16: .bf16
        default: blockFormat.flatMap { f in WeightType.allCases.first { $0.blockFormat == f } }
        }
    }
}

// ----------------------------------------------------------------------------
// Rows

/// The types `dequantizeRow` understands.
public let dequantizableTypes: [TensorType] = [
    .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
    .q4_K, .q5_K, .q6_K
]

/// Dequantizes `n` consecutive weights (a multiple of `type`'s block size) from `src` into `dst`.
/// The caller has checked the type is in `dequantizableTypes` and that `src` holds the blocks.
public func dequantizeRow(
    _ type: TensorType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>,
    _ n: Int
) {
    switch type {
    case .f32:
        dst.update(from: src.assumingMemoryBound(to: Float.self), count: n)  // memcpy: alignment-agnostic
    case .f16:
        for i in 0..<n {
            dst[i] = Float(Float16(bitPattern: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    case .bf16:
        for i in 0..<n { dst[i] = bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
    default:
        guard let f = type.blockFormat else { preconditionFailure("dequantizeRow: \(type) is not supported") }
        dequantizeBlocks(f, src, dst, n)
    }
}

// ----------------------------------------------------------------------------
// Checked tensor geometry

/// A tensor seen as rows × cols (cols = innermost dimension, in which ggml packs its blocks).
struct TensorGeometry {
    let rows: Int, cols: Int, rowBytes: Int
}

/// Checks everything a dequantizer relies on: a supported type, non-negative dimensions without
/// overflow, rows made of whole blocks, and a byte count that matches the shape exactly.
func checkedGeometry(_ t: TensorInfo) throws -> TensorGeometry {
    let what = "tensor '\(t.name)'"
    guard dequantizableTypes.contains(t.type) else {
        throw FileError(
            t.file,
            "\(what) has type \(t.type), which irm cannot dequantize "
                + "(supported: \(dequantizableTypes.map(\.description).joined(separator: ", ")))")
    }
    guard !t.shape.isEmpty, t.shape.allSatisfy({ $0 >= 0 }) else {
        throw FileError(t.file, "\(what) has an invalid shape \(t.shape)")
    }
    let cols = t.shape[t.shape.count - 1]
    var rows = 1
    for d in t.shape.dropLast() {
        let (r, o) = rows.multipliedReportingOverflow(by: d)
        guard !o else { throw FileError(t.file, "\(what) shape \(t.shape) overflows") }
        rows = r
    }
    let (be, bb) = t.type.blockLayout
    guard cols % be == 0 else {
        throw FileError(
            t.file,
            "\(what) \(t.type) rows of \(cols) elements are not a multiple of the "
                + "block size \(be)")
    }
    let rowBytes = cols / be * bb
    let (total, o) = rows.multipliedReportingOverflow(by: rowBytes)
    guard !o, total == t.byteCount else {
        throw FileError(
            t.file,
            "\(what) \(t.type) \(t.shape) needs \(o ? "too many" : String(total)) bytes "
                + "but has \(t.byteCount)")
    }
    return TensorGeometry(rows: rows, cols: cols, rowBytes: rowBytes)
}

// ----------------------------------------------------------------------------
// Public conversions

/// All elements of `t` as fp32 (row-major in `t.shape`), dequantized in parallel over rows.
public func dequantize(_ t: TensorInfo) throws -> FloatBuffer {
    let g = try checkedGeometry(t)
    let out = FloatBuffer(count: g.rows * g.cols)
    let src = SendableConstPointer(t.data.assumingMemoryBound(to: UInt8.self)), dst = SendablePointer(out.ptr)
    let type = t.type
    // Small tensors (norm weights) run inline: parallelRanges splits by rows, so a 1-row tensor is one call.
    parallelRanges(g.rows) { range in
        for r in range {
            dequantizeRow(type, UnsafeRawPointer(src.p) + r * g.rowBytes, dst.p + r * g.cols, g.cols)
        }
    }
    withExtendedLifetime(t.owner) {}
    return out
}

/// A 2-D tensor [rows, cols] as a kernel `Weight` stored as `storage`.
///
/// Zero-copy (a view into the file, kept alive by `t.owner`) when the tensor is already stored as
/// `storage` and suitably aligned; otherwise dequantized or converted row by row into a new buffer.
/// fp16 conversion rounds to nearest-even (Swift's Float16 init, like F16C and ggml's
/// GGML_FP32_TO_FP16); bf16 uses `floatToBF16` (round-to-nearest-even, as PyTorch). A quantized
/// `storage` must be the tensor's own type (weights are not quantized at load).
public func makeWeight(_ t: TensorInfo, storage: WeightType) throws -> Weight {
    guard t.shape.count == 2 else {
        throw FileError(t.file, "tensor '\(t.name)' should be a 2-D matrix but has shape \(t.shape)")
    }
    let g = try checkedGeometry(t)
    let rows = g.rows, cols = g.cols

    // Float kernels load elements with typed pointers; a view must be aligned to the element size
    // (a safetensors file need not pad its header to 8 bytes). Block decoders read unaligned.
    if t.type.weightType == storage
        && (storage.isQuantized || Int(bitPattern: t.data) % storage.byteSize == 0)
    {
        return Weight(rows: rows, cols: cols, type: storage, base: t.data, owner: t.owner)
    }
    if storage.isQuantized {
        throw FileError(t.file, "tensor '\(t.name)' is \(t.type); it cannot be kept as \(storage.rawValue)")
    }

    let src = SendableConstPointer(t.data.assumingMemoryBound(to: UInt8.self))
    let type = t.type
    // Converted: the file's bytes are no longer needed in memory (a 13 GB fp16 file read as f32 would otherwise
    // keep its mapped pages resident next to the copy).
    defer { (t.owner as? MappedFile)?.releasePages(t.data, t.byteCount); withExtendedLifetime(t.owner) {} }
    switch storage {
    case .f32:
        let out = FloatBuffer(count: rows * cols)
        let dst = SendablePointer(out.ptr)
        parallelRanges(rows) { range in
            for r in range {
                dequantizeRow(type, UnsafeRawPointer(src.p) + r * g.rowBytes, dst.p + r * cols, cols)
            }
        }
        return Weight(rows: rows, cols: cols, buffer: out)
    case .f16, .bf16:
        let out = ByteBuffer(byteCount: rows * cols * 2)
        let dst = SendablePointer(out.ptr.bindMemory(to: UInt16.self, capacity: rows * cols))
        let toBF16 = storage == .bf16
        parallelRanges(rows) { range in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: max(cols, 1))
            defer { row.deallocate() }
            for r in range {
                dequantizeRow(type, UnsafeRawPointer(src.p) + r * g.rowBytes, row, cols)
                let o = dst.p + r * cols
                if toBF16 {
                    for c in 0..<cols { o[c] = floatToBF16(row[c]) }
                } else {
                    for c in 0..<cols { o[c] = Float16(row[c]).bitPattern }
                }
            }
        }
        return Weight(rows: rows, cols: cols, type: storage, base: UnsafeRawPointer(out.ptr), owner: out)
    default:
        preconditionFailure("quantized storage is a view")
    }
}
