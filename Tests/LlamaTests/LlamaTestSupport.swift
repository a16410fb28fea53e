import Foundation
@_exported import TestSupport
@testable import Llama

/// SmolLM2 with every tensor dequantized to f32: the "f32ref" variant of the goldens. Loaded once.
nonisolated(unsafe) var _smolF32: LlamaModel?
func smolF32() throws -> LlamaModel {
    if let m = _smolF32 { return m }
    let m = try LlamaModel.load(path: smolPath, storage: .f32)
    _smolF32 = m
    return m
}
