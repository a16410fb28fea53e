// Which instruction set the kernels run in, chosen once from the CPU at start-up.
//
// The kernels are written once (the Kernels target, generic over the vector type) and compiled three times:
//   avx512    KernelsAVX512, -target-cpu skylake-avx512: SIMD16 (zmm), 6×32 micro-tiles
//   avx2      KernelsAVX2, -target-cpu haswell: SIMD8 (ymm), 6×16 micro-tiles (what every x86 build requires)
//   portable  KernelsPortable, no target CPU: SIMD8 in whatever the compiler lowers it to (NEON on arm64)
// The best path the CPU has is used unless the environment variable IRM_ISA names another one that it has
// (IRM_ISA=avx2 on an AVX-512 machine, IRM_ISA=portable anywhere); tests and benches may set `kernelPath`
// between products. The CPU's features come from the kernel's CPUID readout (/proc/cpuinfo's flags on
// Linux, sysctl hw.optional.* on macOS), which also says whether the OS saves the zmm registers.
//
// On one path the results do not depend on the thread count; across paths they agree within rounding (the
// vector width and KC change the order of the sums), as NumericsTests checks.
import Foundation
// Weight, FloatBuffer, the block formats and the GEMM plan live in Kernels; every user of Numerics sees them.
@_exported import Kernels
#if canImport(KernelsAVX2)
import KernelsAVX2
#endif
#if canImport(KernelsAVX512)
import KernelsAVX512
#endif
import KernelsPortable
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum KernelPath: String, CaseIterable, Sendable {
    case avx512, avx2, portable

    /// What the path computes with, for `irm info` and the benchmarks.
    public var summary: String {
        switch self {
        case .avx512: "AVX-512 F/BW/VL/DQ, SIMD16 (zmm), 6×32 GEMM tiles"
        case .avx2: "AVX2 + FMA + F16C, SIMD8 (ymm), 6×16 GEMM tiles"
        case .portable: "plain SIMD (no target CPU), SIMD8, 6×16 GEMM tiles"
        }
    }
}

/// The CPU as the kernels see it: its features and data-cache sizes.
public struct CPUInfo: Sendable {
    public let model: String
    /// Lower-case feature names as Linux spells them (avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512dq,
    /// avx512_vnni, avx512_bf16, ...).
    public let features: Set<String>
    /// Per-core L1 data and L2 cache in bytes (nil when the OS does not say).
    public let l1d: Int?, l2: Int?

    public init(model: String, features: Set<String>, l1d: Int?, l2: Int?) {
        self.model = model; self.features = features; self.l1d = l1d; self.l2 = l2
    }

    public static let current = CPUInfo.read()

    /// The paths this CPU runs, best first.
    public var paths: [KernelPath] {
        var p: [KernelPath] = []
        #if arch(x86_64)
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(features.contains) {
            p.append(.avx512)
        }
        // Every x86 module is compiled for Haswell (AVX2, FMA, F16C): a CPU without them cannot run this build.
        p.append(.avx2)
        #endif
        p.append(.portable)
        return p
    }

    private static func read() -> CPUInfo {
        #if os(Linux)
        var model = "unknown CPU", flags = Set<String>()
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let key = parts[0].trimmingCharacters(in: .whitespaces),
                    value = parts[1].trimmingCharacters(in: .whitespaces)
                if key == "model name", model == "unknown CPU" { model = value }
                if key == "flags" || key == "Features", flags.isEmpty {
                    flags = Set(value.split(separator: " ").map(String.init))
                }
            }
        }
        func cache(level: Int) -> Int? {
            for i in 0..<8 {
                let dir = "/sys/devices/system/cpu/cpu0/cache/index\(i)/"
                guard let l = try? String(contentsOfFile: dir + "level", encoding: .utf8),
                    Int(l.trimmingCharacters(in: .whitespacesAndNewlines)) == level,
                    let t = try? String(contentsOfFile: dir + "type", encoding: .utf8),
                    t.hasPrefix("Data") || t.hasPrefix("Unified"),
                    let s = try? String(contentsOfFile: dir + "size", encoding: .utf8)
                else { continue }
                let v = s.trimmingCharacters(in: .whitespacesAndNewlines)
                if v.hasSuffix("K"), let n = Int(v.dropLast()) { return n * 1024 }
                if v.hasSuffix("M"), let n = Int(v.dropLast()) { return n * 1024 * 1024 }
                return Int(v)
            }
            return nil
        }
        return CPUInfo(model: model, features: flags, l1d: cache(level: 1), l2: cache(level: 2))
        #elseif canImport(Darwin)
        func int(_ name: String) -> Int? {
            var v: Int64 = 0
            var size = MemoryLayout<Int64>.size
            return sysctlbyname(name, &v, &size, nil, 0) == 0 ? Int(v) : nil
        }
        var flags = Set<String>()
        let darwinNames = [
            "avx2_0": "avx2", "avx512f": "avx512f", "avx512bw": "avx512bw", "avx512vl": "avx512vl",
            "avx512dq": "avx512dq", "avx512cd": "avx512cd", "avx512vnni": "avx512_vnni"
        ]
        for (k, v) in darwinNames where int("hw.optional.\(k)") == 1 { flags.insert(v) }
        var buf = [CChar](repeating: 0, count: 256)
        var n = buf.count
        let model =
            sysctlbyname("machdep.cpu.brand_string", &buf, &n, nil, 0) == 0
            ? String(cString: buf) : "unknown CPU"
        return CPUInfo(model: model, features: flags, l1d: int("hw.l1dcachesize"), l2: int("hw.l2cachesize"))
        #else
        return CPUInfo(model: "unknown CPU", features: [], l1d: nil, l2: nil)
        #endif
    }
}

