// A second, independent emotion signal next to the naive Bayes classifier: for each emotion a hand-written
// word list (Datasets/emotion-lexicon.json, written for this project), and a text's score for an emotion is
// the share of its words (WordTokenizer) that are in that emotion's list. No training data involved, so it
// cannot share the classifier's biases from the CARER corpus; it is cruder (no negation, no context).
import Foundation
import ModelIO
import Datasets

public struct EmotionLexicon: Sendable {
    /// Emotion -> its words (lower case, apostrophes dropped, as WordTokenizer produces them).
    public var lists: [String: Set<String>]
    public var emotions: [String] { lists.keys.sorted() }

    public init(lists: [String: Set<String>]) { self.lists = lists }

    private struct File: Decodable {
        var emotions: [String: [String]]
    }

    /// Reads `{"emotions": {"anger": ["angry", …], …}}` (other top-level keys are ignored). Each word is
    /// normalised with WordTokenizer; an entry that is not exactly one word is an error.
    public static func load(path: String) throws -> EmotionLexicon {
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path, "no such file") }
        let f: File
        do { f = try JSONDecoder().decode(File.self, from: data) } catch {
            throw FileError(path, "not an emotion lexicon (\(jsonErrorSummary(error)))")
        }
        guard !f.emotions.isEmpty else { throw FileError(path, "no emotions in \"emotions\"") }
        var lists: [String: Set<String>] = [:]
        for (emotion, words) in f.emotions {
            var set = Set<String>()
            for w in words {
                let t = WordTokenizer.words(w)
                guard t.count == 1 else { throw FileError(path, "\(emotion): entry '\(w)' is not a single word") }
                set.insert(t[0])
            }
            lists[emotion] = set
        }
        return EmotionLexicon(lists: lists)
    }

    /// For each emotion, the share of the text's words in its list (0 for a text without words).
    public func scores(_ text: String) -> [String: Double] {
        let words = WordTokenizer.words(text)
        var out: [String: Double] = [:]
        for (emotion, set) in lists {
            out[emotion] = words.isEmpty ? 0 : Double(words.filter { set.contains($0) }.count) / Double(words.count)
        }
        return out
    }

    /// The emotion with the highest score, nil when every score is 0 (ties: alphabetical first).
    public func dominant(_ text: String) -> String? {
        let s = scores(text)
        guard let best = s.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }), best.value > 0
        else { return nil }
        return best.key
    }
}
