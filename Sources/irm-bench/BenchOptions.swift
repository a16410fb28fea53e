// The command line of irm-bench: which groups to run, on which model shapes, storage types and thread count.
// A mistake (unknown group, flag or value) is one line on stderr and exit status 2; --help prints the usage.
import Foundation
import ModelIO

struct BenchOptions {
    static let groups = ["gemm", "forward", "quant", "neurons", "train", "gemv-cold"]
    /// Run only when named: a single-core tuning sweep.
    static let extraGroups = ["gemm-tune", "gemm-train"]
    static let models = ["smollm2", "llama7b", "llama3-8b"]
    /// Run only when named: llama3-8b (the neurons group's Llama-3.1-8B-shaped layer: a 1 GB random head).
    static let defaultModels: Set<String> = ["smollm2", "llama7b"]
    static let dtypes = ["f32", "f16", "auto", "int8"]

    var groups: [String] = []
    var models = BenchOptions.defaultModels
    var dtypes = BenchOptions.dtypes
    var threads: Int?
    var help = false

    static let usage = """
        irm-bench — the numbers behind `make bench`: one JSON object per line on stdout, nothing asserted

        usage: irm-bench [GROUP ...] [options]

        groups (default: all but gemm-tune):
          gemm        GEMM GFLOP/s on the models' shapes against the FMA peak measured in the same run
          forward     prefill (128-token prompt) and decode tok/s of SmolLM2; a Llama-2-7B layer extrapolated
          quant       Q4_1 kept in blocks against the same file widened to fp16: tok/s, resident bytes;
                      where the quantized GEMV stops beating the GEMM
          neurons     LM-head neuron decoding (`irm neurons map`)
          train       a training step and a forward of 8×128 tokens, GFLOP/s against the measured peak
          gemv-cold   decode-shaped GEMV over many cold matrices (GB/s)
          gemm-tune   single-core GEMM/GEMV tuning sweep (plain text; only when named)
          gemm-train  every product of a SmolLM2 training step at its shape: GFLOP/s, share (only when named)

        options:
          --model LIST     shapes to run: smollm2, llama7b, llama3-8b (comma-separated; default the first two;
                           llama3-8b only in the neurons group)
          --dtype LIST     SmolLM2 weight storage in forward: f32, f16, auto (auto keeps the file's Q4_1 in its
                           blocks, as the loader does), int8 (auto decoded with 8-bit activations, as
                           `--int8-dot` does); default all four
          --threads N      worker threads (default: all cores)
          --help           show this help

        SmolLM2 is read from Models/ under the package root (the folder holding Package.swift, found from
        the executable's path, else from the working directory upwards).
        """

    struct UsageError: Error, CustomStringConvertible { let description: String }

    static func parse(_ args: [String]) throws(UsageError) -> BenchOptions {
        var o = BenchOptions()
        var i = 0
        func value(_ flag: String) throws(UsageError) -> String {
            i += 1
            guard i < args.count, !args[i].hasPrefix("--") else {
                throw UsageError(description: "\(flag) needs a value")
            }
            return args[i]
        }
        func list(_ flag: String, _ allowed: [String]) throws(UsageError) -> [String] {
            let items = try value(flag).split(separator: ",").map(String.init)
            for s in items where !allowed.contains(s) {
                throw UsageError(
                    description: "\(flag): unknown value '\(singleLine(s))' (one of \(allowed.joined(separator: ", ")))"
                )
            }
            if items.isEmpty { throw UsageError(description: "\(flag) needs a value") }
            return items
        }
        while i < args.count {
            let a = args[i]
            switch a {
            case "--help", "-h": o.help = true
            case "--model": o.models = Set(try list(a, models))
            case "--dtype": o.dtypes = try list(a, dtypes)
            case "--threads":
                let v = try value(a)
                guard let n = Int(v), (1...1024).contains(n) else {
                    throw UsageError(description: "--threads: '\(singleLine(v))' is not a thread count from 1 to 1024")
                }
                o.threads = n
            default:
                if a.hasPrefix("-") { throw UsageError(description: "unknown option '\(singleLine(a))' (see --help)") }
                guard groups.contains(a) || extraGroups.contains(a) else {
                    throw UsageError(
                        description:
                            "unknown group '\(singleLine(a))' (groups: \((groups + extraGroups).joined(separator: ", ")))"
                    )
                }
                o.groups.append(a)
            }
            i += 1
        }
        if o.groups.isEmpty { o.groups = groups }
        return o
    }

    func wants(_ model: String) -> Bool { models.contains(model) }
    /// The SmolLM2 file `make model` fetches, under the package root.
    var smolPath: String { packageRoot() + "/Models/SmolLM2-135M-Instruct.Q4_1.gguf" }
}

/// The package root: the nearest folder holding Package.swift above the executable (.build/release/irm-bench),
/// else above the working directory; the working directory when neither has one.
func packageRoot() -> String {
    let fm = FileManager.default
    func search(from dir: URL) -> String? {
        var d = dir.standardizedFileURL
        while true {
            if fm.fileExists(atPath: d.appendingPathComponent("Package.swift").path) { return d.path }
            let up = d.deletingLastPathComponent()
            if up.path == d.path { return nil }
            d = up
        }
    }
    let exe = URL(
        fileURLWithPath: (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    let cwd = URL(fileURLWithPath: fm.currentDirectoryPath)
    return search(from: exe.deletingLastPathComponent()) ?? search(from: cwd) ?? cwd.path
}
