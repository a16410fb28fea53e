// Scoring answers: one answer → classifier label, posteriors, lexicon shares, length; a condition's answers →
// its alignment rate and means. The classifier is NaiveBayes.swift, the lexicon EmotionLexicon.swift.
import Foundation
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

    public init(
        label: String, probabilities: [String: Double], lexicon: [String: Double], lexiconTop: String?,
        words: Int, tokens: Int, endedTurn: Bool
    ) {
        self.label = label; self.probabilities = probabilities; self.lexicon = lexicon; self.lexiconTop = lexiconTop
        self.words = words; self.tokens = tokens; self.endedTurn = endedTurn
    }
}

/// The classifier and the lexicon, together: what scores an answer.
public struct EmotionScorer: Sendable {
    public let classifier: NaiveBayesClassifier
    public let lexicon: EmotionLexicon
    public init(classifier: NaiveBayesClassifier, lexicon: EmotionLexicon) {
        self.classifier = classifier; self.lexicon = lexicon
    }

    public func score(_ text: String, tokens: Int, endedTurn: Bool) -> AnswerScore {
        scoreAnswer(text, tokens: tokens, endedTurn: endedTurn, classifier: classifier, lexicon: lexicon)
    }
}

public func scoreAnswer(
    _ text: String, tokens: Int, endedTurn: Bool, classifier: NaiveBayesClassifier,
    lexicon: EmotionLexicon
) -> AnswerScore {
    let p = classifier.predict(text)
    return AnswerScore(
        label: p.label, probabilities: p.probabilities, lexicon: lexicon.scores(text),
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
public func summarize(name: String, scores: [AnswerScore], target: String?, labels: [String], emotions: [String])
    -> ConditionMetrics
{
    let n = Double(max(scores.count, 1))  // empty conditions report zeros, never NaN (JSON has no NaN)
    func mean(_ f: (AnswerScore) -> Double) -> Double { scores.reduce(0) { $0 + f($1) } / n }
    var shares: [String: Double] = [:]
    for l in labels { shares[l] = mean { $0.label == l ? 1 : 0 } }
    var lex: [String: Double] = [:]
    for e in emotions { lex[e] = mean { $0.lexicon[e] ?? 0 } }
    var m = ConditionMetrics(
        name: name, count: scores.count, meanWords: mean { Double($0.words) },
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
public func resolveTargetEmotion(config: TrainConfig, override: String?, labels: [String]) throws -> (
    emotion: String?, source: String
) {
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
