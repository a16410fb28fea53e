// `irm analyze`: a run's striations measured on the fixed probe set, tested causally, explained through the
// model, with the stripes over training and the llama.cpp control vector's measurement, in R/analysis.json
// (schema: AnalysisReport.swift). In phases: the inputs (checked before the model loads), the probe pass
// under the IRM (continuations and the IRM's output on every token), the ablations, the explanation, the
// files. `analyzeModel` is the model-only part (`irm analyze --model M`).
import Foundation
import ModelIO
import Llama
import IRM
import Datasets
import Training
import Evaluation
import Figures

public struct AnalysisOptions: Sendable {
    /// Probe questions and tokens per greedy continuation.
    public var questions = 32
    public var maxTokens = 48
    public var datasetsDir = "Datasets"
    /// Target emotion override (default: the run's label or dataset name; EvalOptions.emotion's rule).
    public var emotion: String?
    public var classifierPath = "Datasets/emotion-nb.json"
    public var lexiconPath = "Datasets/emotion-lexicon.json"
    public var cacheDir = "Runs/.cache"
    /// Tokens listed per decoded vector, promoted and suppressed.
    public var decodeTokens = 10
    /// Analyse the last checkpoint (irm.safetensors) instead of the best validation weights (irm-best).
    public var lastWeights = false
    public init() {}

    /// The IRM weights these options pick in `run`.
    public func weightsPath(_ run: RunFolder) -> String {
        lastWeights ? (run.lastWeightsPath ?? run.inferenceWeightsPath) : run.inferenceWeightsPath
    }
}

extension RunFolder {
    public var analysisJSONPath: String { path + "/analysis.json" }
}

public let analysisMeanCSV = "analysis_mean.csv", analysisChartPNG = "striation.png"

// MARK: - The probe pass

/// The probe questions answered greedily under the IRM, with the IRM's output recorded on every token the
/// model ran (each prompt, then each generated token but the last, which is never fed back).
public struct ProbeRecording {
    public var recorder: StriationRecorder
    public var continuations: [String]
    public var promptTokens: [Int]
    public var continuationTokens: [Int]
}

/// Questions whose chat prompt leaves no room for one generated token are left out by the caller
/// (`fittingQuestions`), so every pass over the probe sees the same list.
public func recordProbe(
    lm: LoadedModel, net: IRMNetwork, questions: [String], system: String?, maxTokens: Int,
    progress: ((String) -> Void)? = nil
) throws -> ProbeRecording {
    let c = net.config, tok = lm.tokenizer, maxSeq = lm.model.config.maxSeqLen
    var r = ProbeRecording(
        recorder: StriationRecorder(hidden: c.hidden, slots: c.layers.count), continuations: [],
        promptTokens: [], continuationTokens: [])
    let inj = IRMInjector(net: net)
    r.recorder.attach(to: inj)
    let prompts = questions.map { lm.promptTokens($0, chat: true, system: system) }
    let state = lm.model.makeState(capacity: min(maxSeq, (prompts.map(\.count).max() ?? 0) + maxTokens))
    for (k, ids) in prompts.enumerated() {
        state.reset()
        var sampler = Sampler(SamplingParams())
        let out = try lm.model.generate(
            prompt: ids, maxTokens: min(maxTokens, maxSeq - ids.count), sampler: &sampler,
            state: state, intervention: inj, isStop: { tok.isEndOfGeneration($0) })
        let body = out.filter { !tok.isEndOfGeneration($0) }
        r.continuations.append(tok.decode(body, skipSpecial: true).trimmingCharacters(in: .whitespacesAndNewlines))
        r.promptTokens.append(ids.count); r.continuationTokens.append(body.count)
        progress?("probe \(k + 1)/\(prompts.count) under the IRM")
    }
    return r
}

/// The questions of `sel` whose chat prompt fits the model's context with room for one token.
public func fittingQuestions(_ sel: ProbeSelection, lm: LoadedModel, system: String?) -> [Int] {
    sel.questions.indices.filter {
        let n = lm.promptTokens(sel.questions[$0], chat: true, system: system).count
        return n > 0 && n < lm.model.config.maxSeqLen
    }
}

// MARK: - A run's analysis

