// irm train --dataset NAME|PATH [...] — train an IRM on a frozen model; irm train --resume Runs/<name>.
import Foundation
import Numerics
import ModelIO
import Llama
import IRM
import Datasets
import Training
import Evaluation
import Figures
import Analysis
import Reports

struct TrainCommand: Command {
    static let name = "train", summary = "train an IRM on a frozen model (or --resume a run)"
    static let usage: String? = "--dataset NAME|PATH [options]  |  --resume Runs/NAME"

    var model = ModelOptions(), threads = ThreadOptions()
    var dataset: String?, format: DatasetFormat?, layers = "all"
    var runName: String?, runs = "Runs", resume: String?, heatmaps = true, planOnly = false
    /// The run's settings as the flags leave them (so the help shows TrainConfig's own defaults);
    /// newConfig fills in the model, the dataset, the layers and the split.
    var c = TrainConfig(model: "", modelSHA256: "", dataset: "", datasetPath: "", split: DatasetSplit.make(count: 0, seed: 0),
                        irm: IRMConfig(hidden: 0, layers: []), adam: AdamConfig(), runName: "")

    static var options: [Opt<Self>] {
        including(\.model) + including(\.threads) + [
            .string("dataset", "NAME|PATH", \.dataset, "Datasets/NAME.csv (anger, sadness, joy, fear, neutral) or a file"),
            .choice("format", \.format, "the dataset's format (default: from the extension)"),
            .string("label", "L", \.c.label, "for text;label files: the class to train on (e.g. anger)"),
            .int("limit", "N", \.c.limit, 1...Int.max, "use only the first N examples of the dataset"),
            .string("layers", "SPEC", \.layers, "injection layers: " + layerSpecSyntax),
            .int("width", "W", \.c.irm.widthMultiplier, 1...64, "IRM width multiplier: hidden layers W·h wide"),
            .int("depth", "D", \.c.irm.depth, 1...64, "IRM Linear layers"),
            .float("l1", "λ", \.c.irm.l1, 0...1e6, "L1 penalty on the IRM output"),
            .choice("init", \.c.irm.initialization, "IRM initialisation; pytorch is the reference's, zero-output starts from the unchanged model"),
            .float("lr", "LR", \.c.adam.lr, 1e-12...10, "Adam learning rate"),
            .float("gamma", "G", \.c.adam.gamma, 0...1, "StepLR factor per epoch"),
            .float("clip", "NORM", \.c.adam.clipNorm, 1e-9...1e9, "clip the gradient's global norm (default off)"),
            .int("batch-size", "B", \.c.batchSize, 1...4096, "sequences per batch"),
            .int("seq-len", "T", \.c.seqLen, 8...1_000_000, "token cap per example, at most the model's context"),
            .int("epochs", "E", \.c.epochs, 1...100_000, "epochs at most"),
            .int("max-steps", "N", \.c.maxSteps, 1...Int.max, "optimiser steps at most"),
            .int("eval-every", "N", \.c.evalEvery, 1...Int.max, "validate every N steps (default: once per epoch)"),
            .int("patience", "P", \.c.patience, 1...100_000, "stop after P validations without improvement"),
            .int("seed", "S", \.c.seed, 0...Int.max, "seed for the IRM init, the split and the batch order"),
            .flag("recompute", \.c.recompute, "recompute each layer's activations in the backward pass (less memory)"),
            .string("system", "TEXT", \.c.system, "system prompt for the chat template"),
            .strings("sample-prompt", "TEXT", \.c.samplePrompts, "a prompt for samples.txt (default: 2 validation questions)"),
            .string("name", "NAME", \.runName, "run name (default <dataset>-<layers>-<timestamp>)"),
            .string("runs", "DIR", \.runs, "folder for runs"),
            .string("resume", "RUN", \.resume, "continue an interrupted run from its last checkpoint"),
            .flag("no-heatmaps", \.heatmaps, "skip drawing the heatmaps at the end", sets: false),
            .flag("plan-only", \.planOnly, "print the memory plan and stop"),
        ]
    }

