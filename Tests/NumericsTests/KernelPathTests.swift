import XCTest
import Foundation
import Numerics
import TestSupport

/// The choice of kernel path (KernelPath.swift): IRM_ISA's values, a path the CPU lacks refused in one line,
/// the blocking each path plans with.
final class KernelPathTests: XCTestCase {
    func cpu(_ features: Set<String>) -> CPUInfo {
        CPUInfo(model: "test CPU", features: features, l1d: 32 * 1024, l2: 512 * 1024)
    }

    func testRequestedPathIsTheBestUnlessNamed() {
        let avx512 = cpu(["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"])
        let avx2 = cpu(["avx2", "fma", "f16c"])
        #if arch(x86_64)
        XCTAssertEqual(avx512.paths, [.avx512, .avx2, .portable])
        XCTAssertEqual(avx2.paths, [.avx2, .portable])
        XCTAssertEqual(requestedKernelPath(nil, cpu: avx512), .success(.avx512))
        XCTAssertEqual(requestedKernelPath("", cpu: avx2), .success(.avx2))
        XCTAssertEqual(requestedKernelPath("AVX2", cpu: avx512), .success(.avx2))
        XCTAssertEqual(requestedKernelPath("portable", cpu: avx2), .success(.portable))
        // AVX-512F alone (no BW/VL) is not enough for the AVX-512 kernels.
        XCTAssertEqual(cpu(["avx2", "avx512f"]).paths, [.avx2, .portable])
        guard case .failure(let lacking) = requestedKernelPath("avx512", cpu: avx2) else {
            return XCTFail("avx512 granted")
        }
        XCTAssertEqual(
            lacking.description, "IRM_ISA=avx512: this CPU (test CPU) cannot run it (paths here: avx2, portable)")
        #else
        XCTAssertEqual(avx512.paths, [.portable])
        #endif
        guard case .failure(let unknown) = requestedKernelPath("sse9", cpu: avx2) else {
            return XCTFail("sse9 granted")
        }
        XCTAssertEqual(unknown.description, "IRM_ISA=sse9: unknown path (one of avx512, avx2, portable)")
        XCTAssertFalse(unknown.description.contains("\n"))
    }

    func testBlockingOfEachPath() {
        let c = cpu([])
        XCTAssertEqual(gemmBlocking(.avx2, cpu: c), GEMMBlocking(nr: 16, kc: 384, mc: 132, nc: 1024))
        XCTAssertEqual(gemmBlocking(.portable, cpu: c), GEMMBlocking(nr: 16, kc: 384, mc: 132, nc: 1024))
        XCTAssertEqual(gemmBlocking(.avx512, cpu: c).nr, 32)
        // MC follows L2 (the packed A block is about 40 % of it); KC does not (it fixes the rounding).
        let big = CPUInfo(model: "big", features: [], l1d: 48 * 1024, l2: 2048 * 1024)
        XCTAssertEqual(gemmBlocking(.avx2, cpu: big).kc, 384)
        XCTAssertEqual(gemmBlocking(.avx2, cpu: big).mc, 384)
        XCTAssertEqual(gemmBlocking(.avx512, cpu: big).kc, gemmBlocking(.avx512, cpu: c).kc)
    }

    /// The path in use is the CPU's best unless the environment names another.
    func testThisMachine() {
        let env = ProcessInfo.processInfo.environment["IRM_ISA"]
        // Tests may set kernelPath and restore it: what it started as is the CPU's best (or IRM_ISA's).
        if env == nil {
            XCTAssertEqual(kernelPath, CPUInfo.current.paths.first)
        } else {
            XCTAssertEqual(kernelPath.rawValue, env?.lowercased())
        }
        XCTAssert(CPUInfo.current.paths.contains(.portable))
        print("kernel paths here: \(CPUInfo.current.paths.map(\.rawValue)); in use: \(kernelPathDescription)")
    }

    /// The AVX-512 kernels must not leak into the other paths: a symbol that an AVX-512 target (KernelsAVX512,
    /// KernelsVNNI) defines and another object may define too (a weak, shared specialisation) is kept once by the
    /// linker, so an AVX-512 copy could run on an AVX2-only CPU. Every weak symbol of their objects is either their
    /// own (its mangled name holds the module's name, through its `ISA` or `VNNI` type) or holds no AVX-512
    /// instruction (no zmm, mask or 16–31 register).
    func testAVX512ObjectSharesNoAVX512Code() throws {
        #if arch(x86_64)
        for (module, mark) in [("KernelsAVX512", "AVX512"), ("KernelsVNNI", "VNNI")] {
            let objects = ["release", "debug"].map {
                packageRoot + "/.build/\($0)/\(module).build/\(module).swift.o"
            }
            guard let object = objects.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw XCTSkip("\(module)'s object file is not under .build")
            }
            let nm = try runProcess("/usr/bin/env", ["nm", "--defined-only", object])
            try XCTSkipIf(nm.status != 0, "nm is not available")
            let shared = nm.stdout.split(separator: "\n").compactMap { line -> String? in
                let f = line.split(separator: " ")
                return f.count == 3 && (f[1] == "W" || f[1] == "w") ? String(f[2]) : nil
            }
            if module == "KernelsAVX512" { XCTAssertFalse(shared.isEmpty) }
            // The module name may be spelled through word substitutions ("0A6AVX512..." after "Kernels"), never
            // without its mark.
            let foreign = shared.filter { !$0.contains(mark) }
            let dump = try runProcess("/usr/bin/env", ["objdump", "-d", "--no-show-raw-insn", object])
            try XCTSkipIf(dump.status != 0, "objdump is not available")
            var current = "", offending: [String: String] = [:]
            let avx512 = try NSRegularExpression(pattern: #"zmm|%k[0-7]|mm(1[6-9]|2[0-9]|3[01])\b|\{1to"#)
            for line in dump.stdout.split(separator: "\n") {
                if line.hasSuffix(">:"), let open = line.firstIndex(of: "<") {
                    current = String(line[line.index(after: open)..<line.index(line.endIndex, offsetBy: -2)])
                    continue
                }
                let text = String(line)
                if foreign.contains(current),
                    avx512.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
                {
                    offending[current] = text
                }
            }
            XCTAssert(offending.isEmpty, "shared symbols of \(module) with AVX-512 code: \(offending)")
        }
        #else
        throw XCTSkip("x86 only")
        #endif
    }
}
