// irm-bench's command line: help, and mistakes reported as one line with exit status 2 before any benchmark runs.
import XCTest

final class BenchCLITests: XCTestCase {
    private func bench(_ args: [String], cwd: String = packageRoot) throws -> ProcessResult {
        try requireFreshBinary(irmBenchBinary)
        return try runProcess(irmBenchBinary, args, cwd: cwd)
    }

    /// --help lists every group and option, and names the model file found from the package root even when
    /// run from another folder.
    func testHelpFromAnotherFolder() throws {
        let r = try bench(["--help"], cwd: try tempDir())
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        for word in [
            "usage: irm-bench", "gemm", "forward", "neurons", "train", "gemv-cold", "gemm-tune",
            "--threads", "--model", "--dtype", "SmolLM2 file: \(smolPath)"
        ] {
            XCTAssertTrue(r.stdout.contains(word), "'\(word)' not in the help:\n\(r.stdout)")
        }
    }

    func testMistakesAreOneLineAndExitTwo() throws {
        for (args, message) in [
            (["nosuch"], "unknown group 'nosuch'"), (["forward", "--frob"], "unknown option '--frob'"),
            (["--threads", "0"], "--threads: '0'"), (["--threads"], "--threads needs a value"),
            (["forward", "--model", "gpt2"], "--model: unknown value 'gpt2'"),
            (["--dtype", "q9"], "--dtype: unknown value 'q9'")
        ] {
            let r = try bench(args)
            assertOneLineError(r, contains: ["irm-bench: ", message])
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertEqual(r.stdout, "", "\(args): a benchmark ran")
        }
    }
}
