// TEMPORARY (replaced by Dequantize.swift from the io branch): F32/F16/BF16/Q8_0/Q4_1 only.
import Numerics

public func dequantize(_ t: TensorInfo) throws -> FloatBuffer {
    let n = t.elementCount
    let out = FloatBuffer(count: n)
    let p = t.data
    switch t.type {
    case .f32: out.ptr.update(from: p.assumingMemoryBound(to: Float.self), count: n)
    case .f16: for i in 0..<n { out.ptr[i] = Float(p.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) }
    case .bf16: for i in 0..<n { out.ptr[i] = bf16ToFloat(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
    case .q8_0:
        for b in 0..<n / 32 {
            let blk = p + b * 34
            let d = Float(blk.loadUnaligned(as: Float16.self))
            for j in 0..<32 { out.ptr[b * 32 + j] = Float(blk.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
        }
    case .q4_1:
        for b in 0..<n / 32 {
            let blk = p + b * 20
            let d = Float(blk.loadUnaligned(as: Float16.self))
            let m = Float(blk.loadUnaligned(fromByteOffset: 2, as: Float16.self))
            for j in 0..<16 {
                let q = blk.load(fromByteOffset: 4 + j, as: UInt8.self)
                out.ptr[b * 32 + j] = Float(q & 0xF) * d + m
                out.ptr[b * 32 + j + 16] = Float(q >> 4) * d + m
            }
        }
    default: throw ModelIOError(t.file, "tensor '\(t.name)': type \(t.type) not supported yet")
    }
    return out
}

public func makeWeight(_ t: TensorInfo, storage: WeightType) throws -> Weight {
    guard t.shape.count == 2 else { throw ModelIOError(t.file, "tensor '\(t.name)' is not 2-D") }
    let rows = t.shape[0], cols = t.shape[1]
    if (t.type == .f32 && storage == .f32) || (t.type == .f16 && storage == .f16) || (t.type == .bf16 && storage == .bf16) {
        return Weight(rows: rows, cols: cols, type: storage, base: t.data, owner: t.owner)
    }
    let f = try dequantize(t)
    switch storage {
    case .f32: return Weight(rows: rows, cols: cols, buffer: f)
    case .f16:
        let b = ByteBuffer(byteCount: rows * cols * 2)
        let h = b.ptr.bindMemory(to: Float16.self, capacity: rows * cols)
        for i in 0..<rows * cols { h[i] = Float16(f.ptr[i]) }
        return Weight(rows: rows, cols: cols, type: .f16, base: UnsafeRawPointer(b.ptr), owner: b)
    case .bf16:
        let b = ByteBuffer(byteCount: rows * cols * 2)
        let h = b.ptr.bindMemory(to: UInt16.self, capacity: rows * cols)
        for i in 0..<rows * cols { h[i] = floatToBF16(f.ptr[i]) }
        return Weight(rows: rows, cols: cols, type: .bf16, base: UnsafeRawPointer(b.ptr), owner: b)
    }
}

public func loadSafetensorsFolder(_ dir: String) throws -> [String: TensorInfo] { throw ModelIOError(dir, "safetensors not yet supported") }
public struct Llama2cCheckpoint {
    public var dim = 0, hiddenDim = 0, nLayers = 0, nHeads = 0, nKVHeads = 0, vocabSize = 0, seqLen = 0
    public var sharedClassifier = true
    public var tensors: [String: TensorInfo] = [:]
    public init(path: String) throws { throw ModelIOError(path, "llama2.c not yet supported") }
}
