// SQuAD 2.0 JSON (Rajpurkar et al., 2018; ../shared/datasets/squad/dev-v2.0.json) as a source of questions.
// The reference implementation drew its questions from SQuAD 2.0 and had an instruct model rewrite the
// answers in an emotion; here SQuAD is mainly a pool of evaluation prompts.
//
// Each question becomes an example whose response is its first answer's text. Unanswerable questions
// (`is_impossible`, no `answers`, as in a test split) are skipped for training; `loadSQuAD(includeUnanswerable:
// true)` (`loadExamples(questionsOnly: true)`, what `irm eval --questions` uses) keeps them with an empty
// response, since evaluation needs only the questions. The file is one
// JSON document, so `source` is "file#question-id" rather than a line number.
import Foundation
import ModelIO

struct SQuADFile: Decodable {
    struct Article: Decodable { var title: String?; var paragraphs: [Paragraph] }
    struct Paragraph: Decodable { var qas: [QA] }
    struct QA: Decodable {
        var question: String
        var id: String?
        var answers: [Answer]?
        var is_impossible: Bool?
    }
    struct Answer: Decodable { var text: String }
    var version: String?
    var data: [Article]
}

public func loadSQuAD(path: String, includeUnanswerable: Bool = false) throws -> [Example] {
    let bytes = try readDatasetText(path)
    let file: SQuADFile
    do {
        file = try JSONDecoder().decode(SQuADFile.self, from: Data(bytes))
    } catch let DecodingError.keyNotFound(key, ctx) {
        throw FileError(path, "not SQuAD JSON: missing \"\(key.stringValue)\" at \(codingPathText(ctx.codingPath))")
    } catch let DecodingError.typeMismatch(_, ctx) {
        throw FileError(
            path, "not SQuAD JSON: wrong type at \(codingPathText(ctx.codingPath)) (\(ctx.debugDescription))")
    } catch let DecodingError.valueNotFound(_, ctx) {
        throw FileError(path, "not SQuAD JSON: null at \(codingPathText(ctx.codingPath))")
    } catch let DecodingError.dataCorrupted(ctx) {
        let under = ctx.underlyingError.map { jsonErrorSummary($0) } ?? ctx.debugDescription
        throw FileError(path, "invalid JSON (\(under))")
    }
    let name = (path as NSString).lastPathComponent
    var out: [Example] = []
    var n = 0
    for article in file.data {
        for p in article.paragraphs {
            for qa in p.qas {
                n += 1
                let q = qa.question.trimmingCharacters(in: .whitespacesAndNewlines)
                if q.isEmpty { continue }
                let answer = qa.answers?.first?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                if answer.isEmpty && !includeUnanswerable { continue }
                out.append(Example(prompt: q, response: answer, source: "\(name)#\(qa.id ?? String(n))"))
            }
        }
    }
    guard !out.isEmpty else {
        if n > 0 && !includeUnanswerable {
            throw FileError(
                path,
                "none of its \(n) questions has an answer: training needs answers "
                    + "(irm eval --questions takes such a file for its questions)")
        }
        throw FileError(path, "no questions found in \"data\"")
    }
    return out
}

func codingPathText(_ path: [CodingKey]) -> String {
    if path.isEmpty { return "the top level" }
    return path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
}
