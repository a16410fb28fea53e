// 16-bit float formats: IEEE fp16 (Swift's Float16, converted by F16C) and bfloat16 (the top half of an fp32).

@inlinable @inline(__always)
public func bf16ToFloat(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

/// Round-to-nearest-even, as PyTorch and ggml do; NaN stays NaN.
@inlinable @inline(__always)
public func floatToBF16(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    if f.isNaN { return UInt16(truncatingIfNeeded: (u >> 16) | 0x40) }
    let rounded = u &+ 0x7FFF &+ ((u >> 16) & 1)
    return UInt16(truncatingIfNeeded: rounded >> 16)
}