public func analyzeRun(_ run: RunFolder, options o: AnalysisOptions, progress: ((String) -> Void)? = nil) throws
    -> AnalysisReport
{
    // Inputs, checked before the model is loaded.
    let config = try run.readConfig()
    let scorer = EmotionScorer(
        classifier: try NaiveBayesClassifier.load(path: o.classifierPath),
        lexicon: try EmotionLexicon.load(path: o.lexiconPath))
    let (target, targetSource) = try resolveTargetEmotion(
        config: config, override: o.emotion, labels: scorer.classifier.labels)
    let weightsPath = o.weightsPath(run)
    guard FileManager.default.fileExists(atPath: weightsPath) else {
        throw RunError(
            "\(run.path): the run has no IRM weights yet (no \((weightsPath as NSString).lastPathComponent))")
    }
    let sel = try selectProbeQuestions(datasetsDir: o.datasetsDir, count: o.questions)
    let training = try readStriationCSV(run.striationPath)

    let lm = try config.loadModel()
    let net = try loadIRM(weightsPath, for: lm.model.config)
    let data = try prepareRunData(config, lm: lm, cacheDir: o.cacheDir)
    let c = net.config, h = c.hidden, mc = lm.model.config
    let keep = fittingQuestions(sel, lm: lm, system: config.system)
    let questions = keep.map { sel.questions[$0] }
    guard !questions.isEmpty else {
        throw RunError("every probe question is longer than the model's context (\(mc.maxSeqLen) tokens)")
    }

    // The probe pass: continuations and the striation statistics.
    let rec = try recordProbe(
        lm: lm, net: net, questions: questions, system: config.system, maxTokens: o.maxTokens,
        progress: progress)
    let striation = rec.recorder.report(meanMatrixCSV: analysisMeanCSV)
    let mean = rec.recorder.mean
    let trainPrompts = Set(
        config.split.trainIndices.filter { $0 < data.examples.count }.map { data.examples[$0].prompt })
    let probeQuestions = keep.enumerated().map { k, q in
        ProbeQuestion(
            row: sel.rows[q], question: sel.questions[q], heldOutByDefault: sel.heldOutByDefault[q],
            inTrainingSplit: trainPrompts.contains(sel.questions[q]), continuation: rec.continuations[k],
            promptTokens: rec.promptTokens[k], continuationTokens: rec.continuationTokens[k])
    }
    let probe = ProbeSet(
        seed: sel.seed, requested: sel.requested, selection: sel.selection, system: config.system,
        maxTokens: o.maxTokens, tokens: rec.recorder.tokens,
        inTrainingSplit: probeQuestions.filter(\.inTrainingSplit).count, questions: probeQuestions)

    // The frozen model's residual statistics (cached per model and probe): its massive dims, and below the
    // explanation of the top indices.
    progress?("residual statistics of the frozen model")
    let residual = try cachedResidualStats(
        lm: lm, modelSHA256: config.modelSHA256, probe: sel, system: config.system,
        cacheDir: o.cacheDir)
    let massive = topDimensions(residual.stats.rms, rows: residual.stats.nLayers, dim: residual.stats.dim, count: 16)

    // The causal tests.
    let meanVectors = meanInjectionVectors(mean: mean, layers: c.layers, hidden: h)
    let cv = try controlVectorDirections(mean: mean, layers: c.layers, nLayers: mc.nLayers, hidden: h)
    let conditions = ablationConditions(
        net: net, top: striation.topIndices.map(\.index), meanVectors: meanVectors, controlVector: cv,
        massive: massive, mean: mean)
    let ablations = try runAblations(
        conditions, lm: lm, validation: data.val, batchSize: config.batchSize,
        questions: questions.map { Example(prompt: $0, response: "", source: "probe") },
        system: config.system, scorer: scorer, target: target, maxTokens: o.maxTokens,
        objective: config.trainingObjective, progress: progress)

    // The explanation through the model.
    let explanation = explainIndices(
        lm: lm, modelSHA256: config.modelSHA256, residual: residual, striation: striation,
        mean: mean, layers: c.layers, tokens: o.decodeTokens)

    // Files.
    var files = [analysisMeanCSV]
    try writeMatrixCSV(
        values: mean.map { Float($0) }, rows: c.layers.count, cols: h, rowLabels: c.layers.map(String.init),
        path: run.path + "/" + analysisMeanCSV)
    var chart: String? = nil
    if !training.isEmpty {
        try writeStriationChart(
            training, title: "\(config.runName): stripes over training", path: run.path + "/" + analysisChartPNG)
        chart = analysisChartPNG
        files.append(analysisChartPNG)
    }
    return AnalysisReport(
        programVersion: irmVersion, run: run.path, runName: config.runName, model: config.model,
        weights: weightsPath, weightsStep: try? SafetensorsFile(path: weightsPath).metadata["step"],
        targetEmotion: target, targetSource: targetSource, hidden: h, injectionLayers: c.layers, probe: probe,
        striation: striation, training: training, trainingChart: chart, ablations: ablations,
        explanation: explanation, controlVector: controlVectorReport(ablations, layerCount: mc.nLayers - 1, length: h),
        files: files)
}

/// Writes analysis.json atomically.
public func writeAnalysis(_ r: AnalysisReport, run: RunFolder) throws {
    try writeJSONFile(r, to: run.analysisJSONPath)
}

/// (x − frozen) / (irm − frozen) for the control vector and the mean vector, on alignment and loss.
func controlVectorReport(_ a: AblationReport, layerCount: Int, length: Int) -> ControlVectorReport {
    func kept(_ name: String, _ f: (AblationRow) -> Double?) -> Double? {
        guard let x = a.row(name).flatMap(f), let i = a.row("irm").flatMap(f), let z = a.row("frozen").flatMap(f),
            abs(i - z) > 1e-12
        else { return nil }
        return (x - z) / (i - z)
    }
    let align: (AblationRow) -> Double? = { $0.greedy.alignmentRate },
        loss: (AblationRow) -> Double? = { $0.validationLoss }
    return ControlVectorReport(
        mapping: controlVectorMapping, layerCount: layerCount, length: length,
        alignmentKept: kept("control-vector", align), lossKept: kept("control-vector", loss),
        meanVectorAlignmentKept: kept("mean-vector", align), meanVectorLossKept: kept("mean-vector", loss))
}

