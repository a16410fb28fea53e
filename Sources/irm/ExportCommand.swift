// irm export --run Runs/<name> --control-vector FILE.gguf — the IRM's mean output as a llama.cpp control
// vector (Analysis/ControlVector.swift says how layers map).
import Foundation
import Training
import Analysis

struct ExportCommand: Command {
    static let name = "export", summary = "write a run's IRM as a llama.cpp control vector (its mean output per layer)"

    var trained = RunOptions(), probe = ProbeOptions(), threads = ThreadOptions()
    var controlVector = ""

    static var options: [Opt<Self>] {
        including(\.trained) + [
            .string("control-vector", "FILE", \.controlVector, "the GGUF file to write", required: true)
        ] + including(\.probe) + including(\.threads)
    }

    func run() throws {
        threads.apply()
        let progress = ProgressLine()
        let e = try exportControlVector(
            trained.folder, to: controlVector, options: probe.o, progress: { progress.update($0) })
        progress.finish()
        print(
            String(
                format:
                    "wrote %@: direction.1 … direction.%d (%d floats each), mean over %d probe tokens; strongest direction.%d (norm %.3f)",
                e.path, e.layerCount, e.length, e.probeTokens, e.strongestLayer, e.strongestNorm))
        print("llama.cpp: llama-cli -m MODEL --control-vector \(e.path)   (\(controlVectorMapping))")
    }
}
