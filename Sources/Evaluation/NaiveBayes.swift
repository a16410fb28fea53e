// Multinomial naive Bayes over words: an emotion classifier trained on the CARER corpus
// (Saravia et al., 2018; six labels: sadness, joy, love, anger, fear, surprise), used to score how emotional a
// model's answers are. Textbook form (Manning, Raghavan & Schütze, "Introduction to Information Retrieval",
// §13.2): log P(c) + Σ_w n_w · log P(w|c), with P(w|c) = (count(w,c) + α) / (Σ_w' count(w',c) + α·|V|).
//
// The saved model (`Datasets/emotion-nb.json`) keeps only words seen at least `minCount` times in the
// training set and rounds log-probabilities to 4 decimals, which keeps it small (see Datasets/README.md).
// Words not in the vocabulary are ignored when predicting.
import Foundation
import Datasets
import ModelIO

public struct NaiveBayesClassifier: Codable, Sendable {
    public static let formatName = "irm-naive-bayes-1"
    public var format: String = formatName
    /// Labels, sorted.
    public var labels: [String]
    public var alpha: Double
    public var minCount: Int
    /// log P(c), one per label.
    public var logPriors: [Double]
    /// Words, sorted.
    public var vocabulary: [String]
    /// log P(w|c): `logLikelihoods[c][w]` with c indexing `labels` and w indexing `vocabulary`.
    public var logLikelihoods: [[Double]]
    private var index: [String: Int] = [:]

    private enum CodingKeys: String, CodingKey {
        case format, labels, alpha, minCount, logPriors, vocabulary, logLikelihoods
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        labels = try c.decode([String].self, forKey: .labels)
        alpha = try c.decode(Double.self, forKey: .alpha)
        minCount = try c.decode(Int.self, forKey: .minCount)
        logPriors = try c.decode([Double].self, forKey: .logPriors)
        vocabulary = try c.decode([String].self, forKey: .vocabulary)
        logLikelihoods = try c.decode([[Double]].self, forKey: .logLikelihoods)
        buildIndex()
    }

    init(
        labels: [String], alpha: Double, minCount: Int, logPriors: [Double], vocabulary: [String],
        logLikelihoods: [[Double]]
    ) {
        self.labels = labels; self.alpha = alpha; self.minCount = minCount; self.logPriors = logPriors
        self.vocabulary = vocabulary; self.logLikelihoods = logLikelihoods
        buildIndex()
    }

    private mutating func buildIndex() {
        index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
    }

    /// Trains on `texts` with their `labels`. `alpha`: additive (Lidstone) smoothing; `minCount`: words seen
    /// fewer times than this in the whole training set are left out of the vocabulary.
    public static func train(texts: [String], labels: [String], alpha: Double = 0.5, minCount: Int = 2)
        -> NaiveBayesClassifier
    {
        precondition(texts.count == labels.count && !texts.isEmpty && alpha > 0)
        let labelSet = Array(Set(labels)).sorted()
        let labelIndex = Dictionary(uniqueKeysWithValues: labelSet.enumerated().map { ($1, $0) })
        var docs = [Int](repeating: 0, count: labelSet.count)
        var counts: [String: [Int]] = [:]
        for (text, label) in zip(texts, labels) {
            let c = labelIndex[label]!
            docs[c] += 1
            for w in WordTokenizer.words(text) {
                counts[w, default: [Int](repeating: 0, count: labelSet.count)][c] += 1
            }
        }
        let vocab = counts.filter { $0.value.reduce(0, +) >= minCount }.keys.sorted()
        var ll = [[Double]](repeating: [Double](repeating: 0, count: vocab.count), count: labelSet.count)
        for c in 0..<labelSet.count {
            var total = 0
            for w in vocab { total += counts[w]![c] }
            let denom = Double(total) + alpha * Double(vocab.count)
            for (j, w) in vocab.enumerated() { ll[c][j] = log((Double(counts[w]![c]) + alpha) / denom) }
        }
        let priors = docs.map { log(Double($0) / Double(texts.count)) }
        return NaiveBayesClassifier(
            labels: labelSet, alpha: alpha, minCount: minCount, logPriors: priors,
            vocabulary: vocab, logLikelihoods: ll)
    }

    /// Unnormalised log-posteriors, one per label.
    public func logScores(_ text: String) -> [Double] {
        var s = logPriors
        for w in WordTokenizer.words(text) {
            guard let j = index[w] else { continue }
            for c in 0..<labels.count { s[c] += logLikelihoods[c][j] }
        }
        return s
    }

