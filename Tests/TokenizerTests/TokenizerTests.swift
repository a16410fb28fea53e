import XCTest
import Foundation
@testable import ModelIO

import TestSupport

let shared = sharedDir
let llama2Model = llama2TokenizerModel
let llama2Bin = llama2TokenizerBin

struct Case { let id: String, text: String, ids: [Int32], pieces: [String]? }

func cases(_ file: String) throws -> [Case] {
    let root = try json(shared + "/golden/" + file)
    let arr = (root as? [[String: Any]]) ?? ((root as? [String: Any])?["cases"] as? [[String: Any]]) ?? []
    return arr.map { c in
        Case(
            id: c["id"] as! String, text: c["text"] as! String,
            ids: (c["ids"] as! [NSNumber]).map { Int32($0.intValue) }, pieces: c["pieces"] as? [String])
    }
}

/// Loaded once for the whole test run (parsing 49152 tokens and 48900 merges takes a moment).
final class Shared: @unchecked Sendable {
    static let smol: (gguf: GGUFFile, tok: Tokenizer)? = {
        guard FileManager.default.fileExists(atPath: smolPath),
            let g = try? GGUFFile(path: smolPath),
            let t = try? loadTokenizer(gguf: g.metadata, file: smolPath)
        else { return nil }
        return (g, t)
    }()
}

final class TokenizerTests: XCTestCase {
    func smol() throws -> Tokenizer {
        guard let s = Shared.smol else { throw XCTSkip("SmolLM2 GGUF not found at \(smolPath) (run `make model`)") }
        return s.tok
    }

    // MARK: SmolLM2 (GGUF, GPT-2 byte-level BPE, smollm pre-tokenizer) against llama.cpp

    func testSmolLM2Metadata() throws {
        let t = try smol()
        XCTAssertEqual(t.vocabSize, 49152)
        XCTAssertEqual(t.bosId, 1)
        XCTAssertEqual(t.eosId, 2)
        XCTAssertFalse(t.addBOS)
        XCTAssertTrue(t.isEndOfGeneration(2))
        XCTAssertTrue(t.isEndOfGeneration(0))  // <|endoftext|>, as in llama.cpp's EOG set
        XCTAssertFalse(t.isEndOfGeneration(1))
        XCTAssertEqual(t.tokenString(1), "<|im_start|>")
        XCTAssertEqual(t.tokenId("<|im_end|>"), 2)
        XCTAssertEqual(t.tokenKind(2), .control)
        XCTAssertEqual(t.tokenBytes(2), Array("<|im_end|>".utf8))
        XCTAssertEqual(t.tokenBytes(216), [0x20])  // "Ġ"
    }

    func testSmolLM2GoldenPrompts() throws {
        let t = try smol()
        let prompts = try json(shared + "/golden/prompts.json") as! [[String: String]]
        let tokens = try json(shared + "/golden/tokens.json") as! [String: [NSNumber]]
        XCTAssertEqual(prompts.count, 5)
        for p in prompts {
            let id = p["id"]!, text = p["text"]!
            let want = tokens[id]!.map { Int32($0.intValue) }
            XCTAssertEqual(t.encode(text, addSpecial: true, parseSpecial: true), want, id)
            XCTAssertEqual(t.decode(want), text, "round trip \(id)")
        }
    }

    func testSmolLM2TokenizerCases() throws {
        let t = try smol()
        let cs = try cases("tokenizer_cases.json")
        XCTAssertGreaterThanOrEqual(cs.count, 18)
        for c in cs {
            let got = t.encode(c.text, addSpecial: true, parseSpecial: true)
            XCTAssertEqual(got, c.ids, "\(c.id) \(c.text.debugDescription)")
            if let p = c.pieces { XCTAssertEqual(got.map(t.tokenString), p, c.id) }
            XCTAssertEqual(t.decode(got), c.text, "round trip \(c.id)")
        }
    }

