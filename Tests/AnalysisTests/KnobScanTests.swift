import XCTest
import Foundation
import Numerics
import Llama
import Datasets
import Training
import TestSupport
@testable import Analysis

/// Issue 19's knob scan on a tiny random model: each point is the loss with the constant added by hand.
final class KnobScanTests: XCTestCase {
    let mc = TinyValidation.config
    lazy var model = TinyValidation.model()
    let examples = TinyValidation.examples

    /// c added to coordinate `index` of the residual at the afterAttention site of `layers`, written here
    /// independently of the scan's own intervention.
    final class AddAtIndex: Intervention {
        let layers: Set<Int>, index: Int, c: Float, dim: Int
        init(_ layers: [Int], _ index: Int, _ c: Float, dim: Int) {
            self.layers = Set(layers); self.index = index; self.c = c; self.dim = dim
        }
        func afterAttention(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {
            if layers.contains(layer) { for t in 0..<T { x[t * dim + index] += c } }
        }
    }

    /// The loss of the whole set as one batch under `intervention`.
    func byHand(_ intervention: Intervention?) throws -> LossResult {
        let a = TrainingArena(config: mc, B: 3, T: 7, recompute: true)
        return try responseLoss(
            model: model, examples: examples, batchSize: 3, padId: 0, arena: a, intervention: intervention)
    }

    func testEveryPointIsTheLossWithTheConstantAddedByHand() throws {
        let layers = [1, 3], grid: [Float] = [-0.5, 0.7, 3]
        let groups = [
            KnobGroup(name: "a", description: "", indices: [2, 5]), KnobGroup(name: "b", description: "", indices: [5])
        ]
        let s = try knobScan(
            model: model, modelName: "tiny", dataset: "hand", examples: examples, objective: .response, padId: 0,
            layers: layers, groups: groups, grid: grid)
        let frozen = try byHand(nil)
        XCTAssertEqual(s.baseline.loss, frozen.mean)
        XCTAssertEqual(s.baseline.entropy, frozen.meanEntropy)
        XCTAssertEqual(s.forwardPasses, 1 + 2 * grid.count, "index 5 is in both groups and measured once")
        XCTAssertEqual(s.curves.map(\.index), [2, 5, 5])
        XCTAssertEqual(s.curves.map(\.group), ["a", "a", "b"])
        XCTAssertEqual(s.scoredPositions, 3 + 3 + 3)
        for curve in s.curves {
            XCTAssertEqual(curve.points.map(\.c), grid.map(Double.init))
            for p in curve.points {
                let r = try byHand(AddAtIndex(layers, curve.index, Float(p.c), dim: mc.dim))
                XCTAssertEqual(p.loss, r.mean, "index \(curve.index) c \(p.c)")
                XCTAssertEqual(p.entropy, r.meanEntropy, "index \(curve.index) c \(p.c)")
                XCTAssertNotEqual(p.loss, frozen.mean, "the knob changes the loss")
            }
            let best = (curve.points + [s.baseline]).map(\.loss).min()!
            XCTAssertEqual(curve.best.loss, best)
            XCTAssertEqual(curve.drop, s.baseline.loss - best, accuracy: 1e-12)
            XCTAssertGreaterThanOrEqual(curve.drop, 0)
        }
        // The table and the files.
        let table = knobTable(s)
        XCTAssertTrue(table.contains("a: "), table)
        let dir = try tempDir()
        let files = try writeKnobScan(s, dir: dir)
        XCTAssertEqual(files.map { ($0 as NSString).lastPathComponent }, ["knobs-response.json", "knobs-response.html"])
        let back = try JSONDecoder().decode(KnobScan.self, from: Data(contentsOf: URL(fileURLWithPath: files[0])))
        XCTAssertEqual(back, s)
        let html = try String(contentsOfFile: files[1], encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 2, "one chart per group")
    }

    func testGroups() throws {
        let gain: [Float] = [3, -0.1, 2, 0.5, -4, 0.05, 1, -2]
        // rms [2 layers, 8 dims]: dims 6 and 0 largest on average.
        let rms: [Float] = [5, 1, 1, 1, 1, 1, 9, 1, 3, 1, 2, 1, 1, 1, 7, 1]
        let g = try knobGroups(
            [.lowGain, .random, .massive, .irmTop], rms: rms, nLayers: 2, finalGain: gain, irmTop: [7, 3, 1],
            count: 2)
        XCTAssertEqual(g.map(\.name), ["low-gain", "random", "massive", "irm-top"])
        XCTAssertEqual(g[0].indices, [5, 1])
        XCTAssertEqual(g[2].indices, [6, 0])
        XCTAssertEqual(g[3].indices, [7, 3])
        XCTAssertEqual(g[1].indices.count, 2)
        XCTAssertTrue(Set(g[1].indices).isDisjoint(with: [5, 1, 6, 0, 7, 3]), "\(g[1].indices)")
        XCTAssertNotNil(
            thrown(RunError.self) {
                try knobGroups([.irmTop], rms: rms, nLayers: 2, finalGain: gain, irmTop: nil)
            })
    }
}
