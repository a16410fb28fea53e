// One training run from its settings to its last step, as `irm train` runs it (and a sweep's children, which
// are `irm train` processes, and the tests): three stages, each of which can stop the run before the next costs
// anything.
//
//   init     the config (a new run's, or the run folder's on --resume with the allowed changes noted), the
//            memory plan against what the machine has: nothing heavy is loaded (`plan`, `planShortfall`)
//   prepare  the model's identity (SHA-256), the model, the data (split, tokens), the run folder and its lock,
//            the trainer (from the last checkpoint on --resume), config.json once the checkpoint has loaded
//   run      the trainer to its stop, calling `onValidation` at every validation (e.g. the striation probe)
//
// What a finished run draws (heatmaps, report.html) belongs to Analysis and Reports, which the caller chains.
import Foundation
import Numerics
import ModelIO
import Llama
import IRM

/// Where a session starts.
public enum TrainingStart {
    /// A new run of `config` in `runs`/`config.runName` (the folder must not hold a run yet).
    case new(TrainConfig, runs: String)
    /// The run in folder `path`, from its last checkpoint, with `changes`.
    case resume(path: String, changes: ResumeChanges)
}

/// What `--resume` may change: the learning rate and the clipping (e.g. after a divergence), and the step limit
/// (a new one extends a run, a finished one too when it stopped only at its old limit).
public struct ResumeChanges: Sendable {
    public var lr: Float?
    public var clipNorm: Float?
    public var maxSteps: Int?
    public init(lr: Float? = nil, clipNorm: Float? = nil, maxSteps: Int? = nil) {
        self.lr = lr; self.clipNorm = clipNorm; self.maxSteps = maxSteps
    }
}

public final class TrainingSession {
    public private(set) var config: TrainConfig
    public let run: RunFolder
    public let resuming: Bool
    /// The memory plan for config.seqLen (after `prepare`: for the longest example, when shorter).
    public private(set) var plan: MemoryPlan
    /// Why the plan does not fit, with settings that would ("the run needs … ; try --recompute, or …"); nil if
    /// it fits.
    public let planShortfall: String?
    /// Set by `prepare` (call it before `run`).
    public private(set) var lm: LoadedModel!
    public private(set) var data: RunData!
    public private(set) var trainer: Trainer!

    let model: LlamaConfig, weightBytes: Int, available: Int
    var lock: RunLock?
    /// On --resume, whether config.json changes (a new --lr, --clip or --max-steps).
    var configChanged = false

    /// The config and the memory plan against `available` bytes. On --resume this takes the run's lock.
    public init(_ start: TrainingStart, available: Int = availableMemory()) throws {
        switch start {
        case .new(let c, let runs):
            config = c; run = RunFolder(runs + "/" + c.runName); resuming = false
        case .resume(let path, let changes):
            run = RunFolder(path); resuming = true
            config = try run.readConfig()
            lock = try Self.takeLock(run)
            configChanged = Self.apply(changes, to: &config, run)
        }
        (model, weightBytes) = try LlamaModel.plan(path: config.model, storage: config.storage)
        try config.irm.validate(nLayers: model.nLayers)
        self.available = available
        let c = config
        plan = Self.memoryPlan(c, model, weightBytes, T: c.seqLen, available: available)
        if plan.fits {
            planShortfall = nil
        } else {
            let s = memorySuggestions(
                model: model, weightBytes: weightBytes, irm: c.irm, B: c.batchSize, T: c.seqLen,
                recompute: c.recompute, available: available)
            planShortfall =
                "the run needs \(formatBytes(plan.total)) but \(formatBytes(available)) is available"
                + (s.isEmpty ? "" : "; try " + s.joined(separator: ", or "))
        }
    }

    deinit { lock?.release() }