    /// The most probable label and every label's posterior probability.
    public func predict(_ text: String) -> (label: String, probabilities: [String: Double]) {
        let s = logScores(text)
        let m = s.max()!
        let e = s.map { exp($0 - m) }
        let z = e.reduce(0, +)
        var probs: [String: Double] = [:]
        for (c, l) in labels.enumerated() { probs[l] = e[c] / z }
        let best = s.indices.max { s[$0] < s[$1] || (s[$0] == s[$1] && $0 > $1) }!
        return (labels[best], probs)
    }

    /// Share of `texts` whose predicted label equals the given one.
    public func accuracy(texts: [String], labels truth: [String]) -> Double {
        precondition(texts.count == truth.count && !texts.isEmpty)
        var right = 0
        for (t, l) in zip(texts, truth) where predict(t).label == l { right += 1 }
        return Double(right) / Double(texts.count)
    }

    /// Deterministic, compact JSON: log-probabilities rounded to 4 decimals, one label's row per line.
    public func jsonText() -> String {
        func num(_ x: Double) -> String {
            let s = String(format: "%.4f", x)
            return s == "-0.0000" ? "0.0000" : s
        }
        var s = "{\n\"format\": \(jsonString(format)),\n"
        s += "\"tokenizer\": \"lower-cased runs of letters, digits and marks; apostrophes dropped (WordTokenizer)\",\n"
        s += "\"alpha\": \(alpha),\n\"minCount\": \(minCount),\n"
        s += "\"labels\": [" + labels.map(jsonString).joined(separator: ", ") + "],\n"
        s += "\"logPriors\": [" + logPriors.map(num).joined(separator: ", ") + "],\n"
        s += "\"vocabulary\": [" + vocabulary.map(jsonString).joined(separator: ",") + "],\n"
        s += "\"logLikelihoods\": [\n"
        s += logLikelihoods.map { "[" + $0.map(num).joined(separator: ",") + "]" }.joined(separator: ",\n")
        s += "\n]\n}\n"
        return s
    }

    public func save(path: String) throws {
        try writeFileAtomically(path, Array(jsonText().utf8))
    }

    public static func load(path: String) throws -> NaiveBayesClassifier {
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path, "no such file") }
        let m: NaiveBayesClassifier
        do { m = try JSONDecoder().decode(NaiveBayesClassifier.self, from: data) } catch {
            throw FileError(path, "not a naive Bayes model (\(jsonErrorSummary(error)))")
        }
        guard m.format == formatName else {
            throw FileError(path, "unknown model format '\(m.format)' (expected \(formatName))")
        }
        guard !m.labels.isEmpty, m.logPriors.count == m.labels.count, m.logLikelihoods.count == m.labels.count,
            m.logLikelihoods.allSatisfy({ $0.count == m.vocabulary.count })
        else {
            throw FileError(
                path,
                "inconsistent sizes: \(m.labels.count) labels, \(m.logPriors.count) priors, "
                    + "\(m.logLikelihoods.count) likelihood rows, \(m.vocabulary.count) words")
        }
        return m
    }

    /// Rebuilds the emotion model: trains on a CARER-style `text;label` file, measures accuracy on another,
    /// saves to `outputPath` (nil: don't save). What `Datasets/emotion-nb.json` was made with; the CLI can call it.
    /// The accuracy is that of the saved (rounded) model as it loads back.
    @discardableResult
    public static func buildEmotionModel(
        trainPath: String, valPath: String, outputPath: String?,
        alpha: Double = defaultAlpha, minCount: Int = 2
    ) throws
        -> (model: NaiveBayesClassifier, valAccuracy: Double)
    {
        let trainRows = try loadLabelledText(path: trainPath)
        let val = try loadLabelledText(path: valPath)
        let trained = train(
            texts: trainRows.map(\.text), labels: trainRows.map(\.label), alpha: alpha, minCount: minCount)
        // Round-trip through the JSON text so the accuracy is that of what is saved.
        let model = try JSONDecoder().decode(NaiveBayesClassifier.self, from: Data(trained.jsonText().utf8))
        if let out = outputPath { try model.save(path: out) }
        return (model, model.accuracy(texts: val.map(\.text), labels: val.map(\.label)))
    }

    /// The smoothing used for `Datasets/emotion-nb.json` (chosen on the CARER val split; see Datasets/README.md).
    public static let defaultAlpha = 0.5
}
