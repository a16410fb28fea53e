// irm-bench: the numbers behind `make bench` (ARCHITECTURE.md "How speed is shown"). JSON lines on stdout.
// `irm-bench --help` lists the groups and options (BenchOptions.swift).
import Foundation
import Numerics

let options: BenchOptions
do {
    options = try BenchOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("irm-bench: \(error)\n".utf8))
    exit(2)
}
if options.help {
    let found = FileManager.default.fileExists(atPath: options.smolPath) ? "" : " (missing: make model)"
    print(BenchOptions.usage + "\nSmolLM2 file: \(options.smolPath)\(found)")
    exit(0)
}
if let t = options.threads { numThreads = t }

for group in options.groups {
    switch group {
    case "gemm": benchGEMM(options)
    case "forward": benchForward(options)
    case "quant": benchQuant(options); benchQuantCrossover()
    case "neurons": benchNeurons(options)
    case "train": benchTrain(options)
    case "gemv-cold": benchGEMVCold()
    case "gemm-tune": tuneGEMM()
    case "gemm-train": benchGEMMTrain(options)
    default: break  // parse accepts only the groups above
    }
}
