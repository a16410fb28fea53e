// Evaluating a trained IRM (Issue 4, item 4): answers to held-out questions generated with and without the
// IRM, scored by the emotion classifier (NaiveBayes.swift) and the lexicon (EmotionLexicon.swift), plus the
// validation perplexity with and without the IRM.
//
// Conditions: {IRM on, off} × {greedy, sampled}. Greedy and sampled decoding with the same sampler seed for
// both IRM conditions: question i uses seed + i, so with/without draw the same random numbers and differ only
// by the injection. The dataset's own answers to the same questions are scored as a reference row (what the
// IRM was trained to imitate; e.g. the classifier labels 42 % of anger.csv's answers "anger").
//
// Alignment rate = share of answers whose classifier argmax is the target emotion. The target is the run's
// `label` (labelled text), else the dataset file's name when it is one of the classifier's labels (anger.csv →
// anger), else `--emotion`. A run without one (neutral.csv) reports the label distributions and the per-emotion
// lexicon means only; its alignment fields are absent from eval.json unless --emotion names a target.
import Foundation
import Numerics
import ModelIO
import Llama
import IRM
import Datasets
import Training

// MARK: - Scoring one answer

public struct AnswerScore: Codable, Sendable, Equatable {
    /// The classifier's most probable label and every label's posterior.
    public var label: String
    public var probabilities: [String: Double]
    /// Lexicon share per emotion, and the emotion with the highest share (nil: no lexicon word).
    public var lexicon: [String: Double]
    public var lexiconTop: String?
    public var words: Int
    public var tokens: Int
    /// Whether the answer ended with the end-of-turn token (false: cut at --max-tokens).
    public var endedTurn: Bool

    public init(label: String, probabilities: [String: Double], lexicon: [String: Double], lexiconTop: String?,
                words: Int, tokens: Int, endedTurn: Bool) {
        self.label = label; self.probabilities = probabilities; self.lexicon = lexicon; self.lexiconTop = lexiconTop
        self.words = words; self.tokens = tokens; self.endedTurn = endedTurn
    }
}

public func scoreAnswer(_ text: String, tokens: Int, endedTurn: Bool, classifier: NaiveBayesClassifier,
                        lexicon: EmotionLexicon) -> AnswerScore {
    let p = classifier.predict(text)
    return AnswerScore(label: p.label, probabilities: p.probabilities, lexicon: lexicon.scores(text),
                       lexiconTop: lexicon.dominant(text), words: WordTokenizer.words(text).count, tokens: tokens,
                       endedTurn: endedTurn)
}

// MARK: - Metrics of one condition

public struct ConditionMetrics: Codable, Sendable, Equatable {
    /// "irm-greedy", "base-greedy", "irm-sampled", "base-sampled" or "dataset" (the dataset's own answers).
    public var name: String
    public var count: Int
    /// Share of answers the classifier labels with the target emotion (nil without a target).
    public var alignmentRate: Double?
    /// Mean classifier probability of the target emotion.
    public var meanTargetProbability: Double?
    /// Mean lexicon share (words in the target's list / words) of the target emotion.
    public var meanTargetLexicon: Double?
    /// Share of answers whose highest lexicon score is the target emotion.
    public var lexiconTopRate: Double?
    public var meanWords: Double
    public var meanTokens: Double
    /// Share of answers that ended their turn before the token limit.
    public var endedTurnRate: Double
    /// Share of answers given each classifier label (every label present, 0 included).
    public var labelShares: [String: Double]
    /// Mean lexicon share of each emotion.
    public var meanLexicon: [String: Double]
}

