import Foundation
import ModelIO
import XCTest
@testable import Datasets

final class CSVParserTests: XCTestCase {
    func parse(_ s: String) throws -> [CSVRecord] { try parseCSV(Array(s.utf8), file: "t.csv") }

    func testQuotesCommasNewlinesAndEscapes() throws {
        let r = try parse("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",z\r\nlast,row")
        XCTAssertEqual(r.map(\.fields), [["a", "b"], ["x, y", "say \"hi\""], ["two\nlines", "z"], ["last", "row"]])
        // Record start lines count the newline inside the quoted field.
        XCTAssertEqual(r.map(\.line), [1, 2, 3, 5])
    }

    func testLFTrailingNewlineBlankLinesAndEmptyFields() throws {
        let r = try parse("a,b\n\n1,\n,2\n\"\",\"\"\n")
        XCTAssertEqual(r.map(\.fields), [["a", "b"], ["1", ""], ["", "2"], ["", ""]])
        XCTAssertEqual(r.map(\.line), [1, 3, 4, 5])
        XCTAssertEqual(try parse("a,b,").map(\.fields), [["a", "b", ""]])
    }

    func testBareQuoteInUnquotedFieldIsText() throws {
        XCTAssertEqual(try parse("5\" tall,x\n").map(\.fields), [["5\" tall", "x"]])
    }

    func testUnterminatedQuoteNamesTheOpeningLine() throws {
        let e = thrown(FileError.self) { try self.parse("question,answer\nq1,a1\nq2,\"never\nclosed\n") }
        XCTAssertEqual(e?.description, "t.csv:3: unterminated quoted field")
    }

    func testTextAfterClosingQuote() throws {
        let e = thrown(FileError.self) { try self.parse("a,b\n\"x\"y,z\n") }
        XCTAssertEqual(e?.line, 2)
        XCTAssertTrue(e?.message.contains("after a closing quote") ?? false, e?.message ?? "")
    }
}

final class QACSVLoaderTests: XCTestCase {
    func testOurDatasetsLoad() throws {
        var questions: [[String]] = []
        for name in ["neutral", "anger", "sadness", "joy", "fear"] {
            let ex = try loadExamples(path: datasetsDir + "/\(name).csv")
            XCTAssertEqual(ex.count, 637, name)
            XCTAssertEqual(ex[0].prompt, "What is the capital of Australia?")
            XCTAssertEqual(ex[0].source, "\(name).csv:2")
            XCTAssertFalse(ex.contains { $0.response.isEmpty || $0.prompt.isEmpty })
            questions.append(ex.map(\.prompt))
        }
        // Row i is the same question in every style.
        for q in questions.dropFirst() { XCTAssertEqual(q, questions[0]) }
        let anger = try loadQACSV(path: datasetsDir + "/anger.csv")
        XCTAssertEqual(
            anger[0].response, "Ugh, it's Canberra, obviously! Everyone assumes Sydney and it drives me up the wall.")
    }

    func testReferenceStyleCSVWithIndexColumnBOMAndLF() throws {
        let dir = try tempDir()
        // pandas' to_csv writes an unnamed index column; columns may come in any order and case.
        let p = try writeFile(
            dir, "ref.csv",
            [0xEF, 0xBB, 0xBF]
                + Array(",Answer,Question\n0,\"Paris, of course.\",Capital of France?\n1,Four.,2+2?\n".utf8))
        let ex = try loadQACSV(path: p)
        XCTAssertEqual(
            ex,
            [
                Example(prompt: "Capital of France?", response: "Paris, of course.", source: "ref.csv:2"),
                Example(prompt: "2+2?", response: "Four.", source: "ref.csv:3")
            ])
    }