    func testSmolLM2SpecialsAsText() throws {
        let t = try smol()
        // Without parseSpecial, "<|im_end|>" is ordinary text.
        let ids = t.encode("x<|im_end|>y", addSpecial: false, parseSpecial: false)
        XCTAssertFalse(ids.contains(2))
        XCTAssertEqual(t.decode(ids), "x<|im_end|>y")
        XCTAssertEqual(t.encode("", addSpecial: true, parseSpecial: true), [])
        XCTAssertEqual(t.decode([104, 2, 105], skipSpecial: true), "xy")
    }

    func testSmolLM2Speed() throws {
        let t = try smol()
        let para = (try json(shared + "/golden/prompts.json") as! [[String: String]]).last!["text"]!
        var words = para.split(separator: " ").map(String.init)
        words = (0..<2000).map { i in words[i % words.count] + (i % 7 == 0 ? "\(i)" : "") }
        let text = words.joined(separator: " ")
        let t0 = Date()
        let ids = t.encode(text, addSpecial: false, parseSpecial: true)
        let dt = Date().timeIntervalSince(t0)
        XCTAssertEqual(t.decode(ids), text)
        XCTAssertLessThan(dt, 0.5, "2000 words took \(dt) s")
        // Uncached words (the cache must not be what makes it fast).
        let fresh = (0..<2000).map { i in "w\(String(i * 7919, radix: 36))q" }.joined(separator: " ")
        let t1 = Date()
        _ = t.encode(fresh, addSpecial: false, parseSpecial: false)
        XCTAssertLessThan(Date().timeIntervalSince(t1), 0.5)
    }

    // MARK: Llama 2 (sentencepiece) against sentencepiece

    func llama2Tokenizers() throws -> [(String, Tokenizer)] {
        let m = try loadSentencePieceModel(path: llama2Model)
        let b = try loadLlama2cTokenizer(path: llama2Bin, vocabSize: 32000)
        return [("tokenizer.model", m), ("tokenizer.bin", b)]
    }

    func testLlama2Cases() throws {
        let cs = try cases("llama2_tokenizer_cases.json")
        XCTAssertGreaterThanOrEqual(cs.count, 14)
        for (name, t) in try llama2Tokenizers() {
            XCTAssertEqual(t.vocabSize, 32000, name)
            XCTAssertEqual(t.bosId, 1, name); XCTAssertEqual(t.eosId, 2, name)
            XCTAssertTrue(t.addBOS, name)
            XCTAssertTrue(t.isEndOfGeneration(2), name)
            XCTAssertEqual(t.tokenString(1), "<s>", name)
            // Llama 2 holds both "ά" U+03AC and U+1F71 (canonically equivalent): ids must follow the bytes.
            XCTAssertEqual(t.tokenId("\u{03AC}"), 30216, name)
            XCTAssertEqual(t.tokenId("\u{1F71}"), 31042, name)
            XCTAssertEqual(t.encode("\u{1F71}", addSpecial: false, parseSpecial: false), [29871, 31042], name)
            XCTAssertEqual(
                t.encode("e\u{301}", addSpecial: false, parseSpecial: false).map(t.tokenString), ["▁e", "\u{301}"], name
            )
            for c in cs {
                // The reference is SentencePieceProcessor.encode: no BOS.
                let got = t.encode(c.text, addSpecial: false, parseSpecial: false)
                XCTAssertEqual(got, c.ids, "\(name) \(c.id) \(c.text.debugDescription)")
                if let p = c.pieces { XCTAssertEqual(got.map(t.tokenString), p, "\(name) \(c.id)") }
                XCTAssertEqual(t.decode(got), c.text, "\(name) round trip \(c.id)")
                // With BOS: same ids after it, and decode drops BOS's leading-space effect likewise.
                let withBOS = t.encode(c.text, addSpecial: true, parseSpecial: true)
                XCTAssertEqual(withBOS, [1] + c.ids, "\(name) \(c.id) with BOS")
                XCTAssertEqual(t.decode(withBOS, skipSpecial: true), c.text)
            }
        }
    }

