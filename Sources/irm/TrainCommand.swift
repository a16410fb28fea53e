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
        if let resume, let o = given.subtracting(Self.resumeOptions).sorted().first {
            throw CLIError(
                "--\(o) cannot change on --resume (\(resume)/config.json fixes it; only --lr, --clip and --max-steps may change)"
            )
        }
        var available = availableMemory()
        if let m = maxMemory {
            guard let b = parseByteSize(m) else {
                throw CLIError("--max-memory expects a size like 6G or 800M, got '\(m)'")
            }
            available = b
        }
        let changes = ResumeChanges(
            lr: given.contains("lr") ? c.adam.lr : nil, clipNorm: given.contains("clip") ? c.adam.clipNorm : nil,
            maxSteps: c.maxSteps)
        let start: TrainingStart =
            if let resume { .resume(path: resume, changes: changes) } else { .new(try newConfig(), runs: runs) }
        let session = try TrainingSession(start, available: available)
        print(session.plan.report(), terminator: "")
        if let why = session.planShortfall { throw CLIError(why) }
        if planOnly { return }
        try session.prepare()
        // Stripes over training: striation statistics of a few fixed probe prompts at every validation.
        var probe: TrainingStriationProbe? = nil
        do { probe = try TrainingStriationProbe(lm: session.lm, system: session.config.system) } catch {
            FileHandle.standardError.write(Data("irm train: striation.csv is not written (\(error))\n".utf8))
        }
        let state = try session.run { s in try probe?.record(session.trainer.net, step: s.step, run: session.run) }
        print(
            "finished: \(state.stopReason ?? "done") at step \(state.step); best validation loss \(state.bestVal.map { String(format: "%.4f", $0) } ?? "-")"
        )
        if heatmaps { print(try drawFinishedRunHeatmaps(session).summary) }
        if let hwm = peakResidentMemory() {
            print(
                String(
                    format: "memory: peak resident %.1f MB (VmHWM); plan %.1f MB", Double(hwm) / 1e6,
                    Double(session.plan.total) / 1e6))
        }
        print(refreshRunReport(session.run))
        print(
            "results: \(session.run.path)/ (config.json, irm-best.safetensors, metrics.csv, striation.csv, samples.txt, heatmaps/, report.html)"
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
        let examples = try loadRunExamples(c)
        c.split = DatasetSplit.make(count: examples.count, seed: c.seed)
        c.datasetHash = datasetContentHash(examples)
        return c
    }
}