/// The metrics of `scores` (one condition). `labels`: the classifier's labels; `emotions`: the lexicon's.
public func summarize(name: String, scores: [AnswerScore], target: String?, labels: [String], emotions: [String]) -> ConditionMetrics {
    let n = Double(max(scores.count, 1))   // empty conditions report zeros, never NaN (JSON has no NaN)
    func mean(_ f: (AnswerScore) -> Double) -> Double { scores.reduce(0) { $0 + f($1) } / n }
    var shares: [String: Double] = [:]
    for l in labels { shares[l] = mean { $0.label == l ? 1 : 0 } }
    var lex: [String: Double] = [:]
    for e in emotions { lex[e] = mean { $0.lexicon[e] ?? 0 } }
    var m = ConditionMetrics(name: name, count: scores.count, meanWords: mean { Double($0.words) },
                             meanTokens: mean { Double($0.tokens) }, endedTurnRate: mean { $0.endedTurn ? 1 : 0 },
                             labelShares: shares, meanLexicon: lex)
    if let t = target {
        m.alignmentRate = mean { $0.label == t ? 1 : 0 }
        m.meanTargetProbability = mean { $0.probabilities[t] ?? 0 }
        m.meanTargetLexicon = mean { $0.lexicon[t] ?? 0 }
        m.lexiconTopRate = mean { $0.lexiconTop == t ? 1 : 0 }
    }
    return m
}

// MARK: - Target emotion

/// The emotion an evaluation measures alignment with, and where it came from: `override` (--emotion, which
/// must be one of `labels`), else the run's `label`, else the dataset file's base name, when either is one of
/// `labels`; nil (with the reason) otherwise.
public func resolveTargetEmotion(config: TrainConfig, override: String?, labels: [String]) throws -> (emotion: String?, source: String) {
    if let e = override {
        guard labels.contains(e) else {
            throw RunError("--emotion '\(e)' is not one of the classifier's labels (\(labels.joined(separator: ", ")))")
        }
        return (e, "--emotion")
    }
    if let l = config.label {
        return labels.contains(l) ? (l, "the run's label") : (nil, "the run's label '\(l)' is not a classifier label")
    }
    let base = ((config.datasetPath as NSString).lastPathComponent as NSString).deletingPathExtension.lowercased()
    if labels.contains(base) { return (base, "the dataset's name") }
    return (nil, "'\(base)' is not a classifier label; pass --emotion to measure alignment")
}

// MARK: - The evaluation

public struct EvalOptions: Sendable {
    /// Questions: a dataset file (any format loadExamples reads; its prompts are used), nil = the run's test split.
    public var questionsPath: String?
    public var questionsFormat: DatasetFormat?
    public var maxQuestions = 100
    public var emotion: String?
    public var seed: UInt64 = 0
    public var maxTokens = 64
    public var temperature: Float = 0.7
    public var topP: Float = 0.9
    /// Injection scale of the "with IRM" conditions.
    public var strength: Float = 1
    public var classifierPath = "Datasets/emotion-nb.json"
    public var lexiconPath = "Datasets/emotion-lexicon.json"
    public var perplexity = true
    public var cacheDir = "Runs/.cache"
    public init() {}
}

public struct EvalSettings: Codable, Sendable, Equatable {
    public var questions: String          // "test split of <file>" or the file
    public var questionCount: Int
    public var skippedQuestions: Int      // prompts too long for the model's context
    public var maxQuestions: Int
    public var maxTokens: Int
    public var temperature: Float
    public var topP: Float
    public var seed: UInt64
    public var sampledSeeds: String
    public var strength: Float
    public var system: String?
    public var classifier: String
    public var lexicon: String
    public var model: String
    public var weights: String
    public var weightsStep: String?
}

public struct PerplexityReport: Codable, Sendable, Equatable {
    public var examples: Int
    public var tokens: Int
    public var lossWithIRM: Double
    public var lossWithout: Double
    public var perplexityWithIRM: Double
    public var perplexityWithout: Double
}

public struct EvalAnswer: Codable, Sendable, Equatable {
    public var condition: String
    public var text: String
    public var score: AnswerScore
}

public struct EvalQuestion: Codable, Sendable, Equatable {
    public var prompt: String
    public var source: String
    public var answers: [EvalAnswer]    // dataset answer (when the file has one) first, then the four conditions
}

