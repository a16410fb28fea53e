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

enum TrainCommand {
    static let spec = CommandSpec(
        name: "train", summary: "train an IRM on a frozen model (or --resume a run)",
        usage: "--dataset NAME|PATH [--layers SPEC] [--max-steps N] [...]  |  --resume Runs/NAME",
        options: modelOptions + [
            Option(name: "dataset", value: "NAME|PATH", help: "Datasets/NAME.csv (anger, sadness, joy, fear, neutral) or a file"),
            Option(name: "format", value: "F", help: "csv | labelled | jsonl | squad (default: from the extension)"),
            Option(name: "label", value: "L", help: "for text;label files: the class to train on (e.g. anger)"),
            Option(name: "limit", value: "N", help: "use only the first N examples of the dataset"),
            Option(name: "layers", value: "SPEC", help: "injection layers: all (default), 0-29, 0,4,8, 3:29:4"),
            Option(name: "width", value: "W", help: "IRM width multiplier (default 3: hidden layers 3·h wide)"),
            Option(name: "depth", value: "D", help: "IRM Linear layers (default 5)"),
            Option(name: "l1", value: "λ", help: "L1 penalty on the IRM output (default 0)"),
            Option(name: "init", value: "pytorch|zero-output", help: "IRM initialisation (default pytorch, as the reference)"),
            Option(name: "lr", value: "LR", help: "Adam learning rate (default 1e-4)"),
            Option(name: "gamma", value: "G", help: "StepLR factor per epoch (default 0.85)"),
            Option(name: "clip", value: "NORM", help: "clip the gradient's global norm (default off)"),
            Option(name: "batch-size", value: "B", help: "sequences per batch (default 8)"),
            Option(name: "seq-len", value: "T", help: "token cap per example (default 128)"),
            Option(name: "epochs", value: "E", help: "epochs at most (default 10)"),
            Option(name: "max-steps", value: "N", help: "optimiser steps at most"),
            Option(name: "eval-every", value: "N", help: "validate every N steps (default: once per epoch)"),
            Option(name: "patience", value: "P", help: "stop after P validations without improvement (default 6)"),
            Option(name: "seed", value: "S", help: "seed for the IRM init, the split and the batch order (default 0)"),
            Option(name: "recompute", value: nil, help: "recompute each layer's activations in the backward pass (less memory)"),
            Option(name: "system", value: "TEXT", help: "system prompt for the chat template"),
            Option(name: "sample-prompt", value: "TEXT", help: "a prompt for samples.txt (repeatable; default: 2 validation questions)", repeatable: true),
            Option(name: "name", value: "NAME", help: "run name (default <dataset>-<layers>-<timestamp>)"),
            Option(name: "runs", value: "DIR", help: "folder for runs (default Runs)"),
            Option(name: "resume", value: "RUN", help: "continue an interrupted run from its last checkpoint"),
            Option(name: "no-heatmaps", value: nil, help: "skip drawing the heatmaps at the end"),
            Option(name: "plan-only", value: nil, help: "print the memory plan and stop"),
        ])

    static func run(_ args: Arguments) throws {
        try applyThreads(args)
        var config: TrainConfig
        let run: RunFolder
        let resuming = args.string("resume") != nil
        if let r = args.string("resume") {
            run = RunFolder(r)
            config = try run.readConfig()
        } else {
            config = try newConfig(args)
            run = RunFolder((args.string("runs") ?? "Runs") + "/" + config.runName)
        }

        // The memory plan, before anything heavy is loaded.
        let (mc, weightBytes) = try LlamaModel.plan(path: config.model, storage: config.storage)
        try config.irm.validate(nLayers: mc.nLayers)
        let plan = MemoryPlan.make(model: mc, weightBytes: weightBytes, irm: config.irm, B: config.batchSize,
                                   T: config.seqLen, recompute: config.recompute)
        print(plan.report(), terminator: "")
        if !plan.fits {
            let s = memorySuggestions(model: mc, weightBytes: weightBytes, irm: config.irm, B: config.batchSize,
                                      T: config.seqLen, recompute: config.recompute, available: plan.available)
            throw CLIError("irm train: the run needs \(formatBytes(plan.total)) but \(formatBytes(plan.available)) is available"
                           + (s.isEmpty ? "" : "; try " + s.joined(separator: ", or ")))
        }
        if args.flag("plan-only") { return }

        let lm = try config.loadModel()
        let data = try prepareData(config, lm: lm)
        if !resuming {
            if config.samplePrompts.isEmpty { config.samplePrompts = data.valPrompts }
            if FileManager.default.fileExists(atPath: run.configPath) {
                throw CLIError("irm train: \(run.path) already holds a run (use --resume, or another --name)")
            }
            try run.create()
            try run.writeConfig(config)
        }
        print("run: \(run.path)  (\(data.train.count) training / \(data.val.count) validation examples, IRM \(formatCount(config.irm.parameterCount)) parameters)")
        installInterruptHandler()
        let trainer = try Trainer(lm: lm, config: config, run: run, train: data.train, val: data.val, resume: resuming)
        let state = try trainer.run()
        print("finished: \(state.stopReason ?? "done") at step \(state.step); best validation loss \(state.bestVal.map { String(format: "%.4f", $0) } ?? "-")")
        if !args.flag("no-heatmaps") {
            let net = try loadIRM(run.path, for: lm.model.config)
            let h = try drawIRMHeatmaps(lm: lm, net: net, prompt: HeatmapCommand.defaultPrompt, chat: true, system: config.system,
                                        outDir: run.heatmapDir, csvPath: run.path + "/heatmap.csv", title: config.runName)
            try HeatmapCommand.writeSummary(h, run: run, prompt: HeatmapCommand.defaultPrompt)
            HeatmapCommand.printSummary(h, run: run)
        }
        print("results: \(run.path)/ (config.json, irm-best.safetensors, metrics.csv, samples.txt, heatmaps/)")
    }