    func run() throws {
        threads.apply()
        var config: TrainConfig
        let run: RunFolder
        if let resume {
            run = RunFolder(resume)
            config = try run.readConfig()
        } else {
            config = try newConfig()
            run = RunFolder(runs + "/" + config.runName)
        }
        let resuming = resume != nil

        // The memory plan, before anything heavy is loaded.
        let (mc, weightBytes) = try LlamaModel.plan(path: config.model, storage: config.storage)
        try config.irm.validate(nLayers: mc.nLayers)
        let plan = MemoryPlan.make(model: mc, weightBytes: weightBytes, irm: config.irm, B: config.batchSize,
                                   T: config.seqLen, recompute: config.recompute)
        print(plan.report(), terminator: "")
        if !plan.fits {
            let s = memorySuggestions(model: mc, weightBytes: weightBytes, irm: config.irm, B: config.batchSize,
                                      T: config.seqLen, recompute: config.recompute, available: plan.available)
            throw CLIError("the run needs \(formatBytes(plan.total)) but \(formatBytes(plan.available)) is available"
                           + (s.isEmpty ? "" : "; try " + s.joined(separator: ", or ")))
        }
        if planOnly { return }

        let lm = try config.loadModel()
        let data = try Self.prepareData(config, lm: lm)
        if !resuming {
            if config.samplePrompts.isEmpty { config.samplePrompts = data.valPrompts }
            if FileManager.default.fileExists(atPath: run.configPath) {
                throw CLIError("\(run.path) already holds a run (use --resume, or another --name)")
            }
            try run.create()
            try run.writeConfig(config)
        }
        print("run: \(run.path)  (\(data.train.count) training / \(data.val.count) validation examples, IRM \(formatCount(config.irm.parameterCount)) parameters)")
        installInterruptHandler()
        let trainer = try Trainer(lm: lm, config: config, run: run, train: data.train, val: data.val, resume: resuming)
        // Stripes over training: striation statistics of a few fixed probe prompts at every validation.
        var probe: TrainingStriationProbe? = nil
        do { probe = try TrainingStriationProbe(lm: lm, system: config.system) } catch {
            FileHandle.standardError.write(Data("irm train: striation.csv is not written (\(error))\n".utf8))
        }
        try run.truncateCSV(run.striationPath, afterStep: trainer.state.step)
        let state = try trainer.run(onValidation: { s in try probe?.record(trainer.net, step: s.step, run: run) })
        print("finished: \(state.stopReason ?? "done") at step \(state.step); best validation loss \(state.bestVal.map { String(format: "%.4f", $0) } ?? "-")")
        if heatmaps {
            let net = try loadIRM(run.path, for: lm.model.config)
            let h = try drawIRMHeatmaps(lm: lm, net: net, prompt: HeatmapCommand.defaultPrompt, chat: true, system: config.system,
                                        outDir: run.heatmapDir, csvPath: run.path + "/heatmap.csv", title: config.runName)
            try HeatmapCommand.writeSummary(h, run: run, prompt: HeatmapCommand.defaultPrompt)
            HeatmapCommand.printSummary(h, run: run)
        }
        print(refreshRunReport(run))
        print("results: \(run.path)/ (config.json, irm-best.safetensors, metrics.csv, striation.csv, samples.txt, heatmaps/, report.html)")
    }

    func newConfig() throws -> TrainConfig {
        guard let dataset else { throw CLIError("--dataset is required (or --resume RUN)") }
        var c = self.c
        c.model = try model.path()
        c.tokenizer = model.tokenizer
        c.dtype = model.dtype.rawValue
        c.dataset = dataset
        c.datasetPath = try resolveDataset(dataset, datasetsDir: "Datasets")
        c.format = format?.rawValue
        let (mc, _) = try LlamaModel.plan(path: c.model)
        try checkRange("seq-len", c.seqLen, 8...mc.maxSeqLen)
        c.irm.hidden = mc.dim
        c.irm.layers = try parseLayerSpec(layers, nLayers: mc.nLayers)
        let stamp = { let f = DateFormatter(); f.dateFormat = "yyyyMMdd-HHmmss"; return f.string(from: Date()) }()
        let base = ((dataset as NSString).lastPathComponent as NSString).deletingPathExtension
        c.runName = runName ?? "\(base)\(c.label.map { "-" + $0 } ?? "")-\(layerSpecName(c.irm.layers))-\(stamp)"
        guard !c.runName.isEmpty, !c.runName.contains("/") else { throw CLIError("--name '\(c.runName)' must be a plain folder name") }
        c.modelSHA256 = try sha256Hex(ofFile: c.model)
        // The split is fixed now (it depends only on the example count and the seed) and stored in config.json.
        let examples = try Self.loadData(c)
        c.split = DatasetSplit.make(count: examples.count, seed: c.seed)
        c.datasetHash = datasetContentHash(examples)
        return c
    }

    static func loadData(_ c: TrainConfig) throws -> [Example] { try loadRunExamples(c) }

    /// Examples → split → tokens (cached per model in Runs/.cache); see Training/RunData.swift.
    static func prepareData(_ c: TrainConfig, lm: LoadedModel) throws -> RunData {
        let d = try prepareRunData(c, lm: lm)
        if d.dropped > 0 {
            FileHandle.standardError.write(Data("irm train: \(d.dropped) examples skipped (prompt longer than --seq-len \(c.seqLen))\n".utf8))
        }
        return d
    }
}
