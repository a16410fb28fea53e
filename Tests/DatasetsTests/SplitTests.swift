import Foundation
import XCTest
@testable import Datasets

final class SplitTests: XCTestCase {
    func testDeterministicPartition() throws {
        let a = DatasetSplit.make(count: 637, seed: 42)
        XCTAssertEqual(a, DatasetSplit.make(count: 637, seed: 42))
        XCTAssertNotEqual(a, DatasetSplit.make(count: 637, seed: 43))
        XCTAssertTrue(a.isValid)
        XCTAssertEqual([a.trainIndices.count, a.valIndices.count, a.testIndices.count], [573, 32, 32])
        XCTAssertEqual(a.valIndices, a.valIndices.sorted())
        // Not simply the last rows: held-out indices spread over the file.
        XCTAssertLessThan(a.valIndices.first!, 100)
        XCTAssertGreaterThan(a.testIndices.last!, 500)
        let (tr, va, te) = a.apply(Array(0..<637).map { "row\($0)" })
        XCTAssertEqual(tr.count + va.count + te.count, 637)
        XCTAssertEqual(va[0], "row\(a.valIndices[0])")
    }

    func testTinyDatasets() {
        for n in 0...40 {
            let s = DatasetSplit.make(count: n, seed: 7)
            XCTAssertTrue(s.isValid, "\(n)")
            if n >= 3 {
                XCTAssertGreaterThanOrEqual(s.valIndices.count, 1)
                XCTAssertGreaterThanOrEqual(s.testIndices.count, 1)
                XCTAssertGreaterThanOrEqual(s.trainIndices.count, 1)
            } else {
                XCTAssertEqual(s.trainIndices.count, n)
            }
        }
        XCTAssertEqual(DatasetSplit.make(count: 3, seed: 1).trainIndices.count, 1)
    }

    func testCodableRoundTripForConfigJSON() throws {
        let s = DatasetSplit.make(count: 50, seed: 123456789012345)
        let data = try JSONEncoder().encode(s)
        let back = try JSONDecoder().decode(DatasetSplit.self, from: data)
        XCTAssertEqual(back, s)
        var broken = s
        broken.valIndices.append(s.trainIndices[0])
        XCTAssertFalse(broken.isValid)
    }
}
