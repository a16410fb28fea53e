// `text;label` lines, as in the CARER emotion corpus (Saravia et al., 2018; ../shared/datasets/emotion/):
//   i didnt feel humiliated;sadness
// The label is what follows the last ';' (a text may contain ';'). Blank lines are skipped (the files may
// end with one). As training data a text is a response; its prompt comes from `defaultPrompts`.
import Foundation
import ModelIO

public struct LabelledText: Sendable, Equatable {
    public var text: String
    public var label: String
    public var line: Int
}

/// Every non-blank line of a `text;label` file. Errors name the file and line: a line without ';', an empty
/// text or label.
public func loadLabelledText(path: String) throws -> [LabelledText] {
    let bytes = try readDatasetText(path)
    var out: [LabelledText] = []
    for (number, raw) in splitLines(bytes) {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.isEmpty { continue }
        guard let semi = line.lastIndex(of: ";") else {
            throw FileError(path, line: number, "expected 'text;label', found no ';'")
        }
        let text = line[..<semi].trimmingCharacters(in: .whitespaces)
        let label = line[line.index(after: semi)...].trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw FileError(path, line: number, "empty text before ';'") }
        guard !label.isEmpty else { throw FileError(path, line: number, "empty label after ';'") }
        out.append(LabelledText(text: text, label: label, line: number))
    }
    guard !out.isEmpty else { throw FileError(path, "empty file") }
    return out
}

/// The lines of `path` with label `label` (all lines when nil) as examples: the text is the response and
/// the prompt is `defaultPrompt(for: text)`. An unknown label is an error listing the labels present.
public func loadLabelledExamples(path: String, label: String?) throws -> [Example] {
    let rows = try loadLabelledText(path: path)
    var selected = rows
    if let want = label {
        selected = rows.filter { $0.label == want }
        if selected.isEmpty {
            var counts: [String: Int] = [:]
            for r in rows { counts[r.label, default: 0] += 1 }
            let list = counts.keys.sorted().map { "\($0) (\(counts[$0]!))" }.joined(separator: ", ")
            throw FileError(path, "unknown label '\(want)'; labels present: \(list)")
        }
    }
    let name = (path as NSString).lastPathComponent
    return selected.map {
        Example(prompt: defaultPrompt(for: $0.text), response: $0.text, source: "\(name):\($0.line)")
    }
}
