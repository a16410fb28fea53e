import XCTest
import Foundation

/// The command table as the user sees it: every command and subcommand (read from `irm help`, so a new one
/// is covered without touching this file) has a help that exits 0 and rejects options it did not declare.
final class CommandTableTests: XCTestCase {
    /// The names listed under "commands:" / "subcommands:" in a help text, without `help` itself.
    func listed(_ help: String) -> [String] {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0 == "commands:" || $0 == "subcommands:" }) else { return [] }
        return lines[(start + 1)...].prefix { !$0.isEmpty }
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }  // not a wrapped summary line
            .map { String($0.split(separator: " ")[0]) }.filter { $0 != "help" }
    }

    /// Every leaf command as its words, e.g. ["neurons", "map"], walking `--help` down the groups.
    func leaves() throws -> [[String]] {
        var out: [[String]] = [], todo: [[String]] = [[]]
        while let path = todo.popLast() {
            let r = try runIRM(path + ["--help"])
            XCTAssertEqual(r.status, 0, "irm \(path.joined(separator: " ")) --help: \(r.stderr)")
            let subs = listed(r.stdout)
            if subs.isEmpty { out.append(path) } else { todo += subs.map { path + [$0] } }
        }
        return out.sorted { $0.joined(separator: " ") < $1.joined(separator: " ") }
    }

    func testEveryCommandHasHelpAndRejectsUnknownOptions() throws {
        let all = try leaves()
        XCTAssertEqual(
            all.map { $0.joined(separator: " ") },
            [
                "analyze", "eval", "export", "generate", "heatmap", "info", "logits", "neurons clamp",
                "neurons compare", "neurons find",
                "neurons map", "neurons residual", "neurons show", "report", "sweep", "sweep-report", "tokenize",
                "train"
            ])
        for words in all {
            let name = "irm " + words.joined(separator: " ")
            let h = try runIRM(words + ["--help"])
            XCTAssertEqual(h.status, 0, "\(name) --help: \(h.stderr)")
            XCTAssertTrue(h.stdout.hasPrefix(name + " — "), h.stdout)
            XCTAssertTrue(
                h.stdout.contains("\nusage: \(name) ") && h.stdout.contains("\noptions:\n")
                    && h.stdout.contains("  --help "), h.stdout)
            XCTAssertEqual(h.stderr, "")
            // `irm help WORDS...` is the same text.
            XCTAssertEqual(try runIRM(["help"] + words).stdout, h.stdout, name)
            // An option nobody declared: one line naming it, exit 2, before anything is loaded.
            let r = try runIRM(words + ["--no-such-option", "1"])
            assertOneLineError(r, contains: [name + ":", "unknown option --no-such-option"])
            XCTAssertEqual(r.status, 2, name)
            let eq = try runIRM(words + ["--no-such-option=1"])
            assertOneLineError(eq, contains: ["--no-such-option"])
        }
    }

    func testHelpIsPerSubcommand() throws {
        let map = try runIRM(["neurons", "map", "--help"])
        XCTAssertEqual(map.status, 0, map.stderr)
        for o in [
            "--kind up|gate|down", "--layers SPEC", "--top K", "--bottom K", "--norm final|none", "--out FILE",
            "--tsv FILE",
            "--model PATH", "--threads N", "(default 10)", "(default up)"
        ] {
            XCTAssertTrue(map.stdout.contains(o), "'\(o)' not in: \(map.stdout)")
        }
        for o in ["--neuron", "--prompt", "--sweep-values", "--bottom-list", "--scale", "--map "] {
            XCTAssertFalse(map.stdout.contains(o), "'\(o)' in: \(map.stdout)")
        }
        let clamp = try runIRM(["neurons", "clamp", "--help"]).stdout
        XCTAssertTrue(
            clamp.contains("--neuron LAYER:INDEX") && clamp.contains("--prompt TEXT") && !clamp.contains("--tsv"), clamp
        )
        XCTAssertTrue(clamp.contains("usage: irm neurons clamp --neuron LAYER:INDEX --prompt TEXT [options]"), clamp)
        XCTAssertTrue(
            try runIRM(["neurons", "find", "--help"]).stdout.contains("usage: irm neurons find [options] WORD"))

        let group = try runIRM(["neurons", "--help"])
        XCTAssertEqual(group.status, 0, group.stderr)
        XCTAssertEqual(listed(group.stdout), ["map", "find", "show", "clamp", "compare", "residual"])
        XCTAssertFalse(group.stdout.contains("--kind"), group.stdout)
        for alias in [["help", "neurons"], ["neurons", "help"], ["neurons", "-h"]] {
            let r = try runIRM(alias)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, group.stdout, alias.joined(separator: " "))
        }
        let top = try runIRM([])
        XCTAssertEqual(top.status, 0)
        XCTAssertEqual(
            listed(top.stdout),
            [
                "tokenize", "generate", "logits", "info", "train", "sweep", "sweep-report", "heatmap", "neurons",
                "eval", "analyze", "export", "report"
            ])
        XCTAssertEqual(try runIRM(["help"]).stdout, top.stdout)
        assertOneLineError(try runIRM(["help", "neurons", "bogus"]), contains: ["bogus", "map, find, show"])

        // Help columns line up: every option's text starts in the same column (after the flag's two-space gap).
        let textColumns = Set(
            map.stdout.split(separator: "\n").filter { $0.hasPrefix("  --") }.map { line -> Int in
                let s = String(line)
                let gap = s.range(of: "  ", range: s.index(s.startIndex, offsetBy: 2)..<s.endIndex)!
                return s.distance(from: s.startIndex, to: s[gap.lowerBound...].firstIndex { $0 != " " }!)
            })
        XCTAssertEqual(textColumns.count, 1, map.stdout)
    }

    func testOptionMistakes() throws {
        assertOneLineError(
            try runIRM(["neurons", "map", "--neuron", "1:1"]), contains: ["--neuron", "does not apply", "clamp"])
        assertOneLineError(
            try runIRM(["generate", "--run", "x"]), contains: ["--run", "does not apply", "heatmap", "eval"])
        assertOneLineError(try runIRM(["info", "--dtype", "f8"]), contains: ["--dtype", "'f8'", "auto, f32, f16, bf16"])
        assertOneLineError(
            try runIRM(["eval", "--run", "x", "--format", "xml"]),
            contains: ["--format", "'xml'", "csv, labelled, jsonl, squad"])
        assertOneLineError(
            try runIRM(["train", "--dataset", "anger", "--format", "xml"]),
            contains: ["--format", "'xml'", "csv, labelled, jsonl, squad"])
        assertOneLineError(try runIRM(["info", "--threads", "0"]), contains: ["--threads", "1...256", "0"])
        assertOneLineError(try runIRM(["info", "--threads", "2", "--threads", "2"]), contains: ["--threads", "twice"])
        assertOneLineError(
            try runIRM(["neurons", "show", "1:1", "--model", "a", "--model", "b"]), contains: ["--model", "twice"])
        assertOneLineError(try runIRM(["generate", "--prompt"]), contains: ["--prompt", "needs a value"])
        assertOneLineError(
            try runIRM(["generate", "--chat=yes", "--prompt", "x"]), contains: ["--chat", "takes no value"])
        assertOneLineError(try runIRM(["generate", "--chat"]), contains: ["--prompt", "required"])
        assertOneLineError(
            try runIRM(["generate", "--prompt", "x", "extra"]), contains: ["unexpected argument 'extra'"])
        assertOneLineError(try runIRM(["tokenize", "a", "b"]), contains: ["exactly one TEXT"])
        assertOneLineError(
            try runIRM(["train", "--dataset", "anger", "--seq-len", "100000"]),
            contains: ["--seq-len", "8...8192", "100000"])
        // `--` ends the options: what follows is the positional, even when it looks like a flag.
        let t = try runIRM(["tokenize", "--", "--kind"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let ids = t.stdout.split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertTrue(!ids.isEmpty && ids.allSatisfy { $0 != nil }, t.stdout)
        assertOneLineError(try runIRM(["tokenize", "--kind"]), contains: ["unknown option --kind"])
    }

    /// The one layer grammar, through every command that takes --layers.
    func testLayersEverywhere() throws {
        for cmd in [
            ["train", "--dataset", "anger"], ["neurons", "map"],
            [
                "neurons", "compare", "--model", "Models/SmolLM2-135M-Instruct.Q4_1.gguf", "--model",
                "Models/SmolLM2-135M-Instruct.Q4_1.gguf"
            ]
        ] {
            let r = try runIRM(cmd + ["--layers", "0-3,12:40:4"])
            assertOneLineError(r, contains: ["--layers", "'12:40:4'", "layer 40", "0-29"])
            XCTAssertEqual(r.status, 2)
            assertOneLineError(try runIRM(cmd + ["--layers", "0-3,x"]), contains: ["--layers", "item 'x'", "0-29"])
        }
    }

    func testMapRefusesOneFileForMapAndTSV() throws {
        let d = try tempDir("samefile")
        assertOneLineError(
            try runIRM(["neurons", "map", "--layers", "29", "--out", d + "/x.tsv"]),
            contains: ["--out", d + "/x.tsv", ".tsv", "--tsv"])
        assertOneLineError(
            try runIRM(["neurons", "map", "--layers", "29", "--out", d + "/x.nmap", "--tsv", d + "/./x.nmap"]),
            contains: ["--out", "--tsv", "same file"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: d), [])
    }
}
