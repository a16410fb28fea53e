// One training or evaluation example (a prompt and the response the model should give), the dataset
// formats the loaders read, the error every loader throws, and the entry point `loadExamples`.
//
// Formats, chosen by extension unless `--format` overrides:
//   .csv   -> qaCSV     RFC 4180 CSV with `question` and `answer` columns (ours and the reference's)
//   .txt   -> labelled  `text;label` lines (CARER emotion corpus); the text is the response
//   .jsonl -> jsonl     {"prompt": …, "response": …} or {"text": …} per line
//   .json  -> squad     SQuAD 2.0 JSON, a source of questions
import Foundation
import ModelIO

/// A prompt/response pair. `source` is "file:line" (the line where the example's record starts), so a bad
/// example can be traced back to its file.
public struct Example: Sendable, Codable, Equatable {
    public var prompt: String
    public var response: String
    public var source: String
    public init(prompt: String, response: String, source: String) {
        self.prompt = prompt; self.response = response; self.source = source
    }
}

public enum DatasetFormat: String, Sendable, Codable, CaseIterable {
    case qaCSV = "csv", labelled, jsonl, squad

    /// From the file's extension: .csv, .txt (labelled text), .jsonl, .json (SQuAD); nil for anything else.
    public static func fromExtension(_ path: String) -> DatasetFormat? {
        switch (path as NSString).pathExtension.lowercased() {
        case "csv": .qaCSV
        case "txt": .labelled
        case "jsonl": .jsonl
        case "json": .squad
        default: nil
        }
    }
}

/// Loads `path` as `format` (or the format its extension implies). `label` selects one class of a labelled
/// text file (`--label anger`); it is an error for the other formats. `questionsOnly`: the caller needs only the
/// prompts (evaluation), so SQuAD questions without an answer are kept, with an empty response.
public func loadExamples(
    path: String, format: DatasetFormat? = nil, label: String? = nil,
    questionsOnly: Bool = false
) throws -> [Example] {
    guard let fmt = format ?? DatasetFormat.fromExtension(path) else {
        let ext = (path as NSString).pathExtension
        throw FileError(
            path,
            "cannot tell the dataset format from the extension \(ext.isEmpty ? "(none)" : "'.\(ext)'")"
                + "; use --format with one of: " + DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))
    }
    if label != nil && fmt != .labelled {
        throw FileError(
            path, "--label applies only to labelled text (text;label) files, not to format '\(fmt.rawValue)'")
    }
    switch fmt {
    case .qaCSV: return try loadQACSV(path: path)
    case .labelled: return try loadLabelledExamples(path: path, label: label)
    case .jsonl: return try loadJSONL(path: path)
    case .squad: return try loadSQuAD(path: path, includeUnanswerable: questionsOnly)
    }
}

// MARK: - Reading text files

/// The file's bytes as UTF-8 text: a leading BOM is dropped; invalid UTF-8 is an error naming the line of
/// the first bad byte; an empty file (or one holding only whitespace) is an error.
func readDatasetText(_ path: String) throws -> [UInt8] {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw FileError(path, "no such file")
    }
    guard !isDir.boolValue else { throw FileError(path, "is a directory, not a dataset file") }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw FileError(path, "cannot read the file")
    }
    var bytes = [UInt8](data)
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
    if let bad = firstInvalidUTF8(bytes) {
        let line = 1 + bytes[..<bad].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
        let lineStart = (bytes[..<bad].lastIndex(of: 0x0A) ?? -1) + 1
        throw FileError(
            path, line: line,
            "invalid UTF-8: byte 0x\(String(bytes[bad], radix: 16, uppercase: true)) is byte \(bad - lineStart + 1) of the line"
        )
    }
    if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
        throw FileError(path, "empty file")
    }
    return bytes
}

/// Offset of the first byte that does not start or continue a valid UTF-8 sequence (RFC 3629: no overlongs,
/// no surrogates, nothing above U+10FFFF), or nil.
func firstInvalidUTF8(_ b: [UInt8]) -> Int? {
    var i = 0
    let n = b.count
    while i < n {
        let c = b[i]
        if c < 0x80 { i += 1; continue }
        var need = 0
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF  // allowed range of the second byte
        switch c {
        case 0xC2...0xDF: need = 1
        case 0xE0: need = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: need = 2
        case 0xED: need = 2; hi = 0x9F
        case 0xF0: need = 3; lo = 0x90
        case 0xF1...0xF3: need = 3
        case 0xF4: need = 3; hi = 0x8F
        default: return i
        }
        guard i + need < n else { return i }
        if b[i + 1] < lo || b[i + 1] > hi { return i }
        var k = 2
        while k <= need {
            if b[i + k] & 0xC0 != 0x80 { return i }
            k += 1
        }
        i += need + 1
    }
    return nil
}

/// Splits text bytes into lines (LF or CRLF) with their 1-based numbers; a final empty line is not returned.
/// Works on bytes: as Characters, "\r\n" is one grapheme and would not split at "\n".
func splitLines(_ bytes: [UInt8]) -> [(number: Int, text: String)] {
    var out: [(Int, String)] = []
    var start = 0
    var n = 0
    func emit(_ end: Int) {
        var e = end
        if e > start && bytes[e - 1] == 0x0D { e -= 1 }
        n += 1
        out.append((n, String(decoding: bytes[start..<e], as: UTF8.self)))
    }
    for i in 0..<bytes.count where bytes[i] == 0x0A {
        emit(i)
        start = i + 1
    }
    if start < bytes.count { emit(bytes.count) }
    return out
}

// MARK: - Prompts for response-only texts

/// Neutral open prompts for datasets that carry only a response (CARER lines, `{"text": …}` JSONL). Each text
/// gets `defaultPrompts[fnv1a(text) % count]`: deterministic, independent of the file's order and of any
/// seed, so the same text always gets the same prompt. Written for this project.
public let defaultPrompts: [String] = [
    "Tell me how your day went.",
    "How are you feeling right now?",
    "What's on your mind today?",
    "Tell me about something that happened recently.",
    "How has your week been?",
    "Describe how you feel at the moment.",
    "What have you been thinking about lately?",
    "Tell me something about yourself.",
    "How did things go today?",
    "Share a thought with me.",
    "What is something you noticed today?",
    "How are things going for you?",
    "Tell me about your morning.",
    "What's been happening in your life?",
    "Write a sentence about how you feel.",
    "Say something about your day.",
    "What would you like to talk about?",
    "Tell me what you did yesterday.",
    "How do you feel about the way things are going?",
    "Describe a moment from your week."
]

/// The prompt `defaultPrompts` assigns to a response-only `text`.
public func defaultPrompt(for text: String) -> String {
    defaultPrompts[Int(fnv1a64(text) % UInt64(defaultPrompts.count))]
}

/// FNV-1a, 64 bit, over the UTF-8 bytes: a stable hash (Swift's `Hasher` is seeded per process).
public func fnv1a64(_ s: String, _ seed: UInt64 = 0xcbf29ce484222325) -> UInt64 {
    var h = seed
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
    return h
}

func fnv1a64(bytes: some Sequence<UInt8>, _ seed: UInt64 = 0xcbf29ce484222325) -> UInt64 {
    var h = seed
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
    return h
}
