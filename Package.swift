// swift-tools-version:6.0
// irm: Injectable Realignment Models on frozen Llama-family models, in pure Swift.
// No package dependencies: only the toolchain (see DEVELOPERS' guide).
import PackageDescription

// On x86_64 every module is compiled for Haswell (AVX2 + FMA + F16C): without a target CPU
// `SIMD8<Float>.addingProduct` becomes scalar fmaf() calls and Float16 conversions library calls (ARCHITECTURE.md).
// The kernels are also compiled for AVX-512 (KernelsAVX512; its 8-bit ones for AVX-512 VNNI in KernelsVNNI) and
// with no target CPU (KernelsPortable), and one of the three is chosen at run time (Numerics/KernelPath.swift). Elsewhere (arm64 Linux, Apple Silicon) no CPU flag
// is set: SIMD lowers to NEON, and only the portable kernels are built.
#if arch(x86_64)
let cpu: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
let isaTargets: [String] = ["KernelsAVX2", "KernelsAVX512", "KernelsVNNI", "KernelsPortable"]
#else
let cpu: [SwiftSetting] = []
let isaTargets: [String] = ["KernelsPortable"]
#endif
// Hot numeric code runs without overflow/bounds traps in release builds; file parsing
// (ModelIO) keeps its checks because it reads untrusted bytes.
let unchecked: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
let fast: [SwiftSetting] = cpu + unchecked
/// The kernel targets: one generic source (Kernels) instantiated per instruction set.
func isaTarget(_ name: String) -> Target {
    let flags: [SwiftSetting]
    switch name {
    case "KernelsAVX2": flags = [.unsafeFlags(["-target-cpu", "haswell"])]
    case "KernelsAVX512": flags = [.unsafeFlags(["-target-cpu", "skylake-avx512"])]
    case "KernelsVNNI": flags = [.unsafeFlags(["-target-cpu", "cascadelake"])]  // AVX-512 + VNNI (8-bit dots)
    default: flags = []
    }
    return .target(name: name, dependencies: ["Kernels"], swiftSettings: flags + unchecked)
}

let libraries: [Target.Dependency] = [
    "Numerics", "ModelIO", "Llama", "IRM", "Figures", "Datasets", "Training",
    "Evaluation", "Analysis", "Reports"
]

let package = Package(
    name: "irm",
    platforms: [.macOS(.v13)],
    products: [.executable(name: "irm", targets: ["irm"])],
    targets: [
        // Library targets, bottom to top (docs/ARCHITECTURE.md): each uses only targets listed above it.
        // The storage the kernels read and the kernels' bodies, generic over the vector width.
        .target(name: "Kernels", swiftSettings: fast)
    ] + isaTargets.map(isaTarget) + [
        .target(
            name: "Numerics", dependencies: [.target(name: "Kernels")] + isaTargets.map { .target(name: $0) },
            swiftSettings: fast),
        .target(name: "ModelIO", dependencies: ["Numerics"], swiftSettings: cpu),
        .target(name: "Llama", dependencies: ["Numerics", "ModelIO"], swiftSettings: fast),
        .target(name: "IRM", dependencies: ["Numerics", "ModelIO", "Llama"], swiftSettings: fast),
        .target(name: "Figures", dependencies: ["ModelIO"], swiftSettings: fast),
        .target(name: "Datasets", dependencies: ["Numerics", "ModelIO"], swiftSettings: fast),
        .target(
            name: "Training", dependencies: ["Numerics", "ModelIO", "Llama", "IRM", "Datasets"], swiftSettings: fast),
        .target(
            name: "Evaluation", dependencies: ["Numerics", "ModelIO", "Llama", "IRM", "Datasets", "Training"],
            swiftSettings: fast),
        .target(
            name: "Analysis",
            dependencies: ["Numerics", "ModelIO", "Llama", "IRM", "Figures", "Datasets", "Training", "Evaluation"],
            swiftSettings: fast),
        .target(
            name: "Reports", dependencies: ["ModelIO", "Figures", "Training", "Evaluation", "Analysis"],
            swiftSettings: cpu),
        .executableTarget(name: "irm", dependencies: libraries, swiftSettings: cpu),
        .executableTarget(name: "irm-bench", dependencies: libraries, swiftSettings: fast),
        // Random-weight model files at a real shape (`make check-7b`).
        .executableTarget(name: "irm-mkmodel", dependencies: ["Numerics", "ModelIO", "Llama"], swiftSettings: fast),
        // The bodies of the fuzz targets (their libFuzzer entry points live in Fuzz/, built by scripts/fuzz.sh).
        .target(
            name: "FuzzTargets",
            dependencies: ["Numerics", "ModelIO", "Llama", "IRM", "Datasets", "Training", "Analysis"],
            swiftSettings: cpu),

        // What every test target shares: package paths, temp folders, a subprocess runner, a PNG reader, assertClose.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: cpu),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics", "Kernels", "TestSupport"], swiftSettings: cpu),
        .testTarget(name: "ModelIOTests", dependencies: ["ModelIO", "Numerics", "TestSupport"], swiftSettings: cpu),
        .testTarget(name: "TokenizerTests", dependencies: ["ModelIO", "TestSupport"], swiftSettings: cpu),
        // Runs the built `irm` binary: user-facing errors, exit codes, command output.
        .testTarget(name: "CLITests", dependencies: ["TestSupport"], swiftSettings: cpu),
        .testTarget(
            name: "LlamaTests", dependencies: ["Llama", "ModelIO", "Numerics", "TestSupport"], swiftSettings: cpu),
        .testTarget(
            name: "IRMTests", dependencies: ["IRM", "Llama", "ModelIO", "Numerics", "TestSupport"], swiftSettings: cpu),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "ModelIO", "TestSupport"], swiftSettings: cpu),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Training", "Datasets", "IRM", "Llama", "ModelIO", "Numerics", "TestSupport"],
            swiftSettings: cpu),
        .testTarget(
            name: "EvaluationTests",
            dependencies: ["Evaluation", "Training", "Datasets", "Llama", "ModelIO", "TestSupport"],
            swiftSettings: cpu),
        // Replays the fuzz corpus and every input that once crashed (Fuzz/corpus, Fuzz/regressions).
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets", "TestSupport"], swiftSettings: cpu),
        .testTarget(name: "FiguresTests", dependencies: ["Figures", "TestSupport"], swiftSettings: cpu),
        .testTarget(
            name: "ReportsTests",
            dependencies: [
                "Reports", "Figures", "Training", "Evaluation", "Analysis", "IRM", "Datasets",
                "ModelIO", "TestSupport"
            ], swiftSettings: cpu),
        .testTarget(
            name: "AnalysisTests",
            dependencies: [
                "Analysis", "Figures", "IRM", "Llama", "ModelIO", "Numerics", "Datasets",
                "Training", "Evaluation", "TestSupport"
            ],
            swiftSettings: cpu)
    ]
)
