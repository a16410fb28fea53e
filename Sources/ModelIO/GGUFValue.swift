// A GGUF metadata value (all 13 value types of GGUF v2/v3).

public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool)
    case string(String)
    case array([GGUFValue])

    /// Any integer type as Int (nil for other types or values that do not fit).
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v);
        case .int8(let v): Int(v);
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v);
        case .uint32(let v): Int(v);
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v);
        case .int64(let v): Int(v)
        case .bool(let v): v ? 1 : 0
        default: nil
        }
    }
    /// Any numeric type as Double.
    public var double: Double? {
        switch self {
        case .float32(let v): Double(v);
        case .float64(let v): v
        default: int.map(Double.init)
        }
    }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { int.map { $0 != 0 } } }
    public var array: [GGUFValue]? { if case .array(let a) = self { a } else { nil } }
    public var stringArray: [String]? { array?.compactMap(\.string) }
    public var intArray: [Int]? { array?.compactMap(\.int) }
    public var floatArray: [Float]? { array?.compactMap { $0.double.map(Float.init) } }
}
