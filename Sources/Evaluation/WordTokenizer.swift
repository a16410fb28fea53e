// Words for the emotion classifier and the lexicon (not the model's tokenizer).
//
// A word is a run of letters, digits and combining marks (Unicode-aware: "café", "naïve", "Straße"),
// lower-cased. Apostrophes (' ’ ʼ) inside a word join it and are then dropped, so "didn't" and "I’m" become
// "didnt" and "im": the CARER corpus is written that way (lower case, no punctuation, no apostrophes), and
// our CSV answers ("it's", "I'm") must meet the same vocabulary. Everything else separates words.

public enum WordTokenizer {
    public static func words(_ text: String) -> [String] {
        var out: [String] = []
        var word = String.UnicodeScalarView()
        for s in text.lowercased().unicodeScalars {
            let p = s.properties
            if p.isAlphabetic || p.numericType != nil
                || p.generalCategory == .nonspacingMark || p.generalCategory == .spacingMark
            {
                word.append(s)
            } else if s == "'" || s == "\u{2019}" || s == "\u{02BC}" {
                // Dropped without ending the word; at a word's edge (a quote) this changes nothing.
                continue
            } else if !word.isEmpty {
                out.append(String(word)); word = String.UnicodeScalarView()
            }
        }
        if !word.isEmpty { out.append(String(word)) }
        return out
    }
}
