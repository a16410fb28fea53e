import Foundation
import XCTest
import Llama
import ModelIO
@testable import Datasets

nonisolated(unsafe) var _smolTok: (Tokenizer, ChatTemplate)?
func smolTokenizer() throws -> (Tokenizer, ChatTemplate) {
    if let t = _smolTok { return t }
    let t = try LoadedModel.loadTokenizerOnly(path: smolPath)
    _smolTok = t
    return t
}

final class TokenizeTests: XCTestCase {
    /// Prompt ids + response ids equal the ids of the whole conversation rendered by the template, for every
    /// example of our five CSVs and some CARER lines, with the default and an explicit system prompt.
    func testSmolLM2SplitEqualsFullRendering() throws {
        let (tok, template) = try smolTokenizer()
        guard case .chatml = template else { return XCTFail("SmolLM2 should use ChatML, got \(template)") }
        let imEnd = tok.tokenId("<|im_end|>")!
        XCTAssertEqual(endOfTurnToken(tokenizer: tok, template: template), imEnd)
        var examples: [Example] = []
        for name in ["neutral", "anger", "sadness", "joy", "fear"] {
            examples += try loadQACSV(path: datasetsDir + "/\(name).csv")
        }
        examples += try loadExamples(path: carerVal).prefix(300)
        var checked = 0
        for system in [nil, "You answer in one sentence."] as [String?] {
            for e in examples {
                let p = promptIds(e.prompt, tokenizer: tok, template: template, system: system)
                let r = responseIds(e.response, tokenizer: tok, template: template)
                let full = tok.encode(
                    template.render(
                        system: system, turns: [("user", e.prompt), ("assistant", e.response)],
                        addGenerationPrompt: false), addSpecial: false, parseSpecial: true)
                // ChatML writes "<|im_end|>\n" after the answer: the full rendering has that newline beyond ours.
                guard full.starts(with: p + r), tok.decode(Array(full[(p.count + r.count)...])) == "\n" else {
                    return XCTFail("\(e.source): split tokenisation differs from the full rendering")
                }
                XCTAssertEqual(r.last, imEnd)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 2 * (5 * 637 + 300))
    }

    /// The same property for the Llama 2 chat format with the Llama 2 SentencePiece tokenizer, where the
    /// rendering ends with " </s>" and the dummy prefix supplies the space after [/INST].
    func testLlama2SplitEqualsFullRendering() throws {
        let tok = try loadSentencePieceModel(path: llama2TokenizerModel)
        let template = ChatTemplate.llama2
        XCTAssertEqual(endOfTurnToken(tokenizer: tok, template: template), tok.eosId)
        try assertSplitEqualsFull(tok, template) { p, _ in
            XCTAssertEqual(p.first, tok.bosId)  // "<s>" written by the template
        }
    }

    /// The same property for Llama 3 (Llama 3's real vocabulary, the 3.1 template): every answer ends with <|eot_id|>.
    func testLlama3SplitEqualsFullRendering() throws {
        let tok = try loadTokenizerJSON(path: try llama3TokenizerFixture() + "/tokenizer.json")
        let template = ChatTemplate.llama3(
            systemPrefix: "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n")
        let eot = tok.tokenId("<|eot_id|>")!
        XCTAssertEqual(endOfTurnToken(tokenizer: tok, template: template), eot)
        try assertSplitEqualsFull(tok, template) { p, r in
            XCTAssertEqual(p.first, 128000)  // <|begin_of_text|> written by the template, once
            XCTAssertEqual(p.dropFirst().first, 128006)
            XCTAssertEqual(r.last, eot)
        }
    }

    /// For 200 anger answers and 100 CARER texts, with and without a system prompt: the prompt's ids followed by
    /// the response's equal the whole rendered conversation's; `check` sees each (prompt, response) pair.
    func assertSplitEqualsFull(
        _ tok: Tokenizer, _ template: ChatTemplate, check: ([Int32], [Int32]) -> Void,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var examples = try loadQACSV(path: datasetsDir + "/anger.csv").prefix(200).map { $0 }
        examples += try loadExamples(path: carerVal).prefix(100)
        XCTAssertEqual(examples.count, 300, file: file, line: line)
        for system in [nil, "Be brief."] as [String?] {
            for e in examples {
                let p = promptIds(e.prompt, tokenizer: tok, template: template, system: system)
                let r = responseIds(e.response, tokenizer: tok, template: template)
                let full = tok.encode(
                    template.render(
                        system: system, turns: [("user", e.prompt), ("assistant", e.response)],
                        addGenerationPrompt: false), addSpecial: false, parseSpecial: true)
                guard p + r == full else {
                    return XCTFail("\(e.source): \(p + r) vs \(full)", file: file, line: line)
                }
                check(p, r)
            }
        }
    }

    func testTruncationAndDrop() throws {
        let (tok, template) = try smolTokenizer()
        let e = Example(
            prompt: "What is the capital of Australia?", response: String(repeating: "Canberra is lovely. ", count: 40),
            source: "t:1")
        let full = tokenize(e, tokenizer: tok, template: template, system: nil, maxLength: 10_000)!
        let p = promptIds(e.prompt, tokenizer: tok, template: template, system: nil)
        XCTAssertEqual(full.responseStart, p.count)
        XCTAssertEqual(Array(full.ids[..<p.count]), p)
        XCTAssertGreaterThan(full.ids.count, 128)
        let cut = tokenize(e, tokenizer: tok, template: template, system: nil, maxLength: 128)!
        XCTAssertEqual(cut.ids, Array(full.ids.prefix(128)))
        XCTAssertEqual(cut.responseStart, p.count)
        // Room for exactly one response token; none -> dropped.
        XCTAssertEqual(
            tokenize(e, tokenizer: tok, template: template, system: nil, maxLength: p.count + 1)?.responseCount, 1)
        XCTAssertNil(tokenize(e, tokenizer: tok, template: template, system: nil, maxLength: p.count))
        let short = Example(prompt: "Hi?", response: "Hello.", source: "t:2")
        let r = tokenizeAll([e, short, e], tokenizer: tok, template: template, system: nil, maxLength: 128)
        XCTAssertEqual(r.examples.count, 3); XCTAssertEqual(r.truncated, 2); XCTAssertEqual(r.dropped, [])
        let longPrompt = Example(prompt: String(repeating: "why ", count: 200), response: "Because.", source: "t:3")
        let r2 = tokenizeAll([short, longPrompt], tokenizer: tok, template: template, system: nil, maxLength: 128)
        XCTAssertEqual(r2.examples.count, 1); XCTAssertEqual(r2.dropped, [1])
    }

    func testTokenCache() throws {
        let (tok, template) = try smolTokenizer()
        let dir = try tempDir()
        var examples = try loadQACSV(path: datasetsDir + "/anger.csv")
        examples.append(Example(prompt: String(repeating: "why ", count: 200), response: "Because.", source: "t:3"))
        let id = tokenizerFingerprint(tok)
        XCTAssertEqual(id, tokenizerFingerprint(tok))
        XCTAssertTrue(id.hasPrefix("vocab49152-"), id)
        let key = tokenCacheKey(modelIdentity: id, examples: examples, template: template, system: nil, maxLength: 128)
        let t0 = Date()
        let a = try cachedTokenize(
            examples: examples, tokenizer: tok, template: template, system: nil, maxLength: 128, cacheDir: dir, key: key
        )
        let t1 = Date()
        let b = try cachedTokenize(
            examples: examples, tokenizer: tok, template: template, system: nil, maxLength: 128, cacheDir: dir, key: key
        )
        let t2 = Date()
        print(
            "token cache: tokenise \(String(format: "%.3f", t1.timeIntervalSince(t0))) s, from cache \(String(format: "%.3f", t2.timeIntervalSince(t1))) s"
        )
        XCTAssertFalse(a.fromCache); XCTAssertTrue(b.fromCache)
        var bb = b; bb.fromCache = false
        XCTAssertEqual(a, bb)
        XCTAssertEqual(a.examples.count, 637); XCTAssertEqual(a.dropped, [637])
        XCTAssertEqual(a.sourceIndices, Array(0..<637))
        let direct = tokenizeAll(examples, tokenizer: tok, template: template, system: nil, maxLength: 128)
        XCTAssertEqual(a.examples, direct.examples)
        XCTAssertEqual(a.truncated, direct.truncated)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir)
        XCTAssertEqual(files.count, 1)  // no temporary file left behind
        // Another key (maxLength, system prompt or data) is a different cache entry.
        let key2 = tokenCacheKey(
            modelIdentity: id, examples: examples, template: template, system: "Be brief.", maxLength: 128)
        XCTAssertNotEqual(key, key2)
        XCTAssertNotEqual(
            key,
            tokenCacheKey(
                modelIdentity: id, examples: Array(examples.dropFirst()), template: template, system: nil,
                maxLength: 128))
        XCTAssertNotEqual(
            key, tokenCacheKey(modelIdentity: id, examples: examples, template: template, system: nil, maxLength: 64))
        let c = try cachedTokenize(
            examples: examples, tokenizer: tok, template: template, system: "Be brief.", maxLength: 128, cacheDir: dir,
            key: key2)
        XCTAssertFalse(c.fromCache)
        XCTAssertNotEqual(c.examples[0].ids, a.examples[0].ids)
        // A damaged cache file is rebuilt, not trusted.
        let path = dir + "/" + files[0]
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: path))
        let d = try cachedTokenize(
            examples: examples, tokenizer: tok, template: template, system: nil, maxLength: 128, cacheDir: dir, key: key
        )
        XCTAssertFalse(d.fromCache)
        XCTAssertEqual(d.examples, a.examples)
        print("token cache file: \(bytes.count) bytes for 637 examples")
    }
}
