// Everything needed to reproduce a training run; stored as the run folder's config.json.
import Foundation
import Datasets
import IRM
import Llama

public let irmVersion = "0.3.0"

public struct TrainConfig: Codable, Sendable {
    public var programVersion = irmVersion
    // Model.
    public var model: String
    public var modelSHA256: String
    public var tokenizer: String?
    public var dtype: String = "auto"
    // Data.
    public var dataset: String  // as given (name or path)
    public var datasetPath: String
    public var format: String?
    public var label: String?
    public var datasetHash: String = ""
    public var system: String?
    public var limit: Int?  // only the first N examples of the file
    /// What the run learns (TokenizedExample.swift). Written by every new run; nil only in config.json files
    /// from before the option, which trained on ours (.response).
    public var objective: Objective?
    public var split: DatasetSplit
    // The IRM and its optimiser.
    public var irm: IRMConfig
    public var adam: AdamConfig
    // Loop.
    public var batchSize = TrainConfig.defaultBatchSize
    public var seqLen = TrainConfig.defaultSeqLen
    public var epochs = TrainConfig.defaultEpochs
    public var maxSteps: Int?
    public var evalEvery: Int?  // steps between validations; nil = once per epoch
    public var patience = 6  // validations without improvement before stopping
    public var seed: UInt64 = 0
    public var recompute = false
    public var samplePrompts: [String] = []
    public var sampleTokens = 48
    public var runName: String
    /// Hyper-parameters changed on --resume ("from step 40: --lr 1e-05 (was --lr 0.0001)").
    public var changes: [String]?

    public init(
        model: String, modelSHA256: String, dataset: String, datasetPath: String, split: DatasetSplit,
        irm: IRMConfig, adam: AdamConfig, runName: String
    ) {
        self.model = model; self.modelSHA256 = modelSHA256; self.dataset = dataset; self.datasetPath = datasetPath
        self.split = split; self.irm = irm; self.adam = adam; self.runName = runName
    }

    public var trainingObjective: Objective { objective ?? .response }
    public static let defaultBatchSize = 8, defaultSeqLen = 128, defaultEpochs = 10
}

extension TrainConfig {
    /// The first value a config.json read back from disk may not hold, nil when all are usable. The same ranges
    /// as `irm train`'s options; the checks that need the model's shape come when it is known
    /// (`IRMConfig.validate`).
    public var invalidValue: String? {
        let ranges: [(String, Int, ClosedRange<Int>)] = [
            ("batchSize", batchSize, 1...4096), ("seqLen", seqLen, 8...(1 << 24)), ("epochs", epochs, 1...100_000),
            ("patience", patience, 1...100_000), ("sampleTokens", sampleTokens, 0...1_000_000),
            ("limit", limit ?? 1, 1...Int.max), ("maxSteps", maxSteps ?? 1, 1...Int.max),
            ("evalEvery", evalEvery ?? 1, 1...Int.max)
        ]
        for (key, v, r) in ranges where !r.contains(v) {
            return "\(key) \(v) is outside \(r.lowerBound)...\(r.upperBound)"
        }
        // A batch's tokens size the activations: 2^24 is 128 times `irm train`'s largest batch of the default length.
        guard batchSize * seqLen <= 1 << 24 else {
            return "batchSize \(batchSize) × seqLen \(seqLen) tokens is above 2^24"
        }
        guard split.isValid else { return "split: the indices are not a partition of 0..<\(split.count)" }
        do { try irm.checkShape() } catch { return "irm: \(error)" }
        let a = adam
        guard a.lr.isFinite, a.lr > 0, a.eps.isFinite, a.eps > 0, (0..<1).contains(a.beta1), (0..<1).contains(a.beta2),
            (0...1).contains(a.gamma), a.clipNorm.map({ $0.isFinite && $0 > 0 }) ?? true
        else {
            return "adam: lr and eps must be > 0, beta1 and beta2 in [0, 1), gamma in [0, 1], clipNorm > 0"
        }
        return nil
    }
}
