import Foundation
import ModelIO
import XCTest
@testable import Evaluation
import Training
import Datasets
import TestSupport

final class WordTokenizerTests: XCTestCase {
    func testWords() {
        XCTAssertEqual(
            WordTokenizer.words("I didn't feel GREAT, ugh!! It’s 3am..."),
            ["i", "didnt", "feel", "great", "ugh", "its", "3am"])
        XCTAssertEqual(
            WordTokenizer.words("Café naïve Straße — 'quoted' 日本"), ["café", "naïve", "straße", "quoted", "日本"])
        XCTAssertEqual(WordTokenizer.words("  ...  "), [])
    }
}

final class NaiveBayesTests: XCTestCase {
    func testTinyCorpus() throws {
        let nb = NaiveBayesClassifier.train(
            texts: ["happy happy day", "sad sad night", "happy sunny", "sad rainy"],
            labels: ["joy", "sadness", "joy", "sadness"], alpha: 1, minCount: 1)
        XCTAssertEqual(nb.labels, ["joy", "sadness"])
        XCTAssertEqual(nb.predict("so happy").label, "joy")
        XCTAssertEqual(nb.predict("a sad one").label, "sadness")
        let p = nb.predict("happy").probabilities
        XCTAssertEqual(p.values.reduce(0, +), 1, accuracy: 1e-12)
        // Multinomial NB by hand (5 words per class, 6 in the vocabulary): P(happy|joy) = (3+1)/(5+6),
        // P(happy|sadness) = (0+1)/(5+6), equal priors.
        XCTAssertEqual(p["joy"]!, (4.0 / 11) / (4.0 / 11 + 1.0 / 11), accuracy: 1e-12)
        // Unknown words are ignored: priors only.
        XCTAssertEqual(nb.predict("zebra").probabilities["joy"]!, 0.5, accuracy: 1e-12)
    }

    /// Accuracy on the CARER val split ≥ 0.78; the saved Datasets/emotion-nb.json is what retraining
    /// gives (byte for byte) and has the same accuracy; it stays small.
    func testCARERValAccuracyAndSavedModel() throws {
        let dir = try tempDir()
        let out = dir + "/emotion-nb.json"
        let t0 = Date()
        let (model, acc) = try NaiveBayesClassifier.buildEmotionModel(
            trainPath: carerTrain, valPath: carerVal, outputPath: out)
        print(
            "CARER val accuracy (naive Bayes, alpha \(model.alpha), minCount \(model.minCount), \(model.vocabulary.count) words): "
                + String(format: "%.4f", acc) + String(format: " [%.2f s]", Date().timeIntervalSince(t0)))
        XCTAssertGreaterThanOrEqual(acc, 0.78)
        let saved = datasetsDir + "/emotion-nb.json"
        // IRM_WRITE_DATASETS=1 swift test … --filter NaiveBayesTests rewrites the saved model.
        if ProcessInfo.processInfo.environment["IRM_WRITE_DATASETS"] == "1" {
            try model.save(path: saved)
        }
        let fileModel = try NaiveBayesClassifier.load(path: saved)
        let val = try loadLabelledText(path: carerVal)
        let fileAcc = fileModel.accuracy(texts: val.map(\.text), labels: val.map(\.label))
        XCTAssertEqual(fileAcc, acc)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: URL(fileURLWithPath: saved)),
            "Datasets/emotion-nb.json is stale: rebuild it with NaiveBayesClassifier.buildEmotionModel")
        let size = try FileManager.default.attributesOfItem(atPath: saved)[.size] as! Int
        print("emotion-nb.json: \(size) bytes")
        XCTAssertLessThan(size, 1_000_000)
        // Unrounded, unpruned model for comparison (what rounding and pruning cost).
        let train = try loadLabelledText(path: carerTrain)
        for (alpha, minCount) in [(1.0, 1), (0.5, 1), (1.0, 2), (0.5, 2), (0.3, 2), (0.1, 2)] {
            let m = NaiveBayesClassifier.train(
                texts: train.map(\.text), labels: train.map(\.label), alpha: alpha, minCount: minCount)
            print(
                "  alpha \(alpha) minCount \(minCount): val accuracy "
                    + String(format: "%.4f", m.accuracy(texts: val.map(\.text), labels: val.map(\.label)))
                    + ", \(m.vocabulary.count) words")
        }
    }

    /// How the classifier labels our own answers: share labelled anger on anger.csv vs neutral.csv, etc.
    func testLabelDistributionOnOurDatasets() throws {
        let nb = try NaiveBayesClassifier.load(path: datasetsDir + "/emotion-nb.json")
        let lex = try EmotionLexicon.load(path: datasetsDir + "/emotion-lexicon.json")
        var share: [String: [String: Double]] = [:]
        for name in ["neutral", "anger", "sadness", "joy", "fear"] {
            let ex = try loadQACSV(path: datasetsDir + "/\(name).csv")
            var counts: [String: Int] = [:]
            var lexMean: [String: Double] = [:]
            var lexTop: [String: Int] = [:]
            for e in ex {
                counts[nb.predict(e.response).label, default: 0] += 1
                lexTop[lex.dominant(e.response) ?? "none", default: 0] += 1
                for (k, v) in lex.scores(e.response) { lexMean[k, default: 0] += v / Double(ex.count) }
            }
            share[name] = counts.mapValues { Double($0) / Double(ex.count) }
            let dist = nb.labels.map { "\($0) \(String(format: "%.3f", share[name]![$0] ?? 0))" }.joined(
                separator: ", ")
            let lexs = lex.emotions.map { "\($0) \(String(format: "%.4f", lexMean[$0]!))" }.joined(separator: ", ")
            let tops = (lex.emotions + ["none"]).map {
                "\($0) \(String(format: "%.3f", Double(lexTop[$0] ?? 0) / Double(ex.count)))"
            }
            .joined(separator: ", ")
            print(
                "\(name).csv answers — classifier: \(dist)\n    lexicon mean share: \(lexs)\n    lexicon dominant: \(tops)"
            )
        }
        let angerOnAnger = share["anger"]!["anger"] ?? 0, angerOnNeutral = share["neutral"]!["anger"] ?? 0
        print(
            "share labelled anger: anger.csv \(String(format: "%.3f", angerOnAnger)) vs neutral.csv \(String(format: "%.3f", angerOnNeutral))"
        )
        XCTAssertGreaterThan(angerOnAnger, angerOnNeutral + 0.2)
        XCTAssertGreaterThan(share["sadness"]!["sadness"] ?? 0, share["neutral"]!["sadness"] ?? 0)
        XCTAssertGreaterThan(share["fear"]!["fear"] ?? 0, share["neutral"]!["fear"] ?? 0)
    }
}

