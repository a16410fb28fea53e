// RFC 4180 CSV, written for this project, and the question/answer loader on top of it.
//
// Accepted: fields separated by commas; records ended by CRLF or LF, the last one optionally; fields in
// double quotes may hold commas, line breaks and quotes written twice (""); a UTF-8 BOM; blank lines
// (skipped, as pandas does). Lenient where the RFC is silent: a quote inside an unquoted field is kept as
// text. Errors: an unterminated quoted field (line of its opening quote), text after a closing quote.
import Foundation
import ModelIO

/// One CSV record with the line it starts on (1-based) and its fields.
public struct CSVRecord: Sendable, Equatable {
    public var line: Int
    public var fields: [String]
}

/// Parses CSV text (already checked to be UTF-8, BOM removed). `file` names the source in errors.
public func parseCSV(_ bytes: [UInt8], file: String) throws -> [CSVRecord] {
    let quote: UInt8 = 0x22, comma: UInt8 = 0x2C, lf: UInt8 = 0x0A, cr: UInt8 = 0x0D
    let n = bytes.count
    var records: [CSVRecord] = []
    var fields: [String] = []
    var field: [UInt8] = []
    var line = 1
    var recordLine = 1
    var i = 0
    var atRecordStart = true

    func endRecord() {
        // A blank line is one empty unquoted field: skip it.
        if !(fields.count == 1 && fields[0].isEmpty) { records.append(CSVRecord(line: recordLine, fields: fields)) }
        fields = []
    }

    while i < n {
        if atRecordStart { recordLine = line; atRecordStart = false }
        field.removeAll(keepingCapacity: true)
        var wasQuoted = false
        if bytes[i] == quote {
            wasQuoted = true
            let openLine = line
            i += 1
            while true {
                guard i < n else { throw FileError(file, line: openLine, "unterminated quoted field") }
                let c = bytes[i]
                if c == quote {
                    if i + 1 < n && bytes[i + 1] == quote { field.append(quote); i += 2; continue }
                    i += 1
                    break
                }
                if c == lf { line += 1 }
                field.append(c)
                i += 1
            }
        } else {
            while i < n {
                let c = bytes[i]
                if c == comma || c == lf || (c == cr && i + 1 < n && bytes[i + 1] == lf) { break }
                field.append(c)
                i += 1
            }
        }
        fields.append(String(decoding: field, as: UTF8.self))
        // After a field: a comma, a line end or the end of the input.
        if i >= n { break }
        let c = bytes[i]
        if c == comma {
            i += 1
            if i >= n { fields.append("") }  // "a,b," at end of input: a final empty field
            continue
        }
        if c == lf { i += 1; line += 1; endRecord(); atRecordStart = true; continue }
        if c == cr && i + 1 < n && bytes[i + 1] == lf { i += 2; line += 1; endRecord(); atRecordStart = true; continue }
        // Only reachable after a quoted field.
        precondition(wasQuoted)
        let shown = c < 0x20 || c > 0x7E ? "byte 0x\(String(c, radix: 16))" : "'\(Character(Unicode.Scalar(c)))'"
        throw FileError(
            file, line: line,
            "unexpected \(shown) after a closing quote (a quote inside a quoted field is written \"\")")
    }
    if !fields.isEmpty { endRecord() }
    return records
}

/// Loads a question/answer CSV: a header row naming a `question` and an `answer` column (any order, any
/// case, other columns such as an index are ignored), then one example per row. Every row must have as
/// many fields as the header; questions and answers are trimmed and must not be empty.
public func loadQACSV(path: String) throws -> [Example] {
    let bytes = try readDatasetText(path)
    let records = try parseCSV(bytes, file: path)
    guard let header = records.first else { throw FileError(path, "empty file") }
    let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    func column(_ name: String) throws -> Int {
        guard let c = names.firstIndex(of: name) else {
            throw FileError(
                path, line: header.line,
                "header has no '\(name)' column (found: \(header.fields.map { "'\($0)'" }.joined(separator: ", ")))")
        }
        return c
    }
    let q = try column("question"), a = try column("answer")
    guard records.count > 1 else { throw FileError(path, line: header.line, "no rows after the header") }
    var out: [Example] = []
    out.reserveCapacity(records.count - 1)
    let name = (path as NSString).lastPathComponent
    for r in records.dropFirst() {
        guard r.fields.count == header.fields.count else {
            throw FileError(
                path, line: r.line, "expected \(header.fields.count) fields as in the header, found \(r.fields.count)")
        }
        let question = r.fields[q].trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = r.fields[a].trimmingCharacters(in: .whitespacesAndNewlines)
        guard !question.isEmpty else { throw FileError(path, line: r.line, "empty question") }
        guard !answer.isEmpty else { throw FileError(path, line: r.line, "empty answer") }
        out.append(Example(prompt: question, response: answer, source: "\(name):\(r.line)"))
    }
    return out
}
