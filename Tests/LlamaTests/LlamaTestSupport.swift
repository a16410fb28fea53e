import Foundation
@_exported import TestSupport
@testable import Llama

/// SmolLM2 with every tensor dequantized to f32: the "f32ref" variant of the goldens. Loaded once.
/// SmolLM2 with `--dtype auto`: its Q4_1 and Q8_0 matrices kept in their blocks. Loaded once.
nonisolated(unsafe) var _smolAuto: LlamaModel?
func smolAuto() throws -> LlamaModel {
    if let m = _smolAuto { return m }
    let m = try LlamaModel.load(path: smolPath, storage: .auto)
    _smolAuto = m
    return m
}

nonisolated(unsafe) var _smolF32: LlamaModel?
func smolF32() throws -> LlamaModel {
    if let m = _smolF32 { return m }
    let m = try LlamaModel.load(path: smolPath, storage: .f32)
    _smolF32 = m
    return m
}
