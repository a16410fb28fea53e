import Foundation
@testable import Llama

/// Paths relative to the package root, found from this file's location.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let sharedDir = packageRoot + "/../shared"
let goldenDir = sharedDir + "/golden"
let smolPath = packageRoot + "/Models/SmolLM2-135M-Instruct.Q4_1.gguf"

/// SmolLM2 with every tensor dequantized to f32: the "f32ref" variant of the goldens. Loaded once.
nonisolated(unsafe) var _smolF32: LlamaModel?
func smolF32() throws -> LlamaModel {
    if let m = _smolF32 { return m }
    let m = try LlamaModel.load(path: smolPath, storage: .f32)
    _smolF32 = m
    return m
}

func readF32(_ path: String) throws -> [Float] {
    let d = try Data(contentsOf: URL(fileURLWithPath: path))
    return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}

func json(_ path: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}

func argmax(_ a: ArraySlice<Float>) -> Int {
    var best = a.startIndex
    for i in a.indices where a[i] > a[best] { best = i }
    return best - a.startIndex
}
