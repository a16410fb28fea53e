// A named tensor inside a model file, in any storage type, before it becomes a kernel `Weight`.
import Numerics

/// ggml's type ids (as stored in GGUF). Safetensors and llama2.c files map onto f32/f16/bf16.
public enum TensorType: UInt32, Sendable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case bf16 = 30

    public var description: String {
        switch self {
        case .f32: "F32";
        case .f16: "F16";
        case .bf16: "BF16"
        case .q4_0: "Q4_0";
        case .q4_1: "Q4_1";
        case .q5_0: "Q5_0";
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0";
        case .q8_1: "Q8_1";
        case .q2_K: "Q2_K";
        case .q3_K: "Q3_K"
        case .q4_K: "Q4_K";
        case .q5_K: "Q5_K";
        case .q6_K: "Q6_K";
        case .q8_K: "Q8_K"
        }
    }
    /// (elements per block, bytes per block) as in ggml.
    public var blockLayout: (elements: Int, bytes: Int) {
        switch self {
        case .f32: (1, 4);
        case .f16, .bf16: (1, 2)
        case .q4_0: (32, 18);
        case .q4_1: (32, 20);
        case .q5_0: (32, 22);
        case .q5_1: (32, 24)
        case .q8_0: (32, 34);
        case .q8_1: (32, 36)
        case .q2_K: (256, 84);
        case .q3_K: (256, 110);
        case .q4_K: (256, 144)
        case .q5_K: (256, 176);
        case .q6_K: (256, 210);
        case .q8_K: (256, 292)
        }
    }
    public var isQuantized: Bool { !(self == .f32 || self == .f16 || self == .bf16) }
}

public struct TensorInfo: @unchecked Sendable {
    public let name: String
    public let type: TensorType
    /// Outermost dimension first, as in PyTorch: a Linear weight is [out, in].
    /// (GGUF stores ne[] innermost first; the GGUF reader reverses it.)
    public let shape: [Int]
    public let data: UnsafeRawPointer
    public let byteCount: Int
    /// Keeps `data` alive (a MappedFile or a buffer).
    public let owner: AnyObject?
    /// The file it came from, for error messages.
    public let file: String

    public init(
        name: String, type: TensorType, shape: [Int], data: UnsafeRawPointer, byteCount: Int,
        owner: AnyObject?, file: String
    ) {
        self.name = name; self.type = type; self.shape = shape; self.data = data
        self.byteCount = byteCount; self.owner = owner; self.file = file
    }

    public var elementCount: Int { shape.reduce(1, *) }
}