    func testErrorsNameFileAndLine() throws {
        let dir = try tempDir()
        func err(_ name: String, _ content: [UInt8]) -> String {
            let p = try! writeFile(dir, name, content)
            return thrown(FileError.self) { try loadExamples(path: p) }?.description.replacingOccurrences(
                of: dir + "/", with: "") ?? "(none)"
        }
        func err(_ name: String, _ text: String) -> String { err(name, Array(text.utf8)) }
        XCTAssertEqual(err("empty.csv", ""), "empty.csv: empty file")
        XCTAssertEqual(err("blank.csv", "\r\n\n"), "blank.csv: empty file")
        XCTAssertEqual(
            err("unterminated.csv", "question,answer\r\nq,a\r\nq2,\"oops\r\n"),
            "unterminated.csv:3: unterminated quoted field")
        XCTAssertEqual(
            err("nocol.csv", "question,reply\nq,a\n"),
            "nocol.csv:1: header has no 'answer' column (found: 'question', 'reply')")
        XCTAssertEqual(
            err("noq.csv", "prompt,answer\nq,a\n"),
            "noq.csv:1: header has no 'question' column (found: 'prompt', 'answer')")
        XCTAssertEqual(
            err("cols.csv", "question,answer\nq,a\nq2,a2,extra\n"),
            "cols.csv:3: expected 2 fields as in the header, found 3")
        XCTAssertEqual(
            err("short.csv", "question,answer\nq,a\njust one\n"),
            "short.csv:3: expected 2 fields as in the header, found 1")
        XCTAssertEqual(err("header.csv", "question,answer\n"), "header.csv:1: no rows after the header")
        XCTAssertEqual(err("emptyans.csv", "question,answer\nq,\" \"\n"), "emptyans.csv:2: empty answer")
        // 0xFF on line 3; a valid 2-byte é before it on line 2.
        XCTAssertEqual(
            err("utf8.csv", Array("question,answer\nq,caf\u{e9}\nq2,".utf8) + [0xFF] + Array("\n".utf8)),
            "utf8.csv:3: invalid UTF-8: byte 0xFF is byte 4 of the line")
        // Truncated multi-byte sequence at the end of the file; an overlong encoding; a surrogate.
        XCTAssertTrue(
            err("trunc.csv", Array("question,answer\nq,a".utf8) + [0xE2, 0x82]).hasPrefix("trunc.csv:2: invalid UTF-8"))
        XCTAssertTrue(
            err("overlong.csv", Array("question,answer\n".utf8) + [0xC0, 0xAF]).hasPrefix(
                "overlong.csv:2: invalid UTF-8"))
        XCTAssertTrue(
            err("surrogate.csv", Array("question,answer\n".utf8) + [0xED, 0xA0, 0x80]).hasPrefix(
                "surrogate.csv:2: invalid UTF-8"))
        let e = thrown(FileError.self) { try loadExamples(path: dir + "/nope.csv") }
        XCTAssertEqual(e?.message, "no such file")
    }

    func testUTF8ValidatorAcceptsValidText() {
        XCTAssertNil(firstInvalidUTF8(Array("héllo wörld — 日本語 🎉 \u{10FFFF}".utf8)))
        XCTAssertEqual(firstInvalidUTF8([0x41, 0x80]), 1)
        XCTAssertEqual(firstInvalidUTF8([0xF4, 0x90, 0x80, 0x80]), 0)  // above U+10FFFF
        XCTAssertEqual(firstInvalidUTF8([0xE0, 0x80, 0x80]), 0)  // overlong
    }
}

final class LabelledTextLoaderTests: XCTestCase {
    func testCARERValWithLabel() throws {
        let all = try loadLabelledText(path: carerVal)
        XCTAssertEqual(all.count, 2000)
        XCTAssertEqual(Set(all.map(\.label)), ["sadness", "joy", "love", "anger", "fear", "surprise"])
        let anger = try loadExamples(path: carerVal, label: "anger")
        XCTAssertEqual(anger.count, all.filter { $0.label == "anger" }.count)
        XCTAssertGreaterThan(anger.count, 100)
        for e in anger {
            XCTAssertTrue(defaultPrompts.contains(e.prompt))
            XCTAssertEqual(e.prompt, defaultPrompt(for: e.response))
        }
        XCTAssertTrue(anger[0].source.hasPrefix("val.txt:"))
        // The prompts are spread over the list, not all the same.
        XCTAssertGreaterThan(Set(anger.map(\.prompt)).count, 15)
        // Without a label: every line.
        XCTAssertEqual(try loadExamples(path: carerVal).count, 2000)
    }

    func testSemicolonInTextCRLFAndBlankLines() throws {
        let dir = try tempDir()
        let p = try writeFile(dir, "l.txt", "first; still text;joy\r\n\r\nsecond line;anger\r\n\n")
        let rows = try loadLabelledText(path: p)
        XCTAssertEqual(
            rows,
            [
                LabelledText(text: "first; still text", label: "joy", line: 1),
                LabelledText(text: "second line", label: "anger", line: 3)
            ])
    }

