// A run's data, loaded exactly as `irm train` loaded it: the examples of config.datasetPath (format, label,
// limit from config.json), checked against the stored split, tokenised with the model's chat template
// (cached in Runs/.cache) and divided into train / validation / test. `irm train` and `irm eval` both use
// this, so an evaluation sees precisely the questions the run held out.
import Foundation
import Datasets
import ModelIO
import Llama

/// The run's examples as config.json describes them (before the split).
public func loadRunExamples(_ c: TrainConfig) throws -> [Example] {
    var ex = try loadExamples(
        path: c.datasetPath, format: c.format.flatMap(DatasetFormat.init(rawValue:)), label: c.label)
    if let n = c.limit { ex = Array(ex.prefix(n)) }
    guard !ex.isEmpty else { throw FileError(c.datasetPath, "the dataset has no examples") }
    return ex
}

public struct RunData: Sendable {
    public var examples: [Example]
    public var train: [TokenizedExample]
    public var val: [TokenizedExample]
    /// The test examples tokenised like the others (for a held-out perplexity).
    public var testTokens: [TokenizedExample]
    /// The held-out test examples (as text: evaluation generates its own answers to their prompts).
    public var test: [Example]
    /// The prompts of the first two validation examples (default sample prompts for samples.txt).
    public var valPrompts: [String]
    /// Examples left out because their prompt alone is longer than config.seqLen.
    public var dropped: Int
}

/// Examples → split → tokens (cached per model in `cacheDir`), under the run's objective unless `objective` says
/// otherwise (evaluation measures every run on the response tokens).
public func prepareRunData(
    _ c: TrainConfig, lm: LoadedModel, cacheDir: String = "Runs/.cache",
    objective: Objective? = nil
) throws -> RunData {
    let objective = objective ?? c.trainingObjective
    let examples = try loadRunExamples(c)
    guard examples.count == c.split.count else {
        throw FileError(
            c.datasetPath,
            "has \(examples.count) examples but the run's split was made for \(c.split.count) (the file changed)")
    }
    guard c.split.isValid else {
        throw RunError("the run's split in config.json is not a partition of 0..<\(c.split.count)")
    }
    let key = tokenCacheKey(
        modelIdentity: c.modelSHA256, examples: examples, template: lm.template, system: c.system,
        maxLength: c.seqLen, objective: objective)
    let ds = try cachedTokenize(
        examples: examples, tokenizer: lm.tokenizer, template: lm.template, system: c.system,
        maxLength: c.seqLen, objective: objective, cacheDir: cacheDir, key: key)
    let trainSet = Set(c.split.trainIndices), valSet = Set(c.split.valIndices), testSet = Set(c.split.testIndices)
    var d = RunData(
        examples: examples, train: [], val: [], testTokens: [], test: c.split.testIndices.map { examples[$0] },
        valPrompts: c.split.valIndices.prefix(2).map { examples[$0].prompt }, dropped: ds.dropped.count)
    for (k, src) in ds.sourceIndices.enumerated() {
        if trainSet.contains(src) { d.train.append(ds.examples[k]) }
        if valSet.contains(src) { d.val.append(ds.examples[k]) }
        if testSet.contains(src) { d.testTokens.append(ds.examples[k]) }
    }
    return d
}
