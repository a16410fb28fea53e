// swift-tools-version:6.0
// irm: Injectable Realignment Models on frozen Llama-family models, in pure Swift.
// No package dependencies: only the toolchain (see DEVELOPERS' guide).
import PackageDescription

// Kernels need AVX2 + FMA + F16C; without a target CPU `SIMD8<Float>.addingProduct`
// becomes scalar fmaf() calls and Float16 conversions become library calls (DESIGN.md).
let cpu: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
// Hot numeric code runs without overflow/bounds traps in release builds; file parsing
// (ModelIO) keeps its checks because it reads untrusted bytes.
let fast: [SwiftSetting] = cpu + [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "irm",
    platforms: [.macOS(.v13)],
    products: [.executable(name: "irm", targets: ["irm"])],
    targets: [
        .target(name: "Numerics", swiftSettings: fast),
        .target(name: "ModelIO", dependencies: ["Numerics"], swiftSettings: cpu),
        .target(name: "Llama", dependencies: ["Numerics", "ModelIO"], swiftSettings: fast),
        .target(name: "IRM", dependencies: ["Numerics", "ModelIO", "Llama"], swiftSettings: fast),
        .target(name: "Training", dependencies: ["Numerics", "ModelIO", "Llama", "IRM"], swiftSettings: fast),
        // Analysis also reads IRMs (heatmaps of what they inject), a step beside DESIGN.md's diagram.
        .target(name: "Analysis", dependencies: ["Numerics", "ModelIO", "Llama", "IRM"], swiftSettings: fast),
        .executableTarget(name: "irm", dependencies: ["Numerics", "ModelIO", "Llama", "IRM", "Training", "Analysis"],
                          swiftSettings: cpu),
        .executableTarget(name: "irm-bench", dependencies: ["Numerics", "ModelIO", "Llama", "IRM", "Training", "Analysis"],
                          swiftSettings: fast),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics"], swiftSettings: cpu),
        .testTarget(name: "ModelIOTests", dependencies: ["ModelIO", "Numerics"], swiftSettings: cpu),
        .testTarget(name: "TokenizerTests", dependencies: ["ModelIO"], swiftSettings: cpu),
        // Runs the built `irm` binary: user-facing errors, exit codes, command output.
        .testTarget(name: "CLITests", swiftSettings: cpu),
        .testTarget(name: "LlamaTests", dependencies: ["Llama", "ModelIO", "Numerics"], swiftSettings: cpu),
        .testTarget(name: "IRMTests", dependencies: ["IRM", "Llama", "ModelIO", "Numerics"], swiftSettings: cpu),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "IRM", "Llama", "ModelIO", "Numerics"], swiftSettings: cpu),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "IRM", "Llama", "ModelIO", "Numerics"], swiftSettings: cpu),
    ]
)
