import Foundation
import XCTest
import Numerics
@testable import Training

/// The one layer-list grammar (`--layers` of every command) and its inverse, layerSpecName.
final class LayerSpecTests: XCTestCase {
    func parse(_ s: String, _ n: Int = 30) throws -> [Int] { try parseLayerSpec(s, nLayers: n) }

    func message(_ s: String, _ n: Int = 30, flag: String = "--layers") -> String {
        do { _ = try parseLayerSpec(s, nLayers: n, flag: flag); return "no error for '\(s)'" } catch {
            return "\(error)"
        }
    }

    func testForms() throws {
        XCTAssertEqual(try parse("all", 4), [0, 1, 2, 3])
        XCTAssertEqual(try parse("0-29"), Array(0...29))
        XCTAssertEqual(try parse("0,4,8"), [0, 4, 8])
        XCTAssertEqual(try parse("3:29:4"), [3, 7, 11, 15, 19, 23, 27])
        XCTAssertEqual(try parse("3:27:4"), [3, 7, 11, 15, 19, 23, 27])  // stop inclusive
        XCTAssertEqual(try parse("5:8"), [5, 6, 7, 8])  // start:stop, step 1
        XCTAssertEqual(try parse("7"), [7])
        XCTAssertEqual(try parse("29-29"), [29])
        XCTAssertEqual(try parse("0-3,8,12:20:4"), [0, 1, 2, 3, 8, 12, 16, 20])
        XCTAssertEqual(try parse("8,0-2,2"), [0, 1, 2, 8])  // sorted, de-duplicated
        XCTAssertEqual(try parse("20:28:4, 0-5 ,4,24"), [0, 1, 2, 3, 4, 5, 20, 24, 28])
        XCTAssertEqual(try parse(" all "), Array(0..<30))
    }

    func testErrorsNameFlagItemAndRange() {
        // Out of range: the flag, the item, the offending layer and the model's layers.
        XCTAssertEqual(message("0-30"), "--layers '0-30': layer 30 is outside the model's layers 0-29")
        XCTAssertEqual(message("0-3,40"), "--layers '0-3,40', item '40': layer 40 is outside the model's layers 0-29")
        XCTAssertEqual(message("-1"), "--layers '-1': layer -1 is outside the model's layers 0-29")
        XCTAssertEqual(message("2:99:3", 16), "--layers '2:99:3': layer 99 is outside the model's layers 0-15")
        // A huge range is refused before it is expanded (this would otherwise insert 10^15 layers).
        XCTAssertEqual(
            message("0-999999999999999"),
            "--layers '0-999999999999999': layer 999999999999999 is outside the model's layers 0-29")
        // Malformed items: the item, the problem, the grammar and the model's layers.
        let syntax = "; use \(layerSpecSyntax); the model has layers 0-29"
        XCTAssertEqual(message("5-2"), "--layers '5-2': start 5 is after stop 2" + syntax)
        XCTAssertEqual(message("a"), "--layers 'a': 'a' is not a layer number" + syntax)
        XCTAssertEqual(message("3:9:0"), "--layers '3:9:0': the step must be positive" + syntax)
        XCTAssertEqual(message("3:9:-1"), "--layers '3:9:-1': the step must be positive" + syntax)
        XCTAssertEqual(message("1,,2"), "--layers '1,,2', item '': empty item" + syntax)
        XCTAssertEqual(message(""), "--layers '': empty item" + syntax)
        XCTAssertEqual(message("0-3,x-4"), "--layers '0-3,x-4', item 'x-4': 'x' is not a layer number" + syntax)
        XCTAssertEqual(message("1:2:3:4"), "--layers '1:2:3:4': use start:stop or start:stop:step" + syntax)
        XCTAssertEqual(message("all,3"), "--layers 'all,3', item 'all': 'all' is not a layer number" + syntax)
        XCTAssertEqual(message("9", 4, flag: "--inject"), "--inject '9': layer 9 is outside the model's layers 0-3")
    }

    func testNameIsTheInverse() throws {
        XCTAssertEqual(layerSpecName(Array(0...29)), "0-29")
        XCTAssertEqual(layerSpecName([0, 4, 8]), "0:8:4")
        XCTAssertEqual(layerSpecName([3, 7, 11, 15, 19, 23, 27]), "3:27:4")
        XCTAssertEqual(layerSpecName([0, 1, 5]), "0,1,5")
        XCTAssertEqual(layerSpecName([12]), "12")
        XCTAssertEqual(layerSpecName([]), "none")
        XCTAssertEqual(layerSpecName([3, 3]), "3,3")  // not sorted-unique: listed, never a 0 step
        // Every sorted unique list survives name → parse, on random subsets of a 30-layer model.
        var rng = Rng(seed: 11)
        for _ in 0..<500 {
            let keep = rng.uniform()
            let layers = (0..<30).filter { _ in rng.uniform() < keep }
            guard !layers.isEmpty else { continue }
            XCTAssertEqual(try parse(layerSpecName(layers)), layers, layerSpecName(layers))
        }
        // And every canonical spelling survives parse → name.
        for s in ["0-29", "3:27:4", "0,1,5", "12", "0-1"] { XCTAssertEqual(layerSpecName(try parse(s)), s) }
    }
}
