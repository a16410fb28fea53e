import Foundation
import XCTest

@testable import ModelIO

/// The one JSON writer: sorted keys in both layouts, so the same value gives the same bytes in every process.
final class JSONFilesTests: XCTestCase {
    struct S: Codable, Equatable { var zeta = 1; var alpha = [3, 1]; var mid: String? = "x/y" }

    func testSortedKeysInBothLayouts() throws {
        XCTAssertEqual(
            String(decoding: try encodeJSON(S(), .compact), as: UTF8.self),
            #"{"alpha":[3,1],"mid":"x\/y","zeta":1}"#)
        let indented = String(decoding: try encodeJSON(S()), as: UTF8.self)
        XCTAssertEqual(
            indented.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                $0.hasPrefix("\"")
            }
            .map { String($0.prefix(4)) }, ["\"alp", "\"mid", "\"zet"])
        XCTAssertEqual(try JSONDecoder().decode(S.self, from: try encodeJSON(S())), S())
        let dict: [String: Any] = ["b": 1, "a": NSNull(), "c": ["y": 2, "x": 1]]
        XCTAssertEqual(
            String(decoding: try encodeJSONObject(dict, .compact), as: UTF8.self),
            #"{"a":null,"b":1,"c":{"x":1,"y":2}}"#)
        let dir = NSTemporaryDirectory() + "irm-json-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeJSONFile(S(), to: dir + "/s.json")
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/s.json"), try encodeJSON(S()))
    }
}