    static func newConfig(_ args: Arguments) throws -> TrainConfig {
        guard let dataset = args.string("dataset") else { throw CLIError("irm train: --dataset is required (or --resume RUN)") }
        let modelPath = args.string("model") ?? defaultModelPath
        if args.string("model") == nil, !FileManager.default.fileExists(atPath: modelPath) {
            throw CLIError("\(modelPath): no such file (run `make model` to fetch SmolLM2, or pass --model PATH)")
        }
        let path = try resolveDataset(dataset, datasetsDir: "Datasets")
        let (mc, _) = try LlamaModel.plan(path: modelPath)
        let layers = try parseLayerSpec(args.string("layers") ?? "all", nLayers: mc.nLayers)
        var irm = IRMConfig(hidden: mc.dim, layers: layers,
                            widthMultiplier: try args.int("width", default: 3, range: 1...64),
                            depth: try args.int("depth", default: 5, range: 1...64),
                            l1: try args.float("l1", default: 0, range: 0...1e6))
        irm.initialization = try args.choice("init", default: .pytorch)
        var adam = AdamConfig()
        adam.lr = try args.float("lr", default: 1e-4, range: 1e-12...10)
        adam.gamma = try args.float("gamma", default: 0.85, range: 0...1)
        if args.string("clip") != nil { adam.clipNorm = try args.float("clip", default: 1, range: 1e-9...1e9) }
        let seed = UInt64(try args.int("seed", default: 0, range: 0...Int.max))
        let stamp = { let f = DateFormatter(); f.dateFormat = "yyyyMMdd-HHmmss"; return f.string(from: Date()) }()
        let base = ((dataset as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = args.string("name") ?? "\(base)\(args.string("label").map { "-" + $0 } ?? "")-\(layerSpecName(layers))-\(stamp)"
        guard !name.isEmpty, !name.contains("/") else { throw CLIError("irm train: --name '\(name)' must be a plain folder name") }
        var c = TrainConfig(model: modelPath, modelSHA256: try sha256Hex(ofFile: modelPath), dataset: dataset, datasetPath: path,
                            split: DatasetSplit.make(count: 0, seed: seed), irm: irm, adam: adam, runName: name)
        c.tokenizer = args.string("tokenizer")
        c.dtype = (try args.choice("dtype", default: WeightStorage.auto)).rawValue
        c.format = args.string("format")
        if let f = c.format, DatasetFormat(rawValue: f) == nil {
            throw CLIError("irm train: --format '\(f)' is not one of csv, labelled, jsonl, squad")
        }
        c.label = args.string("label")
        c.system = args.string("system")
        c.batchSize = try args.int("batch-size", default: 8, range: 1...4096)
        c.seqLen = try args.int("seq-len", default: 128, range: 8...mc.maxSeqLen)
        c.epochs = try args.int("epochs", default: 10, range: 1...100_000)
        if args.string("max-steps") != nil { c.maxSteps = try args.int("max-steps", default: 1, range: 1...Int.max) }
        if args.string("eval-every") != nil { c.evalEvery = try args.int("eval-every", default: 1, range: 1...Int.max) }
        c.patience = try args.int("patience", default: 6, range: 1...100_000)
        c.seed = seed
        c.recompute = args.flag("recompute")
        c.samplePrompts = args.strings("sample-prompt")
        if args.string("limit") != nil { c.limit = try args.int("limit", default: 1, range: 1...Int.max) }
        // The split is fixed now (it depends only on the example count and the seed) and stored in config.json.
        let examples = try loadData(c)
        c.split = DatasetSplit.make(count: examples.count, seed: seed)
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