    func testLlama2SpecialsAndChatPrompt() throws {
        for (name, t) in try llama2Tokenizers() {
            // A special token restarts the dummy prefix (llama.cpp): "<s>[INST]" -> <s> "▁[" "INST" "]".
            let ids = t.encode("<s>[INST] Hi [/INST]", addSpecial: false, parseSpecial: true)
            XCTAssertEqual(Array(ids.prefix(4)), [1, 518, 25580, 29962], name)
            XCTAssertEqual(t.encode("", addSpecial: true, parseSpecial: true), [1], name)
            XCTAssertEqual(t.decode([1, 15043, 3186]), "<s>Hello world", name)
            XCTAssertEqual(t.decode([15043, 2]), "Hello</s>", name)
            XCTAssertEqual(t.tokenBytes(13), [0x0A], name)  // <0x0A>
            XCTAssertEqual(t.tokenBytes(15043), Array(" Hello".utf8), name)
        }
    }

    func testLlama2Speed() throws {
        let t = try loadSentencePieceModel(path: llama2Model)
        let para = (try json(shared + "/golden/prompts.json") as! [[String: String]]).last!["text"]!
        let words = para.split(separator: " ").map(String.init)
        let text = (0..<2000).map { words[$0 % words.count] }.joined(separator: " ")
        let t0 = Date()
        let ids = t.encode(text, addSpecial: true, parseSpecial: true)
        let dt = Date().timeIntervalSince(t0)
        XCTAssertEqual(t.decode(ids, skipSpecial: true), text)
        XCTAssertLessThan(dt, 0.5, "2000 words took \(dt) s")
    }

    func testStories260K() throws {
        let t = try loadLlama2cTokenizer(path: shared + "/models/stories260K/tok512.bin", vocabSize: 512)
        XCTAssertEqual(t.vocabSize, 512)
        XCTAssertEqual(t.encode("Once upon a time", addSpecial: false, parseSpecial: false), [403, 407, 261, 378])
        XCTAssertEqual(t.encode("Once upon a time", addSpecial: true, parseSpecial: false), [1, 403, 407, 261, 378])
        XCTAssertEqual(t.decode([403, 407, 261, 378]), "Once upon a time")
    }

    // MARK: Streaming

    func testStreamingNeverSplitsCharacters() throws {
        var toks: [(String, Tokenizer)] = try llama2Tokenizers()
        if let s = Shared.smol { toks.append(("smol", s.tok)) }
        let text = "emoji 🌍🚀 東京タワー 𝔘𝔫𝔦 naïve 😀!"
        for (name, t) in toks {
            let ids = t.encode(text, addSpecial: false, parseSpecial: false)
            XCTAssertEqual(t.decode(ids), text, name)
            for start in [true, false] {
                var d = StreamingDecoder(t, sequenceStart: start)
                var parts: [String] = []
                for id in ids { parts.append(d.push(id)) }
                parts.append(d.flush())
                for p in parts {
                    XCTAssertFalse(p.contains("\u{FFFD}"), "\(name): split character in \(p.debugDescription)")
                }
                let whole = parts.joined()
                XCTAssertEqual(
                    whole, start ? t.decode(ids) : String(decoding: ids.flatMap(t.tokenBytes), as: UTF8.self), name)
                // Byte-fallback / byte-level pieces of one emoji produce empty outputs until it completes.
                XCTAssertTrue(parts.contains(""), name)
            }
        }
        XCTAssertEqual(StreamingDecoder.completePrefix([0x61, 0xF0, 0x9F]), 1)
        XCTAssertEqual(StreamingDecoder.completePrefix([0x61, 0xF0, 0x9F, 0x98, 0x80]), 5)
        XCTAssertEqual(StreamingDecoder.completePrefix([0x61, 0x80]), 2)  // stray continuation: not held
    }

    // MARK: Chat templates

