// Temporary folders: one fresh folder per call, removed when the test that asked for it ends.
import Foundation
import XCTest

extension XCTestCase {
    /// A fresh empty folder named after the test (and `name`), removed on teardown.
    public func tempDir(_ name: String = #function) throws -> String {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        let dir = NSTemporaryDirectory() + "irm-test-\(clean)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }
}

/// Writes `bytes` to `dir/name` and returns the path.
@discardableResult
public func writeFile(_ dir: String, _ name: String, _ bytes: [UInt8]) throws -> String {
    let p = dir + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    return p
}

@discardableResult
public func writeFile(_ dir: String, _ name: String, _ text: String) throws -> String {
    try writeFile(dir, name, Array(text.utf8))
}
