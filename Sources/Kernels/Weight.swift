// A read-only weight matrix W[rows, cols] (row-major, PyTorch's [out, in]) in fp32, fp16, bf16 or one of
// ggml's block formats (each row a run of whole blocks, as in a GGUF file). 16-bit and quantized weights
// stay as they are in memory and are widened or dequantized to fp32 inside the kernels.

public enum WeightType: String, Sendable, CaseIterable {
    case f32, f16, bf16
    case q8_0, q4_0, q4_1, q4_K, q5_K, q6_K

    /// The ggml block format of a quantized type (nil for f32/f16/bf16).
    public var blockFormat: BlockFormat? {
        switch self {
        case .f32, .f16, .bf16: nil
        case .q8_0: .q8_0;
        case .q4_0: .q4_0;
        case .q4_1: .q4_1
        case .q4_K: .q4_K;
        case .q5_K: .q5_K;
        case .q6_K: .q6_K
        }
    }
    public var isQuantized: Bool { blockFormat != nil }
    /// (elements, bytes) per block; one element per block for the float types.
    public var blockLayout: (elements: Int, bytes: Int) {
        switch self {
        case .f32: (1, 4)
        case .f16, .bf16: (1, 2)
        default: blockFormat!.layout
        }
    }
    /// Bytes per element of the float types (quantized types have none: use `rowBytes`). A fatal error, not a
    /// precondition: Numerics builds with -Ounchecked, and a wrong size here would overrun a buffer.
    public var byteSize: Int {
        if isQuantized { fatalError("\(self) has no per-element size: use rowBytes") }
        return blockLayout.bytes
    }
    /// Bytes of a row of `cols` elements (a multiple of the block size).
    public func rowBytes(_ cols: Int) -> Int { cols / blockLayout.elements * blockLayout.bytes }
}

public struct Weight: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let type: WeightType
    public let base: UnsafeRawPointer
    /// Keeps the memory alive: a mapped file, a FloatBuffer or a ByteBuffer.
    public let owner: AnyObject?

    public init(rows: Int, cols: Int, type: WeightType, base: UnsafeRawPointer, owner: AnyObject?) {
        precondition(cols % type.blockLayout.elements == 0, "\(type) rows must be whole blocks")
        self.rows = rows; self.cols = cols; self.type = type; self.base = base; self.owner = owner
    }
    /// An fp32 weight over a FloatBuffer (which must hold rows*cols floats).
    public init(rows: Int, cols: Int, buffer: FloatBuffer) {
        precondition(buffer.count >= rows * cols)
        self.init(rows: rows, cols: cols, type: .f32, base: UnsafeRawPointer(buffer.ptr), owner: buffer)
    }

    public var rowBytes: Int { type.rowBytes(cols) }
    public var byteCount: Int { rows * rowBytes }

    /// Element (r, c) widened to Float. For tests and cold paths only.
    public func value(_ r: Int, _ c: Int) -> Float {
        struct One: SourceVisitor {
            let w: UnsafeRawPointer, i: Int
            func visit<S: WidenSource>(_ s: S.Type) -> Float { S.load1(w, i) }
        }
        return type.visit(One(w: base, i: r * cols + c))
    }
    /// Row r widened into `out` (cols floats).
    public func copyRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let row = base + r * rowBytes
        switch type {
        case .f32: out.update(from: row.assumingMemoryBound(to: Float.self), count: cols)
        case .f16:
            let p = row.assumingMemoryBound(to: Float16.self)
            for c in 0..<cols { out[c] = Float(p[c]) }
        case .bf16:
            let p = row.assumingMemoryBound(to: UInt16.self)
            for c in 0..<cols { out[c] = bf16ToFloat(p[c]) }
        default: dequantizeBlocks(type.blockFormat!, row, out, cols)
        }
    }
}
