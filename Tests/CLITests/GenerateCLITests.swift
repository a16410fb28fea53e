import XCTest
import TestSupport

/// `irm generate` options that change how the model is computed.
final class GenerateCLITests: XCTestCase {
    /// --int8-dot (8-bit activations in the quantized decode products) generates greedily, is listed in the help,
    /// and its continuation starts like the exact one (the first token comes from the exact prefill GEMM).
    func testInt8DotGenerates() throws {
        let args = [
            "generate", "--model", smolPath, "--prompt", "The capital of France is", "--max-tokens", "6",
            "--temperature", "0", "--threads", "2"
        ]
        let exact = try runIRM(args), int8 = try runIRM(args + ["--int8-dot"])
        XCTAssertEqual(exact.status, 0, exact.stderr)
        XCTAssertEqual(int8.status, 0, int8.stderr)
        let first = { (s: String) in s.split(separator: " ", omittingEmptySubsequences: true).first.map(String.init) }
        XCTAssertNotNil(first(int8.stdout), int8.stdout)
        XCTAssertEqual(first(int8.stdout), first(exact.stdout), "exact: \(exact.stdout) int8: \(int8.stdout)")
        let help = try runIRM(["generate", "--help"])
        XCTAssert(help.stdout.contains("--int8-dot"), help.stdout)
    }
}
