// Evaluating a trained IRM: answers to held-out questions generated with and without the
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
    public var questions: String  // "test split of <file>" or the file
    public var questionCount: Int
    public var skippedQuestions: Int  // prompts too long for the model's context
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
    public var answers: [EvalAnswer]  // dataset answer (when the file has one) first, then the four conditions
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
    ("irm-greedy", true, false), ("base-greedy", false, false), ("irm-sampled", true, true),
    ("base-sampled", false, true)
]

/// Runs the evaluation of `run` (see the file comment) in four phases: the cheap checks, the answers, their
/// metrics, the perplexities. `progress` receives one line per question.
public func evaluateRun(_ run: RunFolder, options o: EvalOptions, progress: ((String) -> Void)? = nil) throws
    -> EvalReport
{
    let inputs = try EvalInputs(run: run, options: o)
    let config = inputs.config
    let lm = try config.loadModel()
    let net = try loadIRM(run.path, for: lm.model.config)
    let data = try prepareRunData(config, lm: lm, cacheDir: o.cacheDir, objective: .response)
    let questions = Array((inputs.fileQuestions ?? data.test).prefix(o.maxQuestions))
    guard !questions.isEmpty else {
        throw RunError("\(run.path): the run's test split is empty (pass --questions FILE)")
    }

    let injector = IRMInjector(net: net)
    injector.strength = o.strength
    let conditions = evalConditions.map {
        AnswerCondition(name: $0.name, intervention: $0.irm ? injector : nil, sampled: $0.sampled)
    }
    let answered = try answerQuestions(
        questions, lm: lm, system: config.system, conditions: conditions, scorer: inputs.scorer,
        options: o, progress: progress)
    var metrics = conditions.map { answered.metrics($0.name, target: inputs.target, scorer: inputs.scorer) }
    if answered.hasReference {
        metrics.append(answered.metrics("dataset", target: inputs.target, scorer: inputs.scorer))
    }

    // Perplexity with and without the IRM (our training loss, on the response tokens, whatever objective the run
    // trained on): on the validation split as asked, and on the test split, which unlike the validation split
    // did not choose the checkpoint.
    var ppl: PerplexityReport? = nil, testPpl: PerplexityReport? = nil
    if o.perplexity {
        progress?("perplexity over \(data.val.count) validation and \(data.testTokens.count) test examples")
        ppl = try perplexityReport(
            lm: lm, net: net, examples: data.val, batchSize: config.batchSize, strength: o.strength)
        testPpl = try perplexityReport(
            lm: lm, net: net, examples: data.testTokens, batchSize: config.batchSize, strength: o.strength)
    }

    let settings = EvalSettings(
        questions: o.questionsPath ?? "test split of \(config.datasetPath)", questionCount: answered.questions.count,
        skippedQuestions: answered.skipped, maxQuestions: o.maxQuestions, maxTokens: o.maxTokens,
        temperature: o.temperature,
        topP: o.topP, seed: o.seed, sampledSeeds: "seed + question index (the same for with and without the IRM)",
        strength: o.strength, system: config.system, classifier: o.classifierPath, lexicon: o.lexiconPath,
        model: config.model,
        weights: inputs.weightsPath, weightsStep: try? safetensorsMetadata(path: inputs.weightsPath)["step"])
    return EvalReport(
        run: run.path, runName: config.runName, targetEmotion: inputs.target, targetSource: inputs.targetSource,
        settings: settings, conditions: metrics, validation: ppl, test: testPpl, questions: answered.questions)
}

// MARK: phase 1: what can be checked before the model is loaded

/// The run's config, the scorers, the target emotion, the questions file and the weights, each checked.
struct EvalInputs {
    let config: TrainConfig
    let scorer: EmotionScorer
    let target: String?, targetSource: String
    let fileQuestions: [Example]?
    let weightsPath: String

    init(run: RunFolder, options o: EvalOptions) throws {
        config = try run.readConfig()
        scorer = EmotionScorer(
            classifier: try NaiveBayesClassifier.load(path: o.classifierPath),
            lexicon: try EmotionLexicon.load(path: o.lexiconPath))
        (target, targetSource) = try resolveTargetEmotion(
            config: config, override: o.emotion, labels: scorer.classifier.labels)
        if let q = o.questionsPath {
            let examples = try loadExamples(path: q, format: o.questionsFormat, questionsOnly: true)
            guard !examples.isEmpty else { throw FileError(q, "no questions in the file") }
            fileQuestions = examples
        } else {
            fileQuestions = nil
        }
        weightsPath = run.inferenceWeightsPath
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            throw RunError("\(run.path): the run has no IRM weights yet (no irm-best.safetensors and no checkpoint)")
        }
    }
}

// MARK: phase 2: answering the questions under each condition

/// One way of answering: an intervention (nil = the frozen model) and greedy or sampled decoding.
public struct AnswerCondition {
    public var name: String
    public var intervention: Intervention?
    public var sampled: Bool
    public init(name: String, intervention: Intervention?, sampled: Bool) {
        self.name = name; self.intervention = intervention; self.sampled = sampled
    }
}

