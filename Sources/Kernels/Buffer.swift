// Owned, 64-byte aligned Float storage for activations, gradients and dequantized weights.
import Foundation

public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let ptr: UnsafeMutablePointer<Float>

    /// Zero-filled buffer of `count` floats.
    public init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        ptr = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        ptr.initialize(repeating: 0, count: max(count, 1))
    }
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { ptr.update(from: $0.baseAddress!, count: values.count) }
    }
    deinit { UnsafeMutableRawPointer(ptr).deallocate() }

    public subscript(i: Int) -> Float {
        get { ptr[i] }
        set { ptr[i] = newValue }
    }
    public var array: [Float] { Array(UnsafeBufferPointer(start: ptr, count: count)) }
    public func zero() { ptr.update(repeating: 0, count: count) }
}

/// Owned raw bytes (64-byte aligned), used for 16-bit weight copies.
public final class ByteBuffer: @unchecked Sendable {
    public let count: Int
    public let ptr: UnsafeMutableRawPointer
    public init(byteCount: Int) {
        count = byteCount
        ptr = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        ptr.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
    }
    deinit { ptr.deallocate() }
}
