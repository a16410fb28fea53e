import Foundation
import XCTest
import IRM
@testable import Evaluation
import Training
import Datasets
import TestSupport

/// The metric arithmetic of `irm eval` (Evaluation.swift), on hand-made scores.
final class EvaluationTests: XCTestCase {
    let labels = ["anger", "fear", "joy"]
    let emotions = ["anger", "joy"]

    func score(
        _ label: String, pAnger: Double, lexAnger: Double, top: String?, words: Int, tokens: Int, ended: Bool = true
    ) -> AnswerScore {
        AnswerScore(
            label: label, probabilities: ["anger": pAnger, "fear": 0, "joy": 1 - pAnger],
            lexicon: ["anger": lexAnger, "joy": 0.5], lexiconTop: top, words: words, tokens: tokens, endedTurn: ended)
    }

    func testSummarizeWithTarget() {
        let s = [
            score("anger", pAnger: 0.9, lexAnger: 0.2, top: "anger", words: 10, tokens: 14),
            score("joy", pAnger: 0.3, lexAnger: 0.0, top: nil, words: 20, tokens: 25, ended: false),
            score("anger", pAnger: 0.6, lexAnger: 0.1, top: "joy", words: 30, tokens: 36),
            score("fear", pAnger: 0.2, lexAnger: 0.1, top: "anger", words: 40, tokens: 45)
        ]
        let m = summarize(name: "irm-greedy", scores: s, target: "anger", labels: labels, emotions: emotions)
        XCTAssertEqual(m.count, 4)
        XCTAssertEqual(m.alignmentRate!, 0.5, accuracy: 1e-12)  // 2 of 4 labelled anger
        XCTAssertEqual(m.meanTargetProbability!, (0.9 + 0.3 + 0.6 + 0.2) / 4, accuracy: 1e-12)
        XCTAssertEqual(m.meanTargetLexicon!, (0.2 + 0 + 0.1 + 0.1) / 4, accuracy: 1e-12)
        XCTAssertEqual(m.lexiconTopRate!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m.meanWords, 25, accuracy: 1e-12)
        XCTAssertEqual(m.meanTokens, 30, accuracy: 1e-12)
        XCTAssertEqual(m.endedTurnRate, 0.75, accuracy: 1e-12)
        XCTAssertEqual(m.labelShares, ["anger": 0.5, "fear": 0.25, "joy": 0.25])
        XCTAssertEqual(m.labelShares.values.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(m.meanLexicon["joy"]!, 0.5, accuracy: 1e-12)
    }

    func testSummarizeWithoutTargetAndEmpty() throws {
        let s = [score("joy", pAnger: 0.1, lexAnger: 0, top: nil, words: 5, tokens: 7)]
        let m = summarize(name: "base-greedy", scores: s, target: nil, labels: labels, emotions: emotions)
        XCTAssertNil(m.alignmentRate); XCTAssertNil(m.meanTargetProbability); XCTAssertNil(m.meanTargetLexicon)
        XCTAssertEqual(m.labelShares["joy"], 1)
        // No answers: zeros, not NaN, so eval.json stays valid JSON.
        let e = summarize(name: "x", scores: [], target: "anger", labels: labels, emotions: emotions)
        XCTAssertEqual(e.count, 0)
        XCTAssertEqual(e.alignmentRate, 0)
        XCTAssertEqual(e.meanWords, 0)
        XCTAssertNoThrow(try JSONEncoder().encode(e))
    }

    func testScoreAnswerUsesClassifierAndLexicon() throws {
        let nb = NaiveBayesClassifier.train(
            texts: ["furious angry rage", "happy glad joy"], labels: ["anger", "joy"],
            alpha: 1, minCount: 1)
        let lex = EmotionLexicon(lists: ["anger": ["furious", "angry"], "joy": ["happy"]])
        let s = scoreAnswer(
            "I am so angry and furious today!", tokens: 9, endedTurn: true, classifier: nb, lexicon: lex)
        XCTAssertEqual(s.label, "anger")
        XCTAssertEqual(s.words, 7)
        XCTAssertEqual(s.tokens, 9)
        XCTAssertEqual(s.lexicon["anger"]!, 2.0 / 7, accuracy: 1e-12)
        XCTAssertEqual(s.lexicon["joy"]!, 0)
        XCTAssertEqual(s.lexiconTop, "anger")
        XCTAssertGreaterThan(s.probabilities["anger"]!, 0.5)
        XCTAssertEqual(s.probabilities.values.reduce(0, +), 1, accuracy: 1e-12)
    }

    func config(dataset: String, label: String? = nil) -> TrainConfig {
        var c = TrainConfig(
            model: "m.gguf", modelSHA256: "", dataset: dataset, datasetPath: dataset,
            split: DatasetSplit.make(count: 10, seed: 0),
            irm: IRMConfig(hidden: 4, layers: [0], widthMultiplier: 1, depth: 2, l1: 0),
            adam: AdamConfig(), runName: "r")
        c.label = label
        return c
    }

    func testTargetEmotion() throws {
        let labels = ["anger", "fear", "joy", "love", "sadness", "surprise"]
        XCTAssertEqual(
            try resolveTargetEmotion(config: config(dataset: "Datasets/anger.csv"), override: nil, labels: labels)
                .emotion, "anger")
        XCTAssertEqual(
            try resolveTargetEmotion(config: config(dataset: "/x/Sadness.CSV"), override: nil, labels: labels).emotion,
            "sadness")
        XCTAssertNil(
            try resolveTargetEmotion(config: config(dataset: "Datasets/neutral.csv"), override: nil, labels: labels)
                .emotion)
        XCTAssertEqual(
            try resolveTargetEmotion(config: config(dataset: "Datasets/neutral.csv"), override: "joy", labels: labels)
                .emotion, "joy")
        XCTAssertEqual(
            try resolveTargetEmotion(config: config(dataset: "carer.txt", label: "fear"), override: nil, labels: labels)
                .emotion, "fear")
        XCTAssertNil(
            try resolveTargetEmotion(config: config(dataset: "anger.txt", label: "calm"), override: nil, labels: labels)
                .emotion)
        XCTAssertThrowsError(
            try resolveTargetEmotion(config: config(dataset: "anger.csv"), override: "angry", labels: labels)
        ) {
            XCTAssertTrue("\($0)".contains("--emotion 'angry'") && "\($0)".contains("sadness"), "\($0)")
        }
    }
}