    func testChatTemplates() throws {
        let prompts = try json(shared + "/golden/prompts.json") as! [[String: String]]
        let france = prompts.first { $0["id"] == "chat_france" }!["text"]!
        let sys = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
        let chatml = ChatTemplate.chatml(defaultSystem: sys)
        XCTAssertEqual(
            chatml.render(
                system: nil, turns: [("user", "What is the capital of France?")],
                addGenerationPrompt: true), france)
        if let s = Shared.smol {
            let detected = ChatTemplate.detect(metadata: s.gguf.metadata, tokenizer: s.tok)
            XCTAssertEqual(detected, chatml)
            XCTAssertEqual(ChatTemplate.detect(metadata: nil, tokenizer: s.tok), .chatml(defaultSystem: nil))
        }
        XCTAssertEqual(
            ChatTemplate.chatml(defaultSystem: nil).render(
                system: "S", turns: [("user", "a"), ("assistant", "b"), ("user", "c")], addGenerationPrompt: false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n<|im_start|>user\nc<|im_end|>\n"
        )

        let l2 = ChatTemplate.llama2
        XCTAssertEqual(
            l2.render(system: "Be nice.", turns: [("user", "Hi")], addGenerationPrompt: true),
            "<s>[INST] <<SYS>>\nBe nice.\n<</SYS>>\n\nHi [/INST]")
        XCTAssertEqual(
            l2.render(system: nil, turns: [("user", "Hi")], addGenerationPrompt: true), "<s>[INST] Hi [/INST]")
        XCTAssertEqual(
            l2.render(
                system: "S", turns: [("user", "A"), ("assistant", "B"), ("user", "C")],
                addGenerationPrompt: true),
            "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nA [/INST] B </s><s>[INST] C [/INST]")
        let l2tok = try loadSentencePieceModel(path: llama2Model)
        XCTAssertEqual(ChatTemplate.detect(metadata: nil, tokenizer: l2tok), .llama2)
        XCTAssertEqual(
            ChatTemplate.detect(
                metadata: ["tokenizer.chat_template": .string("{{ '[INST] ' }}")],
                tokenizer: l2tok), .llama2)
    }

    // MARK: tokenizer.json

    func testTokenizerJSONByteLevelFromSmolLM2() throws {
        guard let s = Shared.smol else { throw XCTSkip("no SmolLM2") }
        let md = s.gguf.metadata
        let toks = md["tokenizer.ggml.tokens"]!.stringArray!
        let types = md["tokenizer.ggml.token_type"]!.intArray!
        var vocab: [String: Int] = [:]
        var added: [[String: Any]] = []
        for (i, p) in toks.enumerated() {
            vocab[p] = i
            if types[i] == 3 { added.append(["id": i, "content": p, "special": true]) }
        }
        let root: [String: Any] = [
            "added_tokens": added,
            "pre_tokenizer": [
                "type": "Sequence",
                "pretokenizers": [
                    ["type": "Digits", "individual_digits": true],
                    ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true]
                ]
            ],
            "decoder": ["type": "ByteLevel"],
            "model": ["type": "BPE", "vocab": vocab, "merges": md["tokenizer.ggml.merges"]!.stringArray!]
        ]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tokjson-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("tokenizer.json").path
        try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: path))
        try JSONSerialization.data(withJSONObject: [
            "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
            "add_bos_token": false
        ])
        .write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let t = try loadTokenizerJSON(path: path)
        XCTAssertEqual(t.bosId, 1); XCTAssertEqual(t.eosId, 2); XCTAssertFalse(t.addBOS)
        for c in try cases("tokenizer_cases.json") {
            XCTAssertEqual(t.encode(c.text, addSpecial: true, parseSpecial: true), c.ids, c.id)
        }
    }

    func testTokenizerJSONSentencePieceStyle() throws {
        // A Llama-2-style tokenizer.json built from tokenizer.model the way HF's converter does it: merges
        // (a, b) for every normal piece a+b splittable into two pieces, ordered by the merged piece's score.
        // Written as text: a Swift [String: Int] would merge canonically equivalent pieces.
        let m = try loadSentencePieceModel(path: llama2Model) as! SentencePieceBPETokenizer
        let v = m.vocab
        var vocab: [[UInt8]: Int] = [:]
        for (i, p) in v.pieces.enumerated() { vocab[Array(p.utf8)] = i }
        var merges: [(Float, Int, String)] = []
        for (i, p) in v.pieces.enumerated() where v.kinds[i] == .normal {
            let sc = Array(p.unicodeScalars)
            guard sc.count > 1 else { continue }
            for k in 1..<sc.count {
                let a = String(String.UnicodeScalarView(sc[..<k])), b = String(String.UnicodeScalarView(sc[k...]))
                if let ia = vocab[Array(a.utf8)], let ib = vocab[Array(b.utf8)], v.kinds[ia] == .normal,
                    v.kinds[ib] == .normal
                {
                    merges.append((v.scores[i], ia * 100_000 + ib, a + " " + b))
                }
            }
        }
        merges.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
        func q(_ s: String) -> String {
            var o = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": o += "\\\""
                case "\\": o += "\\\\"
                default:
                    if u.value < 0x20 { o += String(format: "\\u%04x", u.value) } else { o.unicodeScalars.append(u) }
                }
            }
            return o + "\""
        }
        let vocabText = v.pieces.enumerated().map { "\(q($0.element)):\($0.offset)" }.joined(separator: ",")
        let text = """
            {"added_tokens":[{"id":0,"content":"<unk>","special":true},{"id":1,"content":"<s>","special":true},\
            {"id":2,"content":"</s>","special":true}],
            "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},\
            {"type":"Replace","pattern":{"String":" "},"content":"▁"}]},
            "model":{"type":"BPE","byte_fallback":true,"unk_token":"<unk>","vocab":{\(vocabText)},
            "merges":[\(merges.map { q($0.2) }.joined(separator: ","))]}}
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("spm-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let t = try loadTokenizerJSON(path: path)
        XCTAssertEqual(t.bosId, 1); XCTAssertEqual(t.eosId, 2); XCTAssertTrue(t.addBOS)
        for c in try cases("llama2_tokenizer_cases.json") {
            XCTAssertEqual(t.encode(c.text, addSpecial: false, parseSpecial: false), c.ids, c.id)
        }
        // Canonically equivalent but distinct pieces stay distinct (JSONSerialization would merge them).
        for s in ["\u{03AC}", "\u{1F71}", "e\u{301}", "caf\u{E9} \u{3AC}\u{1F71}"] {
            XCTAssertEqual(
                t.encode(s, addSpecial: false, parseSpecial: false),
                m.encode(s, addSpecial: false, parseSpecial: false), s.debugDescription)
        }
    }

    // MARK: Bad input

    func tmp(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("\(getpid())-\(name)").path
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func assertModelIOError(_ path: String, _ contains: String, _ body: () throws -> Any) {
        do {
            _ = try body()
            XCTFail("no error for \(path)")
        } catch let e as FileError {
            XCTAssertEqual(e.file, path)
            XCTAssertTrue(e.message.contains(contains), e.description)
            XCTAssertFalse(e.description.contains("\n"))
        } catch {
            XCTFail("wrong error \(error)")
        }
    }

    func testBadFiles() throws {
        let model = Array(try Data(contentsOf: URL(fileURLWithPath: llama2Model)))
        for cut in [1, 3, 100, 1000, model.count / 2] {
            let p = try tmp("trunc\(cut).model", Array(model.prefix(cut)))
            defer { try? FileManager.default.removeItem(atPath: p) }
            assertModelIOError(p, "protobuf") { try loadSentencePieceModel(path: p) }
        }
        let garbage = try tmp("garbage.model", [0x0B, 0xFF, 0xFF])  // wire type 3 (group)
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        assertModelIOError(garbage, "protobuf") { try loadSentencePieceModel(path: garbage) }

        var bin = Array(try Data(contentsOf: URL(fileURLWithPath: shared + "/models/stories260K/tok512.bin")))
        bin.replaceSubrange(8..<12, with: [0xFF, 0xFF, 0x00, 0x00])  // token 0's length: 65535
        let pb = try tmp("long.bin", bin)
        defer { try? FileManager.default.removeItem(atPath: pb) }
        assertModelIOError(pb, "past the end") { try loadLlama2cTokenizer(path: pb, vocabSize: 512) }
        let short = try tmp("short.bin", Array(bin.prefix(2)))
        defer { try? FileManager.default.removeItem(atPath: short) }
        assertModelIOError(short, "truncated") { try loadLlama2cTokenizer(path: short, vocabSize: 512) }
        let tooMany = shared + "/models/stories260K/tok512.bin"
        assertModelIOError(tooMany, "truncated") { try loadLlama2cTokenizer(path: tooMany, vocabSize: 600) }

        let noModel = try tmp("nomodel.json", Array(#"{"added_tokens": []}"#.utf8))
        defer { try? FileManager.default.removeItem(atPath: noModel) }
        assertModelIOError(noModel, "model") { try loadTokenizerJSON(path: noModel) }
        let notJSON = try tmp("bad.json", Array("{".utf8))
        defer { try? FileManager.default.removeItem(atPath: notJSON) }
        assertModelIOError(notJSON, "JSON") { try loadTokenizerJSON(path: notJSON) }
        let badMerge = try tmp(
            "badmerge.json",
            Array(#"{"model":{"type":"BPE","vocab":{"a":0},"merges":["ab"]},"decoder":{"type":"ByteLevel"}}"#.utf8))
        defer { try? FileManager.default.removeItem(atPath: badMerge) }
        assertModelIOError(badMerge, "merges") { try loadTokenizerJSON(path: badMerge) }
        assertModelIOError("/nonexistent/tokenizer.model", "no such file") {
            try loadSentencePieceModel(path: "/nonexistent/tokenizer.model")
        }
    }

    func testBadGGUFMetadata() throws {
        let base: [String: GGUFValue] = [
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.tokens": .array([.string("a"), .string("b"), .string("ab")]),
            "tokenizer.ggml.merges": .array([.string("a b")])
        ]
        XCTAssertNoThrow(try loadTokenizer(gguf: base, file: "m.gguf"))
        var md = base; md["tokenizer.ggml.merges"] = .array([.string("ab")])
        assertModelIOError("m.gguf", "bad merges line 0") { try loadTokenizer(gguf: md, file: "m.gguf") }
        md = base; md["tokenizer.ggml.tokens"] = nil
        assertModelIOError("m.gguf", "tokenizer.ggml.tokens") { try loadTokenizer(gguf: md, file: "m.gguf") }
        md = base; md["tokenizer.ggml.model"] = .string("t5")
        assertModelIOError("m.gguf", "unsupported") { try loadTokenizer(gguf: md, file: "m.gguf") }
        md = base; md["tokenizer.ggml.eos_token_id"] = .uint32(99)
        assertModelIOError("m.gguf", "out of range") { try loadTokenizer(gguf: md, file: "m.gguf") }
        md = base; md["tokenizer.ggml.token_type"] = .array([.int32(1)])
        assertModelIOError("m.gguf", "token_type") { try loadTokenizer(gguf: md, file: "m.gguf") }
        md = base; md["tokenizer.ggml.pre"] = .string("qwen2")
        assertModelIOError("m.gguf", "tokenizer.ggml.pre") { try loadTokenizer(gguf: md, file: "m.gguf") }
    }

    // MARK: Pre-tokenizers on their own

    func words(_ k: PreTokenizerKind, _ s: String) -> [String] {
        let cps = s.unicodeScalars.map(\.value)
        return PreTokenizer(kind: k).split(cps).map { r in
            String(String.UnicodeScalarView(cps[r].map { Unicode.Scalar($0)! }))
        }
    }

    func testPreTokenizers() {
        XCTAssertEqual(
            words(.gpt2, "Hello  world's 123 ok!!  "), ["Hello", " ", " world", "'s", " 123", " ok", "!!", "  "])
        XCTAssertEqual(words(.digitsThenGPT2, "ab 1234x"), ["ab", " ", "1", "2", "3", "4", "x"])
        XCTAssertEqual(
            words(.llama3, "Hello 12345 I'M\n\n  x"), ["Hello", " ", "123", "45", " I", "'M", "\n\n", " ", " x"])
        XCTAssertEqual(words(.gpt2, "x\u{3000}y"), ["x", "\u{3000}", "y"])
        XCTAssertEqual(words(.gpt2, "Ωμέγα ٣"), ["Ωμέγα", " ٣"])
    }
}
