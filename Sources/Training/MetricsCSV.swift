// metrics.csv, one row per optimiser step, and its one codec: the trainer writes its rows through `line`, the
// report and the sweep read them through `read`, which finds each column by its header name.
import Foundation
import ModelIO

/// One row of metrics.csv; the validation loss only at validation steps.
public struct MetricsRow: Sendable, Equatable {
    public var step: Int
    public var epoch: Int
    public var trainLoss: Double
    public var valLoss: Double?
    public var lr: Double
    public var tokensPerSecond: Double

    public init(step: Int, epoch: Int, trainLoss: Double, valLoss: Double?, lr: Double, tokensPerSecond: Double) {
        self.step = step; self.epoch = epoch; self.trainLoss = trainLoss; self.valLoss = valLoss; self.lr = lr
        self.tokensPerSecond = tokensPerSecond
    }
}

public enum MetricsCSV {
    public static let columns = ["step", "epoch", "train_loss", "val_loss", "lr", "tokens_per_s"]
    public static let header = columns.joined(separator: ",")
    /// A metrics.csv larger than this is not one irm wrote (a million steps take about 50 MB).
    public static let sizeLimit = 256 << 20

    /// A row as the trainer writes it: losses to 4 decimals, the learning rate as Swift prints a Float, whole
    /// tokens per second; no validation loss, an empty field.
    public static func line(
        step: Int, epoch: Int, trainLoss: Double, valLoss: Double?, lr: Float,
        tokensPerSecond: Double
    ) -> String {
        func loss(_ x: Double) -> String { String(format: "%.4f", x) }
        return "\(step),\(epoch),\(loss(trainLoss)),\(valLoss.map(loss) ?? ""),\(lr),\(Int(tokensPerSecond))"
    }

    /// Every row of the metrics.csv at `path`. The header must name each of `columns` once (in any order, no
    /// others); every row has one field per column, numbers where numbers go, the validation loss possibly empty.
    /// A problem is one line naming the file and the line.
    public static func read(_ path: String) throws -> [MetricsRow] {
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0
        guard size <= sizeLimit else {
            throw FileError(path, "\(size) bytes, more than a metrics.csv (\(sizeLimit))")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path, "cannot read") }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
        let names =
            lines.first.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? []
        guard names.count == columns.count, Set(names) == Set(columns) else {
            throw FileError(path, "line 1: expected the columns \(header) (in any order)")
        }
        let at = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        var rows: [MetricsRow] = []
        for (k, line) in lines.enumerated().dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            func bad() -> FileError { FileError(path, "line \(k + 1): expected \(names.joined(separator: ","))") }
            guard f.count == columns.count else { throw bad() }
            func field(_ c: String) -> String { f[at[c]!] }
            guard let step = Int(field("step")), let epoch = Int(field("epoch")),
                let train = Double(field("train_loss")),
                let lr = Double(field("lr")), let tps = Double(field("tokens_per_s"))
            else { throw bad() }
            var val: Double? = nil
            if !field("val_loss").isEmpty {
                guard let v = Double(field("val_loss")) else { throw bad() }
                val = v
            }
            rows.append(
                MetricsRow(step: step, epoch: epoch, trainLoss: train, valLoss: val, lr: lr, tokensPerSecond: tps))
        }
        return rows
    }
}
