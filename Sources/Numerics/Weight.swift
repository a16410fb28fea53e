// A read-only weight matrix W[rows, cols] (row-major, PyTorch's [out, in]) in fp32, fp16 or bf16.
// 16-bit weights stay 16-bit in memory and are widened to fp32 inside the kernels.

public enum WeightType: String, Sendable {
    case f32, f16, bf16
    public var byteSize: Int { self == .f32 ? 4 : 2 }
}

public struct Weight: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let type: WeightType
    public let base: UnsafeRawPointer
    /// Keeps the memory alive: a mapped file, a FloatBuffer or a ByteBuffer.
    public let owner: AnyObject?

    public init(rows: Int, cols: Int, type: WeightType, base: UnsafeRawPointer, owner: AnyObject?) {
        self.rows = rows; self.cols = cols; self.type = type; self.base = base; self.owner = owner
    }
    /// An fp32 weight over a FloatBuffer (which must hold rows*cols floats).
    public init(rows: Int, cols: Int, buffer: FloatBuffer) {
        precondition(buffer.count >= rows * cols)
        self.init(rows: rows, cols: cols, type: .f32, base: UnsafeRawPointer(buffer.ptr), owner: buffer)
    }

    public var byteCount: Int { rows * cols * type.byteSize }

    /// Element (r, c) widened to Float. For tests and cold paths only.
    @inlinable public func value(_ r: Int, _ c: Int) -> Float {
        let i = r * cols + c
        switch type {
        case .f32: return base.assumingMemoryBound(to: Float.self)[i]
        case .f16: return Float(base.assumingMemoryBound(to: Float16.self)[i])
        case .bf16: return bf16ToFloat(base.assumingMemoryBound(to: UInt16.self)[i])
        }
    }
    /// Row r widened into `out` (cols floats).
    @inlinable public func copyRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let off = r * cols
        switch type {
        case .f32: out.update(from: base.assumingMemoryBound(to: Float.self) + off, count: cols)
        case .f16:
            let p = base.assumingMemoryBound(to: Float16.self) + off
            for c in 0..<cols { out[c] = Float(p[c]) }
        case .bf16:
            let p = base.assumingMemoryBound(to: UInt16.self) + off
            for c in 0..<cols { out[c] = bf16ToFloat(p[c]) }
        }
    }
}
