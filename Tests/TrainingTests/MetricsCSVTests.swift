import Foundation
import ModelIO
import TestSupport
import XCTest

@testable import Training

/// metrics.csv's one codec: what the trainer writes reads back, columns are found by name, and a bad file is one
/// line naming it and the line.
final class MetricsCSVTests: XCTestCase {
    func testWrittenRowsReadBack() throws {
        let dir = try tempDir("metrics")
        let run = RunFolder(dir)
        try run.appendMetrics(
            MetricsCSV.line(step: 1, epoch: 0, trainLoss: 3.14159, valLoss: nil, lr: 1e-4, tokensPerSecond: 187.9))
        try run.appendMetrics(
            MetricsCSV.line(step: 2, epoch: 1, trainLoss: 2.5, valLoss: 2.71828, lr: 8.5e-5, tokensPerSecond: 190))
        let text = try String(contentsOfFile: run.metricsPath, encoding: .utf8)
        XCTAssertEqual(
            text,
            "step,epoch,train_loss,val_loss,lr,tokens_per_s\n1,0,3.1416,,0.0001,187\n2,1,2.5000,2.7183,8.5e-05,190\n")
        XCTAssertEqual(
            try MetricsCSV.read(run.metricsPath),
            [
                MetricsRow(step: 1, epoch: 0, trainLoss: 3.1416, valLoss: nil, lr: 0.0001, tokensPerSecond: 187),
                MetricsRow(step: 2, epoch: 1, trainLoss: 2.5, valLoss: 2.7183, lr: 8.5e-05, tokensPerSecond: 190)
            ])
        XCTAssertEqual(bestValidationLoss(run), 2.7183)
    }

    func testColumnsByNameAndBadFiles() throws {
        let dir = try tempDir("metrics-bad")
        let path = dir + "/metrics.csv"
        try "lr,step,val_loss,epoch,tokens_per_s,train_loss\n0.001,7,,2,150,1.5\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(
            try MetricsCSV.read(path),
            [MetricsRow(step: 7, epoch: 2, trainLoss: 1.5, valLoss: nil, lr: 0.001, tokensPerSecond: 150)])
        for (text, want) in [
            ("step,epoch,train_loss,val_loss,lr\n", "line 1: expected the columns"),
            ("step,epoch,train_loss,val_loss,lr,tokens_per_s,extra\n", "line 1: expected the columns"),
            ("step,step,train_loss,val_loss,lr,tokens_per_s\n", "line 1: expected the columns"),
            ("step,epoch,train_loss,val_loss,lr,tokens_per_s\n1,0,2.0,,0.1\n", "line 2: expected step,epoch"),
            ("step,epoch,train_loss,val_loss,lr,tokens_per_s\n1,0,2.0,x,0.1,5\n", "line 2: expected"),
            ("", "line 1: expected the columns")
        ] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try MetricsCSV.read(path), text.debugDescription) {
                let m = "\($0)"
                XCTAssertTrue(m.contains(path) && m.contains(want) && !m.contains("\n"), m)
            }
        }
        XCTAssertNil(bestValidationLoss(RunFolder(dir + "/absent")))
    }
}