public struct EvalReport: Codable, Sendable {
    public var programVersion = irmVersion
    public var run: String
    public var runName: String
    public var targetEmotion: String?
    public var targetSource: String
    public var settings: EvalSettings
    public var conditions: [ConditionMetrics]
    /// Perplexity on the run's validation split (which picked irm-best) and on its test split.
    public var validation: PerplexityReport?
    public var test: PerplexityReport?
    public var questions: [EvalQuestion]

    public func condition(_ name: String) -> ConditionMetrics? { conditions.first { $0.name == name } }
}

/// The generation conditions in report order: (name, IRM on, sampled).
public let evalConditions: [(name: String, irm: Bool, sampled: Bool)] = [
    ("irm-greedy", true, false), ("base-greedy", false, false), ("irm-sampled", true, true), ("base-sampled", false, true),
]

/// Runs the evaluation of `run` (see the file comment). Cheap checks (run folder, classifier, lexicon, target
/// emotion, questions file) come before the model is loaded. `progress` receives one line per question.
public func evaluateRun(_ run: RunFolder, options o: EvalOptions, progress: ((String) -> Void)? = nil) throws -> EvalReport {
    let config = try run.readConfig()
    let classifier = try NaiveBayesClassifier.load(path: o.classifierPath)
    let lexicon = try EmotionLexicon.load(path: o.lexiconPath)
    let (target, targetSource) = try resolveTargetEmotion(config: config, override: o.emotion, labels: classifier.labels)
    var fileQuestions: [Example]? = nil
    if let q = o.questionsPath {
        fileQuestions = try loadExamples(path: q, format: o.questionsFormat)
        guard !fileQuestions!.isEmpty else { throw DatasetError(q, "no questions in the file") }
    }
    let weightsPath = run.inferenceWeightsPath
    guard FileManager.default.fileExists(atPath: weightsPath) else {
        throw RunError("\(run.path): the run has no IRM weights yet (no irm-best.safetensors or irm.safetensors)")
    }
    let lm = try config.loadModel()
    let net = try loadIRM(run.path, for: lm.model.config)
    let data = try prepareRunData(config, lm: lm, cacheDir: o.cacheDir)
    let questions = Array((fileQuestions ?? data.test).prefix(o.maxQuestions))
    guard !questions.isEmpty else { throw RunError("\(run.path): the run's test split is empty (pass --questions FILE)") }

    // Generation.
    let injector = IRMInjector(net: net)
    injector.strength = o.strength
    let tok = lm.tokenizer
    let isEnd: (Int32) -> Bool = { tok.isEndOfGeneration($0) }
    let maxSeq = lm.model.config.maxSeqLen
    let state = lm.model.makeState(capacity: maxSeq)
    var out: [EvalQuestion] = []
    var scores: [String: [AnswerScore]] = [:]
    var skipped = 0
    let hasReference = questions.allSatisfy { !$0.response.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    let start = Date()
    for (i, q) in questions.enumerated() {
        let ids = lm.promptTokens(q.prompt, chat: true, system: config.system)
        let budget = min(o.maxTokens, maxSeq - ids.count)
        guard !ids.isEmpty, budget >= 1 else { skipped += 1; continue }
        var eq = EvalQuestion(prompt: q.prompt, source: q.source, answers: [])
        if hasReference {
            let ref = q.response
            let s = scoreAnswer(ref, tokens: tok.encode(ref, addSpecial: false, parseSpecial: false).count, endedTurn: true,
                                classifier: classifier, lexicon: lexicon)
            eq.answers.append(EvalAnswer(condition: "dataset", text: ref, score: s))
            scores["dataset", default: []].append(s)
        }
        for c in evalConditions {
            let params = c.sampled ? SamplingParams(temperature: o.temperature, topP: o.topP, seed: o.seed &+ UInt64(i))
                                   : SamplingParams()
            var sampler = Sampler(params)
            state.reset()
            let gen = try lm.model.generate(prompt: ids, maxTokens: budget, sampler: &sampler, state: state,
                                            intervention: c.irm ? injector : nil, isStop: isEnd)
            let body = gen.filter { !isEnd($0) }
            let text = tok.decode(body, skipSpecial: true).trimmingCharacters(in: .whitespacesAndNewlines)
            let s = scoreAnswer(text, tokens: body.count, endedTurn: gen.last.map(isEnd) ?? false,
                                classifier: classifier, lexicon: lexicon)
            eq.answers.append(EvalAnswer(condition: c.name, text: text, score: s))
            scores[c.name, default: []].append(s)
        }
        out.append(eq)
        let el = Date().timeIntervalSince(start)
        progress?("question \(i + 1)/\(questions.count)  \(formatDuration(el)) elapsed, ETA \(formatDuration(el / Double(i + 1) * Double(questions.count - i - 1)))")
    }
    guard !out.isEmpty else { throw RunError("every question's prompt is longer than the model's context (\(maxSeq) tokens)") }
    let labels = classifier.labels, emotions = lexicon.emotions
    var conditions = evalConditions.map { summarize(name: $0.name, scores: scores[$0.name] ?? [], target: target, labels: labels, emotions: emotions) }
    if hasReference {
        conditions.append(summarize(name: "dataset", scores: scores["dataset"] ?? [], target: target, labels: labels, emotions: emotions))
    }

    // Perplexity with and without the IRM (the training loss, on the response tokens): on the validation split
    // as asked, and on the test split, which unlike the validation split did not choose the checkpoint.
    var ppl: PerplexityReport? = nil, testPpl: PerplexityReport? = nil
    if o.perplexity {
        let pad = tok.eosId ?? 0
        func perplexity(_ ex: [TokenizedExample]) throws -> PerplexityReport? {
            guard !ex.isEmpty else { return nil }
            let maxT = ex.map { $0.ids.count }.max()!
            let B = min(config.batchSize, ex.count)
            let arena = TrainingArena(config: lm.model.config, B: B, T: maxT)
            let inj = IRMInjector(net: net, capacity: B * maxT)
            inj.strength = o.strength
            let on = try responseLoss(model: lm.model, examples: ex, batchSize: B, padId: pad, arena: arena, intervention: inj)
            let off = try responseLoss(model: lm.model, examples: ex, batchSize: B, padId: pad, arena: arena, intervention: nil)
            return PerplexityReport(examples: ex.count, tokens: on.count, lossWithIRM: on.mean, lossWithout: off.mean,
                                    perplexityWithIRM: exp(on.mean), perplexityWithout: exp(off.mean))
        }
        progress?("perplexity over \(data.val.count) validation and \(data.testTokens.count) test examples")
        ppl = try perplexity(data.val)
        testPpl = try perplexity(data.testTokens)
    }

    let settings = EvalSettings(
        questions: o.questionsPath ?? "test split of \(config.datasetPath)", questionCount: out.count, skippedQuestions: skipped,
        maxQuestions: o.maxQuestions, maxTokens: o.maxTokens, temperature: o.temperature, topP: o.topP, seed: o.seed,
        sampledSeeds: "seed + question index (the same for with and without the IRM)", strength: o.strength,
        system: config.system, classifier: o.classifierPath, lexicon: o.lexiconPath, model: config.model,
        weights: weightsPath, weightsStep: try? safetensorsMetadata(path: weightsPath)["step"])
    return EvalReport(run: run.path, runName: config.runName, targetEmotion: target, targetSource: targetSource,
                      settings: settings, conditions: conditions, validation: ppl, test: testPpl, questions: out)
}

/// The `__metadata__` strings of a safetensors file (empty if it has none).
func safetensorsMetadata(path: String) throws -> [String: String] {
    try SafetensorsFile(path: path).metadata
}

// MARK: - Output

extension RunFolder {
    public var evalJSONPath: String { path + "/eval.json" }
    public var evalSamplesPath: String { path + "/eval_samples.md" }
}

/// Writes eval.json and eval_samples.md into the run folder, each atomically.
public func writeEvalOutputs(_ r: EvalReport, run: RunFolder) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeFileAtomically(run.evalJSONPath, [UInt8](try e.encode(r)))
    try writeFileAtomically(run.evalSamplesPath, Array(evalSamplesMarkdown(r).utf8))
}

