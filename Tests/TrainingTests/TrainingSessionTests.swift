import XCTest
import Foundation
import Datasets
import IRM
import TestSupport
@testable import Training

/// The run orchestration `irm train` calls (TrainingSession.swift), in process, with SmolLM2 and a few anger
/// examples: a plan that does not fit leaves nothing behind, a new run trains and writes its folder, a resumed
/// one continues from its checkpoint with a new learning rate noted in config.json.
final class TrainingSessionTests: XCTestCase {
    func newConfig(_ name: String) throws -> TrainConfig {
        var c = TrainConfig(
            model: smolPath, modelSHA256: "", dataset: "anger", datasetPath: datasetsDir + "/anger.csv",
            split: DatasetSplit.make(count: 0, seed: 0), irm: IRMConfig(hidden: 576, layers: [28, 29], depth: 2),
            adam: AdamConfig(), runName: name)
        c.limit = 12; c.seqLen = 48; c.batchSize = 2; c.maxSteps = 2; c.sampleTokens = 0; c.objective = .response
        let examples = try loadRunExamples(c)
        c.split = DatasetSplit.make(count: examples.count, seed: c.seed)
        c.datasetHash = datasetContentHash(examples)
        return c
    }

    func testPlanNewRunAndResume() throws {
        let runs = try tempDir()
        // 1 MB is not enough: the shortfall names both sizes, and nothing is loaded or created.
        let tight = try TrainingSession(.new(try newConfig("tight"), runs: runs), available: 1_000_000)
        XCTAssertTrue(tight.planShortfall?.contains("but 1.0 MB is available") == true, tight.planShortfall ?? "fits")
        XCTAssertNil(tight.lm)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: runs), [])

        let run = RunFolder(runs + "/s")
        do {  // the session, and with it the run's lock, ends with this scope
            let session = try TrainingSession(.new(try newConfig("s"), runs: runs))
            XCTAssertNil(session.planShortfall)
            var lines: [String] = []
            try session.prepare(say: { lines.append($0) })
            XCTAssertTrue(lines.contains { $0.hasPrefix("run: \(runs)/s  (") }, "\(lines)")
            XCTAssertEqual(session.config.modelSHA256.count, 64, "a new run records the model's identity")
            var validations: [Int] = []
            let state = try session.run { validations.append($0.step) }
            XCTAssertEqual(state.step, 2)
            XCTAssertFalse(validations.isEmpty)
            XCTAssertEqual(try run.readConfig().modelSHA256, session.config.modelSHA256)
        }
        XCTAssertEqual(try MetricsCSV.read(run.metricsPath).count, 2)

        // A second new run of the same name is refused once it holds the folder's lock.
        let again = try TrainingSession(.new(try newConfig("s"), runs: runs))
        XCTAssertThrowsError(try again.prepare(say: { _ in })) {
            XCTAssertTrue("\($0)".contains("already holds a run"), "\($0)")
        }

        let resumed = try TrainingSession(.resume(path: run.path, changes: ResumeChanges(lr: 3e-4, maxSteps: 4)))
        try resumed.prepare(say: { _ in })
        XCTAssertEqual(resumed.trainer.state.step, 2, "from the last checkpoint")
        XCTAssertEqual(try resumed.run().step, 4)
        let config = try run.readConfig()
        XCTAssertEqual(config.maxSteps, 4)
        XCTAssertEqual(config.adam.lr, 3e-4)
        XCTAssertEqual(config.changes?.count, 1)
        XCTAssertTrue(
            config.changes?.first?.contains("--lr 0.0003 (was --lr 0.0001)") == true, "\(config.changes ?? [])")
        XCTAssertEqual(try MetricsCSV.read(run.metricsPath).count, 4)
    }
}