final class EmotionLexiconTests: XCTestCase {
    func testClearSentences() throws {
        let lex = try EmotionLexicon.load(path: datasetsDir + "/emotion-lexicon.json")
        XCTAssertEqual(lex.emotions, ["anger", "fear", "joy", "love", "sadness", "surprise"])
        for (e, words) in lex.lists {
            XCTAssertGreaterThanOrEqual(words.count, 60, e); XCTAssertLessThanOrEqual(words.count, 120, e)
        }
        let cases = [
            ("I am furious and fed up, this is outrageous and it makes me so angry!", "anger"),
            ("I feel so sad and lonely, I cried all night and my heart is heartbroken.", "sadness"),
            ("What a wonderful day, I'm so happy and excited, we laughed and celebrated!", "joy"),
            ("I'm terrified and anxious, I was so scared I was trembling with fear.", "fear"),
            ("I adore you, darling, and I cherish every tender hug and kiss.", "love"),
            ("Whoa, I was astonished and totally stunned, what an unexpected surprise!", "surprise")
        ]
        for (text, want) in cases {
            let s = lex.scores(text)
            XCTAssertEqual(lex.dominant(text), want, "\(text): \(s)")
            XCTAssertGreaterThan(s[want]!, 0.1)
        }
        XCTAssertNil(lex.dominant("The capital of Australia is Canberra."))
        XCTAssertEqual(lex.scores("")["joy"], 0)
    }

    func testBadLexiconFile() throws {
        let dir = try tempDir()
        let p = try writeFile(dir, "lex.json", "{\"emotions\": {\"joy\": [\"happy\", \"very happy\"]}}")
        XCTAssertEqual(
            thrown(FileError.self) { try EmotionLexicon.load(path: p) }?.message,
            "joy: entry 'very happy' is not a single word")
        let q = try writeFile(dir, "lex2.json", "{\"words\": {}}")
        XCTAssertTrue(
            thrown(FileError.self) { try EmotionLexicon.load(path: q) }?.message.hasPrefix("not an emotion lexicon")
                ?? false)
    }
}