func conditionTitle(_ name: String) -> String {
    switch name {
    case "irm-greedy": "IRM, greedy"
    case "base-greedy": "no IRM, greedy"
    case "irm-sampled": "IRM, sampled"
    case "base-sampled": "no IRM, sampled"
    case "dataset": "dataset answer"
    default: name
    }
}

public func evalSamplesMarkdown(_ r: EvalReport) -> String {
    let t = r.targetEmotion
    var s = "# Evaluation of \(r.runName)\n\n"
    s += "Questions: \(r.settings.questions) (\(r.settings.questionCount)). Target emotion: \(t ?? "none") (\(r.targetSource)). "
    s += "Greedy, and sampled at temperature \(r.settings.temperature), top-p \(r.settings.topP), seed \(r.settings.seed) + question index; "
    s += "at most \(r.settings.maxTokens) tokens. Labels from the naive Bayes classifier (\(r.settings.classifier))"
    s += t.map { "; P = its probability of \($0)" } ?? ""
    s += ".\n\n"
    for (i, q) in r.questions.enumerated() {
        s += "## \(i + 1). \(oneLine(q.prompt))\n\n"
        for a in q.answers {
            var tag = a.score.label
            if let t { tag += String(format: ", P(%@) %.2f", t, a.score.probabilities[t] ?? 0) }
            if !a.score.endedTurn { tag += ", cut" }
            s += "- **\(conditionTitle(a.condition))** (\(tag)): \(oneLine(a.text).isEmpty ? "*(empty)*" : oneLine(a.text))\n"
        }
        s += "\n"
    }
    return s
}