    /// Loads what the run needs and starts the trainer; `say` gets the lines worth printing.
    public func prepare(say: (String) -> Void = { print($0) }) throws {
        // The model's identity (config.json, the token cache's key), after the plan: a 13 GB file takes a minute.
        if !resuming { config.modelSHA256 = try sha256Hex(ofFile: config.model) }
        lm = try config.loadModel()
        data = try prepareRunData(config, lm: lm)
        if data.dropped > 0 {
            Self.warn("\(data.dropped) examples skipped (prompt longer than --seq-len \(config.seqLen))")
        }
        // The activations are sized for the longest example, which may be shorter than --seq-len.
        if let T = (data.train + data.val).map({ $0.ids.count }).max(), T < config.seqLen {
            plan = Self.memoryPlan(config, model, weightBytes, T: T, available: available)
            say("memory plan for the longest example (\(T) tokens): \(formatBytes(plan.total))")
        }
        if !resuming {
            if config.samplePrompts.isEmpty { config.samplePrompts = data.valPrompts }
            try run.create()
            lock = try Self.takeLock(run)  // before the check: two new runs of one name cannot both pass it
            if FileManager.default.fileExists(atPath: run.configPath) {
                lock?.release(); lock = nil  // the run is another session's
                throw RunError("\(run.path) already holds a run (use --resume, or another --name)")
            }
        }
        say(
            "run: \(run.path)  (\(data.train.count) training / \(data.val.count) validation examples, IRM \(formatCount(config.irm.parameterCount)) parameters)"
        )
        installInterruptHandler()  // Ctrl-C (and the end of a parent sweep) stop the run at a checkpoint
        stopWhenSweepEnds()
        trainer = try Trainer(lm: lm, config: config, run: run, train: data.train, val: data.val, resume: resuming)
        try run.truncateCSV(run.striationPath, afterStep: trainer.state.step)
        if !resuming || configChanged { try run.writeConfig(config) }  // once the checkpoint has loaded
    }

    /// Trains to the run's stop: its limits, its patience, Ctrl-C or the end of a parent sweep.
    public func run(onValidation: ((TrainState) throws -> Void)? = nil) throws -> TrainState {
        try trainer.run(onValidation: onValidation)
    }

    /// The run's lock (one writer per run); a lock left by a killed process is taken over, with a note.
    static func takeLock(_ run: RunFolder) throws -> RunLock {
        let lock = try RunLock.acquire(run)
        if let pid = lock.takenOverFrom { warn("taking over the lock left by process \(pid) (it no longer holds it)") }
        return lock
    }

    /// Applies --resume's changes; a new --lr or --clip is noted in config.json's `changes`. Whether the config
    /// changed.
    static func apply(_ changes: ResumeChanges, to config: inout TrainConfig, _ run: RunFolder) -> Bool {
        var changed = false
        if let m = changes.maxSteps, m != config.maxSteps { config.maxSteps = m; changed = true }
        var adam = config.adam
        if let lr = changes.lr { adam.lr = lr }
        if let clip = changes.clipNorm { adam.clipNorm = clip }
        guard adam != config.adam else { return changed }
        func describe(_ a: AdamConfig) -> String { "--lr \(a.lr)" + (a.clipNorm.map { " --clip \($0)" } ?? "") }
        let note = "from step \(run.lastCheckpointStep ?? 0): \(describe(adam)) (was \(describe(config.adam)))"
        warn("resuming \(note)")
        config.changes = (config.changes ?? []) + [note]
        config.adam = adam
        return true
    }

    /// The plan of config's batch for sequences of T tokens.
    static func memoryPlan(_ c: TrainConfig, _ m: LlamaConfig, _ weightBytes: Int, T: Int, available: Int) -> MemoryPlan
    {
        MemoryPlan.make(
            model: m, weightBytes: weightBytes, irm: c.irm, B: c.batchSize, T: T, recompute: c.recompute,
            available: available)
    }

    static func warn(_ m: String) { FileHandle.standardError.write(Data("irm train: \(m)\n".utf8)) }
}
