import XCTest
import TestSupport

/// IRM_ISA: which instruction-set path the kernels run in (Numerics/KernelPath.swift).
final class KernelPathCLITests: XCTestCase {
    /// An unknown path is refused in one line with exit status 2; a path is named by `irm info` and `--stats`.
    func testUnknownPathIsRefusedAndThePathIsNamed() throws {
        let bad = try runIRM(["info", "--model", smolPath], environment: ["IRM_ISA": "sse9"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertFalse(bad.signalled)
        XCTAssertEqual(bad.stderr, "irm: IRM_ISA=sse9: unknown path (one of avx512, avx2, portable)\n")
        XCTAssertEqual(bad.stdout, "")
        let portable = try runIRM(["info", "--model", smolPath], environment: ["IRM_ISA": "portable"])
        XCTAssertEqual(portable.status, 0, portable.stderr)
        XCTAssert(portable.stdout.contains("\nkernels      portable ("), portable.stdout)
        XCTAssert(portable.stdout.contains("neuron-map screen none: maps exact)"), portable.stdout)
        // The default path screens the map exactly when the CPU has AVX-512 (F/BW/VL/DQ/CD) and VNNI (Linux's
        // flags read here independently of irm).
        #if os(Linux)
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let vnni = ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx512_vnni"].allSatisfy {
            flags.contains(" \($0)")
        }
        let info = try runIRM(["info", "--model", smolPath]).stdout
        XCTAssert(info.contains(vnni ? "neuron-map screen vnni)" : "neuron-map screen none: maps exact)"), info)
        #endif
    }

    /// Every path this CPU has generates the same greedy continuation (the paths differ only in rounding; the
    /// prompt's 6 tokens go through the GEMM, which Q4_1 weights take from 5 rows), and `--stats` names the path
    /// that ran (not on the portable path: its 128-token prefill would take half a minute through x86's library
    /// fmaf). A path the CPU lacks is refused, naming the ones it has.
    func testEveryPathGeneratesTheSameContinuation() throws {
        let base = [
            "generate", "--model", smolPath, "--prompt", "The capital of France is", "--max-tokens", "6",
            "--temperature", "0", "--threads", "2"
        ]
        let paths = try runIRM(["info", "--model", smolPath]).stdout
        let avx512 = paths.contains("kernels      avx512")
        var outputs: [String: String] = [:]
        for path in ["avx512", "avx2", "portable"] {
            let stats = path != "portable"
            let r = try runIRM(base + (stats ? ["--stats"] : []), environment: ["IRM_ISA": path])
            #if arch(x86_64)
            let has = path != "avx512" || avx512
            #else
            let has = path == "portable"
            #endif
            if !has {
                XCTAssertEqual(r.status, 2)
                XCTAssert(r.stderr.hasPrefix("irm: IRM_ISA=\(path): this CPU ("), r.stderr)
                print("kernel path \(path) skipped: this CPU cannot run it")
                continue
            }
            XCTAssertEqual(r.status, 0, r.stderr)
            if stats { XCTAssert(r.stderr.contains("kernels \(path)]"), r.stderr) }
            outputs[path] = r.stdout
        }
        XCTAssertGreaterThanOrEqual(outputs.count, 1)
        XCTAssertEqual(Set(outputs.values).count, 1, "\(outputs)")
        XCTAssertGreaterThan(outputs.values.first?.count ?? 0, 3)
    }
}
