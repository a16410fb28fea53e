import Foundation
@_exported import TestSupport
@testable import Llama

/// SmolLM2 loaded once per storage type.
nonisolated(unsafe) var smolModels: [WeightStorage: LlamaModel] = [:]
func smol(_ storage: WeightStorage) throws -> LlamaModel {
    if let m = smolModels[storage] { return m }
    let m = try LlamaModel.load(path: smolPath, storage: storage)
    smolModels[storage] = m
    return m
}
/// Every tensor dequantized to f32: the "f32ref" variant of the goldens.
func smolF32() throws -> LlamaModel { try smol(.f32) }
/// `--dtype auto`: its Q4_1 and Q8_0 matrices kept in their blocks.
func smolAuto() throws -> LlamaModel { try smol(.auto) }
