import Foundation
import XCTest
@testable import Training

/// Paths relative to the package root, found from this file's location.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let datasetsDir = packageRoot + "/Datasets"
let sharedDir = packageRoot + "/../shared"
let carerTrain = sharedDir + "/datasets/emotion/train.txt"
let carerVal = sharedDir + "/datasets/emotion/val.txt"
let squadDev = sharedDir + "/datasets/squad/dev-v2.0.json"
let smolPath = packageRoot + "/Models/SmolLM2-135M-Instruct.Q4_1.gguf"
let llama2TokenizerModel = sharedDir + "/models/llama2-tokenizer/tokenizer.model"

/// A fresh temporary folder for one test.
func tempDir(_ name: String = #function) throws -> String {
    let clean = name.filter { $0.isLetter || $0.isNumber }
    let dir = NSTemporaryDirectory() + "irm-training-\(clean)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Writes `bytes` to `dir/name` and returns the path.
@discardableResult
func writeFile(_ dir: String, _ name: String, _ bytes: [UInt8]) throws -> String {
    let p = dir + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    return p
}

@discardableResult
func writeFile(_ dir: String, _ name: String, _ text: String) throws -> String {
    try writeFile(dir, name, Array(text.utf8))
}

/// The DatasetError `body` throws; fails the test if it throws nothing or something else.
func datasetError(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> DatasetError? {
    do {
        _ = try body()
        XCTFail("expected a DatasetError", file: file, line: line)
    } catch let e as DatasetError {
        return e
    } catch {
        XCTFail("expected a DatasetError, got \(error)", file: file, line: line)
    }
    return nil
}
