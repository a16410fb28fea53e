import XCTest
import Foundation

/// `irm neurons`: a small real map of SmolLM2, queries on it, and user mistakes as one-line errors.
final class NeuronsCLITests: XCTestCase {
    /// Layer 29 of SmolLM2's up map (1536 neurons; a couple of seconds), made once for the tests.
    static let mapDir = NSTemporaryDirectory() + "irm-cli-neurons-\(getpid())"
    static let mapPath = mapDir + "/l29.nmap"
    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: mapDir)
        super.tearDown()
    }
    static func makeMap() throws -> String {
        if FileManager.default.fileExists(atPath: mapPath) { return mapPath }
        try FileManager.default.createDirectory(atPath: mapDir, withIntermediateDirectories: true)
        let r = try runIRM(["neurons", "map", "--layers", "29", "--top", "5", "--out", mapPath])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("mapped 1536 up neurons"), r.stdout)
        return mapPath
    }

    func testMapFindShowCompare() throws {
        let map = try Self.makeMap()
        let tsv = try String(contentsOfFile: Self.mapDir + "/l29.tsv", encoding: .utf8)
        XCTAssertEqual(tsv.split(separator: "\n").count, 1 + 1536)
        XCTAssertTrue(tsv.hasPrefix("layer\tindex\ttop1\tp_top1\t"))
        // The water neuron (see the closing note): found under any casing / space marker, and shown.
        for q in ["water", "Water", " WATER"] {
            let f = try runIRM(["neurons", "find", q, "--map", map])
            XCTAssertEqual(f.status, 0, f.stderr)
            XCTAssertTrue(f.stdout.split(separator: "\n")[1].hasPrefix("29:1342 "), f.stdout)
        }
        let s = try runIRM(["neurons", "show", "29:1342", "--map", map])
        XCTAssertTrue(s.stdout.contains("top:    'water'"), s.stdout)
        let c = try runIRM(["neurons", "compare", "--map", map, "--map", map])
        XCTAssertTrue(c.stdout.contains("overall    100.00 %  (1536 / 1536)"), c.stdout)
    }

    func testClampRaisesConcept() throws {
        let r = try runIRM([
            "neurons", "clamp", "--neuron", "29:1342", "--value=-30", "--prompt",
            "Write one sentence about your weekend.",
            "--chat", "--max-tokens", "8", "--token", " water"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").last { $0.hasPrefix("p(' water') at step 1") })
        // "p(' water') at step 1: A → B;  mean over the steps: C → D"
        let nums = line.split(whereSeparator: { " ;→:".contains($0) }).compactMap { Double($0) }
        XCTAssertEqual(nums.count, 5, String(line))  // 1, A, B, C, D
        XCTAssertGreaterThan(nums[4], 100 * nums[3], String(line))
    }

    func testUserMistakes() throws {
        let map = try Self.makeMap()
        assertOneLineError(try runIRM(["neurons", "show", "29-5", "--map", map]), contains: ["LAYER:INDEX", "29-5"])
        assertOneLineError(try runIRM(["neurons", "show", "30:5", "--map", map]), contains: ["layer 30", "0-29"])
        assertOneLineError(try runIRM(["neurons", "show", "29:1536", "--map", map]), contains: ["index 1536", "0-1535"])
        assertOneLineError(try runIRM(["neurons", "show", "3:5", "--map", map]), contains: ["layer 3 is not in", map])
        assertOneLineError(
            try runIRM(["neurons", "find", "dog", "--map", "/no/such.nmap"]),
            contains: ["/no/such.nmap", "no such map file"])
        let bad = Self.mapDir + "/cut.nmap"
        let data = try Data(contentsOf: URL(fileURLWithPath: map))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: bad))
        assertOneLineError(try runIRM(["neurons", "find", "dog", "--map", bad]), contains: [bad, "truncated"])
        try Data("hello".utf8).write(to: URL(fileURLWithPath: bad))
        assertOneLineError(try runIRM(["neurons", "show", "1:1", "--map", bad]), contains: [bad, "truncated"])
        assertOneLineError(
            try runIRM(["neurons", "clamp", "--neuron", "40:1", "--prompt", "hi"]), contains: ["--neuron", "layer 40"])
        assertOneLineError(
            try runIRM(["neurons", "clamp", "--neuron", "x", "--prompt", "hi"]), contains: ["LAYER:INDEX", "'x'"])
        assertOneLineError(try runIRM(["neurons", "map", "--layers", "3-99"]), contains: ["--layers", "99"])
        assertOneLineError(try runIRM(["neurons", "map", "--kind", "sideways"]), contains: ["--kind", "sideways"])
        assertOneLineError(try runIRM(["neurons", "frobnicate"]), contains: ["frobnicate"])
        assertOneLineError(try runIRM(["neurons"]), contains: ["subcommand"])
        assertOneLineError(
            try runIRM(["neurons", "find", "dog", "--prompt", "x"]), contains: ["--prompt", "does not apply"])
        assertOneLineError(
            try runIRM(["neurons", "compare", "--model", "Models/SmolLM2-135M-Instruct.Q4_1.gguf"]),
            contains: ["two models"])
        assertOneLineError(
            try runIRM(["neurons", "clamp", "--neuron", "1:1", "--prompt", "hi", "--token", "hello world again"]),
            contains: ["--token", "one token"])
        assertOneLineError(
            try runIRM(["neurons", "clamp", "--neuron", "1:1", "--prompt", "hi", "--samples", "5"]),
            contains: ["--samples", "--temperature"])
        assertOneLineError(
            try runIRM([
                "neurons", "clamp", "--neuron", "1:1", "--prompt", "hi", "--samples", "5",
                "--temperature", "1", "--sweep-values", "0,5"
            ]), contains: ["--samples", "--sweep-values"])
    }
}