/// The path the kernels run in. Starts as the CPU's best, or as IRM_ISA says; settable between products.
nonisolated(unsafe) public var kernelPath: KernelPath = initialKernelPath()

/// The path IRM_ISA asks for, or why it cannot be had (an unknown name, or a path this CPU lacks).
public func requestedKernelPath(_ value: String?, cpu: CPUInfo = .current) -> Result<KernelPath, KernelPathError> {
    guard let value, !value.isEmpty else { return .success(cpu.paths[0]) }
    guard let p = KernelPath(rawValue: value.lowercased()) else {
        return .failure(
            KernelPathError(
                description:
                    "IRM_ISA=\(value): unknown path (one of \(KernelPath.allCases.map(\.rawValue).joined(separator: ", ")))"
            ))
    }
    guard cpu.paths.contains(p) else {
        return .failure(
            KernelPathError(
                description:
                    "IRM_ISA=\(value): this CPU (\(cpu.model)) cannot run it (paths here: \(cpu.paths.map(\.rawValue).joined(separator: ", ")))"
            ))
    }
    return .success(p)
}

public struct KernelPathError: Error, CustomStringConvertible, Equatable { public let description: String }

private func initialKernelPath() -> KernelPath {
    switch requestedKernelPath(ProcessInfo.processInfo.environment["IRM_ISA"]) {
    case .success(let p): return p
    case .failure(let e):
        // A setting that changes the computation and cannot be honoured is refused, never ignored.
        FileHandle.standardError.write(Data("irm: \(e.description)\n".utf8))
        exit(2)
    }
}

/// One line naming the path in use, the CPU, and whether `irm neurons map` screens in 8 bits (Int8Screen.swift),
/// for `irm info`, `generate --stats`, `train` and irm-bench.
public var kernelPathDescription: String {
    let b = gemmBlocking(kernelPath), cpu = CPUInfo.current
    func kib(_ v: Int?) -> String { v.map { "\($0 / 1024) KiB" } ?? "?" }
    return
        "\(kernelPath.rawValue) (\(kernelPath.summary), KC \(b.kc), MC \(b.mc); \(cpu.model), L1d \(kib(cpu.l1d)), L2 \(kib(cpu.l2)); neuron-map screen \(Int8ScreenKernel.best?.rawValue ?? "none: maps exact"))"
}

/// Overrides of the blocking for tuning experiments (irm-bench's IRM_GEMM_KC / _MC / _NC): nil keeps the
/// path's own. KC changes the results' rounding; MC and NC do not.
nonisolated(unsafe) public var gemmTuning: (kc: Int?, mc: Int?, nc: Int?) = (nil, nil, nil)

/// The GEMM blocking of a path on this CPU. NR and KC are the path's (KC fixes the order of the sums, so a
/// resumed run on another machine of the same path computes the same bits); MC sizes the packed A block to
/// about 40 % of L2 (132 rows of KC 384 on Zen 3's 512 KiB was measured best there).
public func gemmBlocking(_ path: KernelPath, cpu: CPUInfo = .current) -> GEMMBlocking {
    let nr = path == .avx512 ? 32 : 16
    let kc = gemmTuning.kc ?? (path == .avx512 ? 256 : 384)
    let l2 = cpu.l2 ?? 512 * 1024
    let mc = gemmTuning.mc ?? max(48, min(384, Int(0.4 * Double(l2)) / (kc * 4) / 6 * 6))
    return GEMMBlocking(nr: nr, kc: kc, mc: mc, nc: gemmTuning.nc ?? 1024)
}

/// Task t of a GEMM plan, in the path in use (the plan was made with its blocking).
@inline(__always)
func runGEMMTask(_ plan: GEMMPlan, _ t: Int) {
    switch kernelPath {
    case .avx512:
        #if canImport(KernelsAVX512)
        KernelsAVX512.gemmTask(plan, t)
        #else
        fatalError("avx512 path chosen on a build without it")
        #endif
    case .avx2:
        #if canImport(KernelsAVX2)
        KernelsAVX2.gemmTask(plan, t)
        #else
        fatalError("avx2 path chosen on a build without it")
        #endif
    case .portable: KernelsPortable.gemmTask(plan, t)
    }
}

/// Task t of the region packing a plan's A once for all its tasks, in the path in use.
@inline(__always)
func runGEMMPackATask(_ plan: GEMMPlan, _ t: Int, _ out: UnsafeMutablePointer<Float>) {
    switch kernelPath {
    case .avx512:
        #if canImport(KernelsAVX512)
        KernelsAVX512.gemmPackATask(plan, t, out)
        #else
        fatalError("avx512 path chosen on a build without it")
        #endif
    case .avx2:
        #if canImport(KernelsAVX2)
        KernelsAVX2.gemmPackATask(plan, t, out)
        #else
        fatalError("avx2 path chosen on a build without it")
        #endif
    case .portable: KernelsPortable.gemmPackATask(plan, t, out)
    }
}

/// The FMA peak loop of a path (Kernels' `fmaPeakLoop` in that path's registers): its result (to keep it from
/// being optimised away) and the FLOPs it did.
public func fmaPeakLoop(_ path: KernelPath, iters: Int, seed: Float) -> (value: Float, flops: Double) {
    switch path {
    case .avx512:
        #if canImport(KernelsAVX512)
        return KernelsAVX512.fmaPeak(iters: iters, seed: seed)
        #else
        fatalError("avx512 path chosen on a build without it")
        #endif
    case .avx2:
        #if canImport(KernelsAVX2)
        return KernelsAVX2.fmaPeak(iters: iters, seed: seed)
        #else
        fatalError("avx2 path chosen on a build without it")
        #endif
    case .portable: return KernelsPortable.fmaPeak(iters: iters, seed: seed)
    }
}
