// The fuzz targets' inputs replayed in the normal build (no sanitizer): every seed of Fuzz/corpus/<target>/ must be
// accepted, and every file in Fuzz/regressions/<target>/ (an input that once crashed a parser) must come back
// accepted or refused with one-line errors naming the file. A trap here kills the test process, which fails it.
import XCTest
import Foundation
import FuzzTargets
import TestSupport

final class FuzzRegressionTests: XCTestCase {
    override class func setUp() { fuzzAssetRoot = packageRoot }
    override class func tearDown() { removeFuzzScratch() }

    func files(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            .map { dir + "/" + $0 }
    }

    func run(_ t: FuzzTarget, _ path: String) throws -> FuzzOutcome {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { t.run($0) }
    }

    func testSeedCorpusIsAccepted() throws {
        for t in FuzzTarget.allCases {
            let seeds = files(packageRoot + "/Fuzz/corpus/" + t.rawValue)
            XCTAssertFalse(seeds.isEmpty, "no seeds for \(t.rawValue)")
            for s in seeds {
                let o = try run(t, s)
                XCTAssertTrue(o.accepted, "\(t.rawValue) refuses its seed \(s): \(o.errors)")
            }
        }
    }

    func testRegressionsAreRefusedInOneLine() throws {
        var count = 0
        for t in FuzzTarget.allCases {
            for f in files(packageRoot + "/Fuzz/regressions/" + t.rawValue) {
                let o = try run(t, f)
                XCTAssertEqual(o.badMessages, [], "\(t.rawValue) \(f)")
                count += 1
            }
        }
        XCTAssertGreaterThan(count, 0, "no regression inputs in Fuzz/regressions")
        // Every folder is a target's (an input in a misspelt folder would never be replayed).
        let folders = files(packageRoot + "/Fuzz/regressions").map { ($0 as NSString).lastPathComponent }
        XCTAssertEqual(folders.filter { FuzzTarget(rawValue: $0) == nil }, [])
    }

    /// The seed writer still writes what the targets accept (the committed corpus was made with it).
    func testSeedWriter() throws {
        let dir = try tempDir()
        try writeFuzzSeeds(to: dir)
        for t in FuzzTarget.allCases {
            let seeds = files(dir + "/" + t.rawValue)
            XCTAssertFalse(seeds.isEmpty, t.rawValue)
            for s in seeds {
                let o = try run(t, s)
                XCTAssertTrue(o.accepted, "\(t.rawValue) refuses the written seed \(s): \(o.errors)")
                XCTAssertEqual(
                    try Data(contentsOf: URL(fileURLWithPath: s)),
                    try? Data(
                        contentsOf: URL(
                            fileURLWithPath: packageRoot + "/Fuzz/corpus/" + t.rawValue + "/"
                                + (s as NSString).lastPathComponent)),
                    "\(s) differs from the committed seed (run scripts/fuzz.sh --seeds)")
            }
        }
    }

    /// The tokenize target reaches all four of the project's tokenizers on this machine.
    func testTokenizeTargetHasItsTokenizers() {
        XCTAssertEqual(fuzzTokenizers.map(\.vocabSize), [49152, 32000, 32000, 512])
    }

    /// The oracle itself: a refusal without the file's name, or on two lines, is reported.
    func testOracle() throws {
        XCTAssertTrue(FuzzOutcome.isOneLine("a.gguf: truncated", naming: "a.gguf"))
        XCTAssertFalse(FuzzOutcome.isOneLine("truncated", naming: "a.gguf"))
        XCTAssertFalse(FuzzOutcome.isOneLine("a.gguf: bad\nsecond line", naming: "a.gguf"))
        XCTAssertFalse(FuzzOutcome.isOneLine("", naming: ""))
        var bytes = [UInt8](repeating: 0, count: 8)
        let o = bytes.withUnsafeMutableBytes { FuzzTarget.safetensors.run(UnsafeRawBufferPointer($0)) }
        XCTAssertFalse(o.accepted)
        XCTAssertEqual(o.badMessages, [])
        XCTAssertTrue(o.errors[0].hasPrefix(o.file + ": "), o.errors[0])
        bytes = Array("GGUF".utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { FuzzTarget.gguf.run($0) }.errors.count, 1)
    }
}