func oneLine(_ s: String) -> String {
    s.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
}

/// A short aligned table of the report for the terminal.
public func evalTable(_ r: EvalReport) -> String {
    let t = r.targetEmotion
    func f(_ x: Double?, _ digits: Int = 3) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "-" }
    func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
        s.count >= w ? s : (left ? s + String(repeating: " ", count: w - s.count) : String(repeating: " ", count: w - s.count) + s)
    }
    var s = "\(r.run): \(r.settings.questionCount) questions (\(r.settings.questions)); target emotion \(t ?? "none") (\(r.targetSource))\n"
    let head = ["aligned", "P(\(t ?? "target"))", "lexicon", "lex-top", "words", "tokens", "ended"]
    s += pad("", 17, left: true) + head.map { pad($0, 11) }.joined() + "\n"
    for c in r.conditions {
        let cells = [f(c.alignmentRate), f(c.meanTargetProbability), f(c.meanTargetLexicon), f(c.lexiconTopRate),
                     f(c.meanWords, 1), f(c.meanTokens, 1), f(c.endedTurnRate, 2)]
        s += pad(conditionTitle(c.name), 17, left: true) + cells.map { pad($0, 11) }.joined() + "\n"
    }
    let labels = r.conditions.first.map { $0.labelShares.keys.sorted() } ?? []
    s += "labels:          " + labels.map { pad($0, 9) }.joined() + "\n"
    for c in r.conditions {
        s += pad(conditionTitle(c.name), 17, left: true) + labels.map { pad(f(c.labelShares[$0], 2), 9) }.joined() + "\n"
    }
    for (name, p) in [("validation", r.validation), ("test", r.test)] {
        guard let v = p else { continue }
        s += String(format: "%@ perplexity: %.2f with the IRM, %.2f without (loss %.4f vs %.4f; %d examples, %d tokens)\n",
                    name, v.perplexityWithIRM, v.perplexityWithout, v.lossWithIRM, v.lossWithout, v.examples, v.tokens)
    }
    return s
}