// MARK: - The explanation

/// Where each of the striation's top indices ranks in the frozen model's statistics, and the decoded vectors.
public func explainIndices(
    lm: LoadedModel, modelSHA256: String, residual r: (stats: ResidualStats, path: String, fromCache: Bool),
    striation: StriationReport, mean: [Double], layers: [Int], tokens k: Int
) -> IndexExplanation {
    let s = r.stats, d = s.dim, n = s.nLayers, L = layers.count
    let gains = normGains(lm.model)
    // The vectors to decode: each top index's push, each slot's mean injection, their sum.
    var vectors: [[Float]] = [], labels: [String] = []
    for t in striation.topIndices {
        var v = [Float](repeating: 0, count: d)
        let push = (0..<L).reduce(0.0) { $0 + mean[$1 * d + t.index] }
        v[t.index] = push != 0 ? Float(push) : 1
        vectors.append(v); labels.append("index \(t.index)")
    }
    var sum = [Float](repeating: 0, count: d)
    for (j, l) in layers.enumerated() {
        let v = (0..<d).map { Float(mean[j * d + $0]) }
        for i in 0..<d { sum[i] += v[i] }
        vectors.append(v); labels.append("layer \(l)")
    }
    vectors.append(sum); labels.append("sum")
    let decoded = decodeVectors(vectors, labels: labels, lm: lm, tokens: k)
    let profiles = striation.topIndices.enumerated().map { q, t in
        IndexProfile(
            index: t.index,
            rms: indexRank(s.rms, rows: n, dim: d, index: t.index),
            rmsNoFirst: indexRank(s.rmsNoFirst, rows: n, dim: d, index: t.index),
            signConsistency: indexRank(s.signConsistency, rows: n, dim: d, index: t.index),
            meanNoFirst: (0..<n).reduce(0.0) { $0 + Double(s.meanNoFirst[$1 * d + t.index]) } / Double(n),
            attnNorm: indexRank(gains.attn, rows: n, dim: d, index: t.index),
            ffnNorm: indexRank(gains.ffn, rows: n, dim: d, index: t.index),
            finalNorm: indexRank(gains.final, rows: 1, dim: d, index: t.index, perRow: false),
            decoded: decoded[q])
    }
    let summary = ResidualSummary(
        model: lm.model.path, modelSHA256: modelSHA256, cacheFile: r.path, tokens: s.tokens,
        firstTokens: s.firstTokens, topRMS: topDimensions(s.rms, rows: n, dim: d, count: 16),
        topRMSNoFirst: topDimensions(s.rmsNoFirst, rows: n, dim: d, count: 16))
    return IndexExplanation(
        residual: summary, indices: profiles, meanInjection: Array(decoded[striation.topIndices.count...]))
}

/// Vectors of the residual space through the final norm and the LM head, promoted and suppressed tokens.
func decodeVectors(_ vectors: [[Float]], labels: [String], lm: LoadedModel, tokens k: Int) -> [DecodedVector] {
    let dec = LMHeadDecoder(model: lm.model)
    let kk = min(k, dec.vocab)
    precondition(vectors.allSatisfy { $0.count == dec.dim })
    let flat = vectors.flatMap { $0 }
    let r = flat.withUnsafeBufferPointer {
        dec.decode(vectors: $0.baseAddress!, count: vectors.count, topK: kk, bottomK: kk)
    }
    func tokens(_ list: [(id: Int32, prob: Float)]) -> [DecodedToken] {
        list.map {
            DecodedToken(
                id: Int($0.id), text: displayText(lm.tokenizer.tokenBytes($0.id)), probability: Double($0.prob))
        }
    }
    return vectors.indices.map { i in
        let v = vectors[i], norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        return DecodedVector(label: labels[i], norm: norm, promoted: tokens(r.top(i)), suppressed: tokens(r.bottom(i)))
    }
}

// MARK: - The model alone

public struct ModelResidualReport: Sendable {
    public var stats: ResidualStats
    public var cacheFile: String
    public var fromCache: Bool
    public var attnNorm: [Float], ffnNorm: [Float], finalNorm: [Float]
}

/// `irm analyze --model M`: the residual statistics of the frozen model on the probe prompts (cached) and its norms.
public func analyzeModel(_ lm: LoadedModel, modelSHA256: String, options o: AnalysisOptions) throws
    -> ModelResidualReport
{
    let sel = try selectProbeQuestions(datasetsDir: o.datasetsDir, count: o.questions)
    let r = try cachedResidualStats(lm: lm, modelSHA256: modelSHA256, probe: sel, system: nil, cacheDir: o.cacheDir)
    let g = normGains(lm.model)
    return ModelResidualReport(
        stats: r.stats, cacheFile: r.path, fromCache: r.fromCache, attnNorm: g.attn, ffnNorm: g.ffn,
        finalNorm: g.final)
}
