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
    static let usage: String? = "--dataset NAME|PATH [options]  |  --resume Runs/NAME [--lr LR] [--clip NORM]"

    var model = ModelOptions(), threads = ThreadOptions()
    var dataset: String?, format: DatasetFormat?, layers = "all"
    var runName: String?, runs = "Runs", resume: String?, heatmaps = true, planOnly = false, maxMemory: String?
    /// The options on the command line (what --resume may change is checked against it).
    var given: Set<String> = []
    /// The run's settings as the flags leave them (so the help shows TrainConfig's own defaults);
    /// newConfig fills in the model, the dataset, the layers and the split.
    var c = TrainConfig(
        model: "", modelSHA256: "", dataset: "", datasetPath: "", split: DatasetSplit.make(count: 0, seed: 0),
        irm: IRMConfig(hidden: 0, layers: []), adam: AdamConfig(), runName: "")

    static var options: [Opt<Self>] {
        (including(\.model) + including(\.threads) + [
            .string(
                "dataset", "NAME|PATH", \.dataset, "Datasets/NAME.csv (anger, sadness, joy, fear, neutral) or a file"),
            .choice("format", \.format, "the dataset's format (default: from the extension)"),
            .string("label", "L", \.c.label, "for text;label files: the class to train on (e.g. anger)"),
            .int("limit", "N", \.c.limit, 1...Int.max, "use only the first N examples of the dataset"),
            .string("layers", "SPEC", \.layers, "injection layers: " + layerSpecSyntax),
            .choice(
                "irm-kind", \.c.irm.kind,
                "network (default): the paper's IRM; constant: one trainable vector per injection layer, the same at every token"
            ),
            .int("width", "W", \.c.irm.widthMultiplier, 1...64, "IRM width multiplier: hidden layers W·h wide"),
            .int("depth", "D", \.c.irm.depth, 1...64, "IRM Linear layers"),
            .float("l1", "λ", \.c.irm.l1, 0...1e6, "L1 penalty: λ·mean |IRM output| over the real tokens"),
            .choice(
                "objective", \.c.objective,
                "response (default): loss on the chat answer; reference: the reference implementation's (README)"),
            .choice(
                "init", \.c.irm.initialization,
                "IRM initialisation; pytorch is the reference's, zero-output starts from the unchanged model"),
            .float(
                "lr", "LR", \.c.adam.lr, 1e-12...1e30,
                "Adam learning rate (an absurd one stops the run when it diverges)"),
            .float("gamma", "G", \.c.adam.gamma, 0...1, "StepLR factor per epoch"),
            .float("clip", "NORM", \.c.adam.clipNorm, 1e-9...1e9, "clip the gradient's global norm (default off)"),
            .int("batch-size", "B", \.c.batchSize, 1...4096, "sequences per batch"),
            .int("seq-len", "T", \.c.seqLen, 8...1_000_000, "token cap per example, at most the model's context"),
            .int("epochs", "E", \.c.epochs, 1...100_000, "epochs at most"),
            .int(
                "max-steps", "N", \.c.maxSteps, 1...Int.max,
                "optimiser steps at most; with --resume a new limit, which extends a finished run"),
            .int("eval-every", "N", \.c.evalEvery, 1...Int.max, "validate every N steps (default: once per epoch)"),
            .int("patience", "P", \.c.patience, 1...100_000, "stop after P validations without improvement"),
            .int("seed", "S", \.c.seed, 0...Int.max, "seed for the IRM init, the split and the batch order"),
            .flag("recompute", \.c.recompute, "recompute each layer's activations in the backward pass (less memory)"),
            .string("system", "TEXT", \.c.system, "system prompt for the chat template"),
            .strings(
                "sample-prompt", "TEXT", \.c.samplePrompts, "a prompt for samples.txt (default: 2 validation questions)"
            ),
            .int(
                "sample-tokens", "N", \.c.sampleTokens, 0...100_000, "tokens per answer in samples.txt; 0: no samples"),
            .string("name", "NAME", \.runName, "run name (default <dataset>-<layers>-<timestamp>)"),
            .string("runs", "DIR", \.runs, "folder for runs"),
            .string(
                "resume", "RUN", \.resume,
                "continue an interrupted run from its last checkpoint (--lr and --clip may change)"),
            .string(
                "max-memory", "SIZE", \.maxMemory, "plan against SIZE (e.g. 6G, 800M) instead of the available memory"),
            .flag("no-heatmaps", \.heatmaps, "skip drawing the heatmaps at the end", sets: false),
            .flag("plan-only", \.planOnly, "print the memory plan and stop")
        ]).map(noted)
    }

    /// The option, which also notes its name in `given`.
    static func noted(_ o: Opt<Self>) -> Opt<Self> {
        let apply = o.apply
        return Opt(
            name: o.name, placeholder: o.placeholder, help: o.help, repeatable: o.repeatable, required: o.required,
            apply: {
                try apply(&$0, $1); $0.given.insert(o.name)
            }, shownDefault: o.shownDefault)
    }

    /// What --resume may change; everything else is fixed by the run's config.json.
    static let resumeOptions: Set<String> = [
        "resume", "threads", "lr", "clip", "max-steps", "no-heatmaps", "plan-only", "max-memory"
    ]

    func run() throws {
        threads.apply()
        var config: TrainConfig
        let run: RunFolder
        var lock: RunLock? = nil, configChanged = false
        defer { lock?.release() }
        if let resume {
            if let o = given.subtracting(Self.resumeOptions).sorted().first {
                throw CLIError(
                    "--\(o) cannot change on --resume (\(resume)/config.json fixes it; only --lr, --clip and --max-steps may change)"
                )
            }
            run = RunFolder(resume)
            config = try run.readConfig()
            lock = try Self.takeLock(run)
            configChanged = applyResumeChanges(&config, run)
            // A new step limit extends the run (a finished one too, when it stopped only at its old limit).
            if let m = c.maxSteps, m != config.maxSteps { config.maxSteps = m; configChanged = true }
        } else {
            config = try newConfig()
            run = RunFolder(runs + "/" + config.runName)
        }
        let resuming = resume != nil

        // The memory plan, before anything heavy is loaded.
        let (mc, weightBytes) = try LlamaModel.plan(path: config.model, storage: config.storage)
        try config.irm.validate(nLayers: mc.nLayers)
        var available = availableMemory()
        if let m = maxMemory {
            guard let b = parseByteSize(m) else {
                throw CLIError("--max-memory expects a size like 6G or 800M, got '\(m)'")
            }
            available = b
        }
        let planFor = { (T: Int) in
            MemoryPlan.make(
                model: mc, weightBytes: weightBytes, irm: config.irm, B: config.batchSize, T: T,
                recompute: config.recompute, available: available)
        }
        var plan = planFor(config.seqLen)
        print(plan.report(), terminator: "")
        if !plan.fits {
            let s = memorySuggestions(
                model: mc, weightBytes: weightBytes, irm: config.irm, B: config.batchSize,
                T: config.seqLen, recompute: config.recompute, available: plan.available)
            throw CLIError(
                "the run needs \(formatBytes(plan.total)) but \(formatBytes(plan.available)) is available"
                    + (s.isEmpty ? "" : "; try " + s.joined(separator: ", or ")))
        }
        if planOnly { return }
        // The model's identity (config.json, the token cache's key), after the plan: a 13 GB file takes a minute.
        if !resuming { config.modelSHA256 = try sha256Hex(ofFile: config.model) }

        let lm = try config.loadModel()
        let data = try Self.prepareData(config, lm: lm)
        // The activations are sized for the longest example, which may be shorter than --seq-len.
        if let T = (data.train + data.val).map({ $0.ids.count }).max(), T < config.seqLen {
            plan = planFor(T)
            print("memory plan for the longest example (\(T) tokens): \(formatBytes(plan.total))")
        }
        if !resuming {
            if config.samplePrompts.isEmpty { config.samplePrompts = data.valPrompts }
            try run.create()
            lock = try Self.takeLock(run)  // before the check: two new runs of one name cannot both pass it
            if FileManager.default.fileExists(atPath: run.configPath) {
                throw CLIError("\(run.path) already holds a run (use --resume, or another --name)")
            }
        }
        print(
            "run: \(run.path)  (\(data.train.count) training / \(data.val.count) validation examples, IRM \(formatCount(config.irm.parameterCount)) parameters)"
        )
        installInterruptHandler()
        stopWhenSweepEnds()
        let trainer = try Trainer(lm: lm, config: config, run: run, train: data.train, val: data.val, resume: resuming)
        // Stripes over training: striation statistics of a few fixed probe prompts at every validation.
        var probe: TrainingStriationProbe? = nil
        do { probe = try TrainingStriationProbe(lm: lm, system: config.system) } catch {
            FileHandle.standardError.write(Data("irm train: striation.csv is not written (\(error))\n".utf8))
        }
        try run.truncateCSV(run.striationPath, afterStep: trainer.state.step)
        if !resuming || configChanged { try run.writeConfig(config) }  // once the checkpoint has loaded
        let state = try trainer.run(onValidation: { s in try probe?.record(trainer.net, step: s.step, run: run) })
        print(
            "finished: \(state.stopReason ?? "done") at step \(state.step); best validation loss \(state.bestVal.map { String(format: "%.4f", $0) } ?? "-")"
        )
        if heatmaps {
            // The best weights into the trainer's own network: a second IRM would add its size to the peak.
            let net = trainer.net
            try net.loadWeights(SafetensorsFile(path: run.inferenceWeightsPath))
            let h = try drawIRMHeatmaps(
                lm: lm, net: net, prompt: HeatmapCommand.defaultPrompt, chat: true, system: config.system,
                outDir: run.heatmapDir, csvPath: run.path + "/heatmap.csv", title: config.runName)
            try HeatmapCommand.writeSummary(h, run: run, prompt: HeatmapCommand.defaultPrompt)
            HeatmapCommand.printSummary(h, run: run)
        }
        if let hwm = peakResidentMemory() {
            print(
                String(
                    format: "memory: peak resident %.1f MB (VmHWM); plan %.1f MB", Double(hwm) / 1e6,
                    Double(plan.total) / 1e6))
        }
        print(refreshRunReport(run))
        print(
            "results: \(run.path)/ (config.json, irm-best.safetensors, metrics.csv, striation.csv, samples.txt, heatmaps/, report.html)"
        )
    }

    func newConfig() throws -> TrainConfig {
        guard let dataset else { throw CLIError("--dataset is required (or --resume RUN)") }
        if c.irm.kind == .constant, let o = given.intersection(["width", "depth"]).sorted().first {
            throw CLIError("--\(o) does not apply to --irm-kind constant (it has no network)")
        }
        var c = self.c
        c.model = try model.path()
        c.tokenizer = model.tokenizer
        c.dtype = model.dtype.rawValue
        c.dataset = dataset
        c.datasetPath = try resolveDataset(dataset, datasetsDir: "Datasets")
        c.format = format?.rawValue
        c.objective = c.objective ?? .response
        let (mc, _) = try LlamaModel.plan(path: c.model)
        try checkRange("seq-len", c.seqLen, 8...mc.maxSeqLen)
        c.irm.hidden = mc.dim
        c.irm.layers = try parseLayerSpec(layers, nLayers: mc.nLayers)
        let stamp = {
            let f = DateFormatter(); f.dateFormat = "yyyyMMdd-HHmmss"; return f.string(from: Date())
        }()
        let base = ((dataset as NSString).lastPathComponent as NSString).deletingPathExtension
        c.runName = runName ?? "\(base)\(c.label.map { "-" + $0 } ?? "")-\(layerSpecName(c.irm.layers))-\(stamp)"
        guard !c.runName.isEmpty, !c.runName.contains("/") else {
            throw CLIError("--name '\(c.runName)' must be a plain folder name")
        }
        // The split is fixed now (it depends only on the example count and the seed) and stored in config.json.
        let examples = try Self.loadData(c)
        c.split = DatasetSplit.make(count: examples.count, seed: c.seed)
        c.datasetHash = datasetContentHash(examples)
        return c
    }

    static func loadData(_ c: TrainConfig) throws -> [Example] { try loadRunExamples(c) }

    /// On --resume: a new --lr or --clip (e.g. after a divergence), noted in config.json's `changes`.
    func applyResumeChanges(_ config: inout TrainConfig, _ run: RunFolder) -> Bool {
        var adam = config.adam
        if given.contains("lr") { adam.lr = c.adam.lr }
        if given.contains("clip") { adam.clipNorm = c.adam.clipNorm }
        guard adam != config.adam else { return false }
        func describe(_ a: AdamConfig) -> String { "--lr \(a.lr)" + (a.clipNorm.map { " --clip \($0)" } ?? "") }
        let note = "from step \(run.lastCheckpointStep ?? 0): \(describe(adam)) (was \(describe(config.adam)))"
        FileHandle.standardError.write(Data("irm train: resuming \(note)\n".utf8))
        config.changes = (config.changes ?? []) + [note]
        config.adam = adam
        return true
    }

    /// The run's lock (one writer per run); a lock left by a killed process is taken over, with a note.
    static func takeLock(_ run: RunFolder) throws -> RunLock {
        let lock = try RunLock.acquire(run)
        if let pid = lock.takenOverFrom {
            FileHandle.standardError.write(
                Data("irm train: taking over the lock left by process \(pid) (it no longer holds it)\n".utf8))
        }
        return lock
    }

    /// Examples → split → tokens (cached per model in Runs/.cache); see Training/RunData.swift.
    static func prepareData(_ c: TrainConfig, lm: LoadedModel) throws -> RunData {
        let d = try prepareRunData(c, lm: lm)
        if d.dropped > 0 {
            FileHandle.standardError.write(
                Data("irm train: \(d.dropped) examples skipped (prompt longer than --seq-len \(c.seqLen))\n".utf8))
        }
        return d
    }
}