    func testErrors() throws {
        let dir = try tempDir()
        let p = try writeFile(dir, "l.txt", "i feel fine;joy\ni am cross;anger\ni am cross;anger\n")
        XCTAssertEqual(
            thrown(FileError.self) { try loadExamples(path: p, label: "fear") }?.description,
            p + ": unknown label 'fear'; labels present: anger (2), joy (1)")
        let q = try writeFile(dir, "nosemi.txt", "ok;joy\nno label here\n")
        XCTAssertEqual(
            thrown(FileError.self) { try loadExamples(path: q) }?.description,
            q + ":2: expected 'text;label', found no ';'")
        let r = try writeFile(dir, "nolabel.txt", "ok;joy\nempty label;\n")
        XCTAssertEqual(
            thrown(FileError.self) { try loadExamples(path: r) }?.description, r + ":2: empty label after ';'")
        let s = try writeFile(dir, "bad.txt", Array("ok;joy\nok;joy\nbad ".utf8) + [0xC3, 0x28] + Array(";joy\n".utf8))
        XCTAssertEqual(thrown(FileError.self) { try loadExamples(path: s) }?.line, 3)
        let t = try writeFile(dir, "empty.txt", "")
        XCTAssertEqual(thrown(FileError.self) { try loadExamples(path: t) }?.message, "empty file")
    }
}

final class JSONLLoaderTests: XCTestCase {
    func testPromptResponseAndText() throws {
        let dir = try tempDir()
        let p = try writeFile(
            dir, "d.jsonl",
            """
            {"prompt": "Hi?", "response": "Hello!", "extra": 1}

            {"text": "I am so happy today"}
            {"question": "Q?", "answer": "A."}
            """)
        let ex = try loadExamples(path: p)
        XCTAssertEqual(
            ex,
            [
                Example(prompt: "Hi?", response: "Hello!", source: "d.jsonl:1"),
                Example(
                    prompt: defaultPrompt(for: "I am so happy today"), response: "I am so happy today",
                    source: "d.jsonl:3"),
                Example(prompt: "Q?", response: "A.", source: "d.jsonl:4")
            ])
    }

    func testOurSourceJSONLIsRejectedClearly() throws {
        // Datasets/source/qa.jsonl has question + style columns but no "answer"/"response".
        let e = thrown(FileError.self) { try loadExamples(path: datasetsDir + "/source/qa.jsonl") }
        XCTAssertEqual(e?.line, 1)
        XCTAssertEqual(e?.message, "has a \"prompt\" but no \"response\"")
    }

    func testErrors() throws {
        let dir = try tempDir()
        func msg(_ text: String) -> String {
            let p = try! writeFile(dir, "e.jsonl", text)
            return thrown(FileError.self) { try loadExamples(path: p) }?.description.replacingOccurrences(
                of: dir + "/", with: "") ?? ""
        }
        XCTAssertTrue(msg("{\"text\": \"ok\"}\n{\"text\": \"broken\"\n").hasPrefix("e.jsonl:2: invalid JSON"))
        XCTAssertEqual(
            msg("{\"text\": \"ok\"}\n[1, 2]\n"),
            "e.jsonl:2: expected a JSON object like {\"prompt\": …, \"response\": …} or {\"text\": …}")
        XCTAssertEqual(msg("{\"text\": 5}\n"), "e.jsonl:1: \"text\" must be a string")
        XCTAssertEqual(msg("{\"response\": \"r\"}\n"), "e.jsonl:1: has a \"response\" but no \"prompt\"")
        XCTAssertEqual(
            msg("{\"foo\": \"r\", \"bar\": 1}\n"),
            "e.jsonl:1: missing \"prompt\"/\"response\" or \"text\" (keys: \"bar\", \"foo\")")
        XCTAssertEqual(msg("{\"text\": \"  \"}\n"), "e.jsonl:1: \"text\" is empty")
        XCTAssertEqual(msg("\n\n"), "e.jsonl: empty file")
        let bad = try writeFile(
            dir, "u.jsonl", Array("{\"text\": \"ok\"}\n{\"text\": \"".utf8) + [0xFE] + Array("\"}\n".utf8))
        XCTAssertEqual(
            thrown(FileError.self) { try loadExamples(path: bad) }?.description,
            bad + ":2: invalid UTF-8: byte 0xFE is byte 11 of the line")
        print("sample JSONL syntax error: " + msg("{\"text\": \"ok\"}\n{\"text\": \"broken\"\n"))
    }
}

final class SQuADLoaderTests: XCTestCase {
    func testDevSet() throws {
        let answerable = try loadExamples(path: squadDev)
        let all = try loadSQuAD(path: squadDev, includeUnanswerable: true)
        // shared/README.md: 6078 questions, 3168 unanswerable.
        XCTAssertEqual(all.count, 6078)
        XCTAssertEqual(answerable.count, 6078 - 3168)
        XCTAssertEqual(
            answerable[0],
            Example(
                prompt: "In what country is Normandy located?", response: "France",
                source: "dev-v2.0.json#68cf05f67fd29c6f129fe2fb9"))
        XCTAssertEqual(all.filter { $0.response.isEmpty }.count, 3168)
    }