/// Every question's answers, and every condition's scores (the dataset's own answers under "dataset").
public struct AnsweredQuestions {
    public var questions: [EvalQuestion] = []
    public var scores: [String: [AnswerScore]] = [:]
    /// Questions whose prompt leaves no room to answer within the model's context.
    public var skipped = 0
    /// Every question came with a reference answer (scored as the "dataset" condition).
    public var hasReference = false

    public func metrics(_ name: String, target: String?, scorer: EmotionScorer) -> ConditionMetrics {
        summarize(
            name: name, scores: scores[name] ?? [], target: target, labels: scorer.classifier.labels,
            emotions: scorer.lexicon.emotions)
    }
}

/// Answers each question (chat-formatted with `system`) once per condition. Sampled conditions use seed
/// options.seed + question index, the same for every condition, so they differ only by the intervention.
public func answerQuestions(
    _ questions: [Example], lm: LoadedModel, system: String?, conditions: [AnswerCondition],
    scorer: EmotionScorer, options o: EvalOptions, progress: ((String) -> Void)? = nil
) throws -> AnsweredQuestions {
    let tok = lm.tokenizer
    let isEnd: (Int32) -> Bool = { tok.isEndOfGeneration($0) }
    let maxSeq = lm.model.config.maxSeqLen
    let prompts = questions.map { lm.promptTokens($0.prompt, chat: true, system: system) }
    // The cache for the longest prompt and its answer, not the model's whole context (which the model file states:
    // up to 2^24 positions).
    let state = lm.model.makeState(capacity: min(maxSeq, (prompts.map(\.count).max() ?? 0) + o.maxTokens))
    var r = AnsweredQuestions()
    r.hasReference = questions.allSatisfy { !$0.response.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    let start = Date()
    for (i, q) in questions.enumerated() {
        let ids = prompts[i]
        let budget = min(o.maxTokens, maxSeq - ids.count)
        guard !ids.isEmpty, budget >= 1 else { r.skipped += 1; continue }
        var eq = EvalQuestion(prompt: q.prompt, source: q.source, answers: [])
        if r.hasReference {
            let ref = q.response
            let s = scorer.score(
                ref, tokens: tok.encode(ref, addSpecial: false, parseSpecial: false).count, endedTurn: true)
            eq.answers.append(EvalAnswer(condition: "dataset", text: ref, score: s))
            r.scores["dataset", default: []].append(s)
        }
        for c in conditions {
            let params =
                c.sampled
                ? SamplingParams(temperature: o.temperature, topP: o.topP, seed: o.seed &+ UInt64(i))
                : SamplingParams()
            var sampler = Sampler(params)
            state.reset()
            let gen = try lm.model.generate(
                prompt: ids, maxTokens: budget, sampler: &sampler, state: state,
                intervention: c.intervention, isStop: isEnd)
            let body = gen.filter { !isEnd($0) }
            let text = tok.decode(body, skipSpecial: true).trimmingCharacters(in: .whitespacesAndNewlines)
            let s = scorer.score(text, tokens: body.count, endedTurn: gen.last.map(isEnd) ?? false)
            eq.answers.append(EvalAnswer(condition: c.name, text: text, score: s))
            r.scores[c.name, default: []].append(s)
        }
        r.questions.append(eq)
        let el = Date().timeIntervalSince(start)
        progress?(
            "question \(i + 1)/\(questions.count)  \(formatDuration(el)) elapsed, ETA \(formatDuration(el / Double(i + 1) * Double(questions.count - i - 1)))"
        )
    }
    guard !r.questions.isEmpty else {
        throw RunError("every question's prompt is longer than the model's context (\(maxSeq) tokens)")
    }
    return r
}

// MARK: phase 3: perplexity

/// Mean response-token loss with the IRM (at `strength`) and without, as perplexities; nil for no examples.
public func perplexityReport(
    lm: LoadedModel, net: IRMNetwork, examples ex: [TokenizedExample], batchSize: Int,
    strength: Float = 1
) throws -> PerplexityReport? {
    guard let maxT = ex.map({ $0.ids.count }).max() else { return nil }
    let B = min(batchSize, ex.count)
    let pad = lm.tokenizer.eosId ?? 0
    let arena = TrainingArena(config: lm.model.config, B: B, T: maxT)
    let inj = IRMInjector(net: net, capacity: B * maxT)
    inj.strength = strength
    let on = try responseLoss(model: lm.model, examples: ex, batchSize: B, padId: pad, arena: arena, intervention: inj)
    let off = try responseLoss(model: lm.model, examples: ex, batchSize: B, padId: pad, arena: arena, intervention: nil)
    return PerplexityReport(
        examples: ex.count, tokens: on.count, lossWithIRM: on.mean, lossWithout: off.mean,
        perplexityWithIRM: exp(on.mean), perplexityWithout: exp(off.mean))
}

/// The `__metadata__` strings of a safetensors file (empty if it has none).
func safetensorsMetadata(path: String) throws -> [String: String] {
    try SafetensorsFile(path: path).metadata
}
