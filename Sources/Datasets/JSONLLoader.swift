// JSON Lines: one JSON object per line, either
//   {"prompt": "…", "response": "…"}     (also accepted: "question"/"answer")
//   {"text": "…"}                        the text is a response; the prompt comes from `defaultPrompts`
// Other keys are ignored. Blank lines are skipped.
import Foundation
import ModelIO

public func loadJSONL(path: String) throws -> [Example] {
    let bytes = try readDatasetText(path)
    let name = (path as NSString).lastPathComponent
    var out: [Example] = []
    for (number, line) in splitLines(bytes) {
        if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
        let obj: Any
        do {
            obj = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
        } catch {
            throw FileError(path, line: number, "invalid JSON (\(jsonErrorSummary(error)))")
        }
        guard let dict = obj as? [String: Any] else {
            throw FileError(
                path, line: number, "expected a JSON object like {\"prompt\": …, \"response\": …} or {\"text\": …}")
        }
        func string(_ key: String) throws -> String? {
            guard let v = dict[key] else { return nil }
            guard let s = v as? String else { throw FileError(path, line: number, "\"\(key)\" must be a string") }
            let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !t.isEmpty else { throw FileError(path, line: number, "\"\(key)\" is empty") }
            return t
        }
        let source = "\(name):\(number)"
        if let p = try string("prompt") ?? string("question") {
            guard let r = try string("response") ?? string("answer") else {
                throw FileError(path, line: number, "has a \"prompt\" but no \"response\"")
            }
            out.append(Example(prompt: p, response: r, source: source))
        } else if let t = try string("text") {
            out.append(Example(prompt: defaultPrompt(for: t), response: t, source: source))
        } else if dict["response"] != nil || dict["answer"] != nil {
            throw FileError(path, line: number, "has a \"response\" but no \"prompt\"")
        } else {
            let keys = dict.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            throw FileError(
                path, line: number,
                "missing \"prompt\"/\"response\" or \"text\" (keys: \(keys.isEmpty ? "none" : keys))")
        }
    }
    guard !out.isEmpty else { throw FileError(path, "empty file") }
    return out
}

/// Foundation's JSON errors carry their reason in userInfo; keep it to one line.
public func jsonErrorSummary(_ error: Error) -> String {
    let ns = error as NSError
    let detail = (ns.userInfo["NSDebugDescription"] as? String) ?? ns.localizedDescription
    return detail.replacingOccurrences(of: "\n", with: " ")
}