    func testErrors() throws {
        let dir = try tempDir()
        let a = try writeFile(dir, "a.json", "{\"data\": [{\"paragraphs\": [{\"qas\": [{\"id\": \"x\"}]}]}]}")
        XCTAssertEqual(
            thrown(FileError.self) { try loadExamples(path: a) }?.description,
            a + ": not SQuAD JSON: missing \"question\" at .data[0].paragraphs[0].qas[0]")
        let b = try writeFile(dir, "b.json", "{\"data\": [")
        XCTAssertTrue(
            thrown(FileError.self) { try loadExamples(path: b) }?.message.hasPrefix("invalid JSON") ?? false)
        let c = try writeFile(dir, "c.json", "{\"data\": []}")
        XCTAssertEqual(
            thrown(FileError.self) { try loadExamples(path: c) }?.message, "no questions found in \"data\"")
    }

    /// A test split: questions without answers (no "answers" key, or an empty list). Evaluation takes the
    /// questions; training refuses the file, naming it.
    func testQuestionsWithoutAnswers() throws {
        let dir = try tempDir()
        let t = try writeFile(
            dir, "test.json",
            """
            {"data": [{"paragraphs": [{"qas": [{"question": "Where is Paris?", "id": "q1"},
                                               {"question": " Who wrote Hamlet? ", "answers": []}]}]}]}
            """)
        XCTAssertEqual(
            try loadExamples(path: t, questionsOnly: true),
            [
                Example(prompt: "Where is Paris?", response: "", source: "test.json#q1"),
                Example(prompt: "Who wrote Hamlet?", response: "", source: "test.json#2")
            ])
        XCTAssertEqual(
            thrown(FileError.self) { try loadExamples(path: t) }?.description,
            t
                + ": none of its 2 questions has an answer: training needs answers (irm eval --questions takes such a file for its questions)"
        )
    }
}

final class FormatAndResolverTests: XCTestCase {
    func testFormatFromExtensionAndOverride() throws {
        XCTAssertEqual(DatasetFormat.fromExtension("x/anger.CSV"), .qaCSV)
        XCTAssertEqual(DatasetFormat.fromExtension("train.txt"), .labelled)
        XCTAssertEqual(DatasetFormat.fromExtension("a.jsonl"), .jsonl)
        XCTAssertEqual(DatasetFormat.fromExtension("dev-v2.0.json"), .squad)
        XCTAssertNil(DatasetFormat.fromExtension("data.tsv"))
        XCTAssertEqual(DatasetFormat(rawValue: "csv"), .qaCSV)
        let dir = try tempDir()
        let p = try writeFile(dir, "lines.dat", "hello there;joy\n")
        XCTAssertEqual(
            thrown(FileError.self) { try loadExamples(path: p) }?.message,
            "cannot tell the dataset format from the extension '.dat'; use --format with one of: csv, labelled, jsonl, squad"
        )
        XCTAssertEqual(try loadExamples(path: p, format: .labelled).map(\.response), ["hello there"])
        XCTAssertEqual(
            thrown(FileError.self) { try loadExamples(path: datasetsDir + "/anger.csv", label: "anger") }?.message,
            "--label applies only to labelled text (text;label) files, not to format 'csv'")
    }

    func testResolveDataset() throws {
        XCTAssertEqual(try resolveDataset("anger", datasetsDir: datasetsDir), datasetsDir + "/anger.csv")
        XCTAssertEqual(try resolveDataset("neutral.csv", datasetsDir: datasetsDir), datasetsDir + "/neutral.csv")
        XCTAssertEqual(try resolveDataset(carerVal, datasetsDir: datasetsDir), carerVal)
        XCTAssertEqual(availableDatasets(datasetsDir: datasetsDir), ["anger", "fear", "joy", "neutral", "sadness"])
        XCTAssertEqual(
            thrown(FileError.self) { try resolveDataset("angry", datasetsDir: datasetsDir) }?.description,
            "angry: no such dataset or file (datasets in \(datasetsDir): anger, fear, joy, neutral, sadness)")
        XCTAssertEqual(
            thrown(FileError.self) { try resolveDataset("no/such.csv", datasetsDir: datasetsDir) }?.description,
            "no/such.csv: no such file")
        XCTAssertEqual(
            thrown(FileError.self) { try resolveDataset(datasetsDir, datasetsDir: datasetsDir) }?.message,
            "is a directory, not a dataset file")
    }
}
