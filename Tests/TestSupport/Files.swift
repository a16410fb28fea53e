// Reading reference files (golden logits, JSON) in tests.
import Foundation

/// A file of little-endian f32 values (x86-64 and arm64 are little-endian).
public func readF32(_ path: String) throws -> [Float] {
    let d = try Data(contentsOf: URL(fileURLWithPath: path))
    return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
}

/// A JSON file, parsed by Foundation.
public func json(_ path: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Index of the largest element (the first among equals), counted from the slice's start.
public func argmax(_ a: ArraySlice<Float>) -> Int {
    var best = a.startIndex
    for i in a.indices where a[i] > a[best] { best = i }
    return best - a.startIndex
}
