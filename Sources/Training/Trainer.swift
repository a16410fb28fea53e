// The training loop (Smith et al. §3; README "Where this differs from the reference"): only the IRM's parameters change.
// Per step: forward through the frozen model with the IRM injecting, cross-entropy on the response
// tokens, backward to the lowest injection layer, IRM backward (+ L1), Adam. Validation, samples and
// a checkpoint at each evaluation; early stopping on the validation loss.
import Foundation
import Datasets
import Numerics
import ModelIO
import Llama
import IRM

public final class Trainer {
    public let lm: LoadedModel
    public let config: TrainConfig
    public let run: RunFolder
    let train: [TokenizedExample], val: [TokenizedExample]
    public let net: IRMNetwork
    let adam: Adam
    let injector: IRMInjector
    let arena: TrainingArena
    public private(set) var state = TrainState()
    /// The step of the last committed checkpoint (nil before the first).
    public private(set) var checkpointStep: Int?
    let padId: Int32
    let progress = ProgressLine()
    /// Lines printed at each validation (besides the progress bar).
    public var verbose = true

    public var stepsPerEpoch: Int { (train.count + config.batchSize - 1) / config.batchSize }
    public var totalSteps: Int {
        let byEpochs = stepsPerEpoch * config.epochs
        return config.maxSteps.map { min($0, byEpochs) } ?? byEpochs
    }

    public init(
        lm: LoadedModel, config: TrainConfig, run: RunFolder, train: [TokenizedExample], val: [TokenizedExample],
        resume: Bool
    ) throws {
        self.lm = lm; self.config = config; self.run = run; self.train = train; self.val = val
        guard !train.isEmpty else { throw RunError("\(config.dataset): no training examples after the split") }
        // A resumed config.json may describe an IRM for another model: refuse before allocating it.
        do { try config.irm.validate(nLayers: lm.model.config.nLayers, hidden: lm.model.config.dim) } catch {
            throw FileError(run.configPath, "\(error)")
        }
        net = IRMNetwork(config: config.irm, seed: config.seed)
        adam = Adam(config: config.adam, count: net.params.count)
        let maxT = max(train.map { $0.ids.count }.max()!, val.map { $0.ids.count }.max() ?? 1)
        arena = TrainingArena(config: lm.model.config, B: config.batchSize, T: maxT, recompute: config.recompute)
        injector = IRMInjector(net: net, capacity: config.batchSize * maxT)
        padId = lm.tokenizer.eosId ?? 0
        state.rng = Rng(seed: config.seed).state
        if resume {
            // The caller holds the run's lock: nothing else writes the folder while stale files go.
            if let s = try run.loadCheckpoint(net: net, adam: adam) { state = s; checkpointStep = s.step }
            guard state.batchInEpoch < stepsPerEpoch else {
                throw RunError(
                    "\(run.path): corrupted checkpoint (batch \(state.batchInEpoch) of an epoch of \(stepsPerEpoch))")
            }
            run.removeStaleFiles()
            try run.truncateRecords(afterStep: state.step)
            // A run that stopped only at its step limit continues when the limit was raised (--max-steps N).
            if state.finished && state.stoppedAtStepLimit(config) && state.step < totalSteps {
                state.finished = false
                state.stopReason = nil
            }
        }
    }

    // MARK: one step

    /// Forward + backward + update on one batch; returns (mean cross-entropy, L1 penalty).
    func step(_ batch: Batch, lr: Float) throws -> (Double, Double) {
        let model = lm.model
        arena.setShape(B: batch.B, T: batch.T)
        try model.trainingForward(batch.tokens, arena: arena, intervention: injector)
        net.zeroGrad()
        injector.zeroOutputGradient()
        // With --recompute the backward replays each layer through the injector (it re-injects its output).
        let loss = model.trainingBackward(
            targets: batch.targets, arena: arena, receiver: injector,
            stopLayer: config.irm.layers.min()!, intervention: injector)
        let l1 = injector.addL1(rowMask: batch.rowMask)
        injector.backward()
        adam.update(params: net.params, grads: net.grads, lr: lr)
        return (loss.mean, l1)
    }

    /// Mean cross-entropy over the validation examples, with the IRM injecting (or not).
    public func validationLoss(withIRM: Bool = true) throws -> Double {
        injector.strength = withIRM ? 1 : 0
        defer { injector.strength = 1 }
        return try responseLoss(
            model: lm.model, examples: val, batchSize: config.batchSize, padId: padId, arena: arena,
            intervention: injector, objective: config.trainingObjective
        ).mean
    }

    // MARK: the loop

    public func run(onValidation: ((TrainState) throws -> Void)? = nil) throws -> TrainState {
        if state.finished {
            progress.message("run already finished (\(state.stopReason ?? "done")) at step \(state.step)"); return state
        }
        if verbose { progress.message("kernels: \(kernelPathDescription)") }
        if state.step == 0 && !val.isEmpty && verbose {
            let v0 = try validationLoss(withIRM: false)
            progress.message(String(format: "validation loss without the IRM: %.4f (perplexity %.2f)", v0, exp(v0)))
        }
        let start = Date(), startStep = state.step
        var recentTokens = 0, recentTime = 0.0, lastVal = state.bestVal
        let evalEvery = config.evalEvery ?? stepsPerEpoch
        while !state.finished && state.epoch < config.epochs && state.step < totalSteps {
            let order = epochOrder(count: train.count, seed: config.seed, epoch: state.epoch)
            let lr = config.adam.learningRate(epoch: state.epoch)
            while state.batchInEpoch < stepsPerEpoch && state.step < totalSteps {
                let lo = state.batchInEpoch * config.batchSize
                let batch = makeBatch(
                    order[lo..<min(train.count, lo + config.batchSize)].map { train[$0] }, padId: padId,
                    objective: config.trainingObjective)
                let t0 = Date()
                let (loss, l1) = try step(batch, lr: lr)
                let dt = Date().timeIntervalSince(t0)
                try checkFinite(loss: loss + l1, step: state.step + 1)
                state.step += 1
                state.batchInEpoch += 1
                let endOfEpoch = state.batchInEpoch == stepsPerEpoch
                if endOfEpoch { state.epoch += 1; state.batchInEpoch = 0 }
                recentTokens += batch.realTokens; recentTime += dt
                let tps = Double(recentTokens) / max(recentTime, 1e-9)
                if recentTime > 20 { recentTokens /= 2; recentTime /= 2 }

                var v: Double? = nil
                let evalDue = state.step % evalEvery == 0 || endOfEpoch || state.step == totalSteps
                if evalDue {
                    v = try evaluate()
                    lastVal = v ?? lastVal
                }
                // The row goes in before the checkpoint that contains its step: a resume from an older
                // checkpoint drops it (truncateRecords), one from this checkpoint keeps it.
                try run.appendMetrics(
                    MetricsCSV.line(
                        step: state.step, epoch: endOfEpoch ? state.epoch - 1 : state.epoch, trainLoss: loss,
                        valLoss: v, lr: lr, tokensPerSecond: tps))
                if state.step == totalSteps { markFinished() }  // so that the last checkpoint is the final one
                if evalDue { try checkpoint() }
                if v != nil { try onValidation?(state) }
                let elapsed = Date().timeIntervalSince(start)
                let eta = elapsed / Double(state.step - startStep) * Double(totalSteps - state.step)
                progress.update(
                    "step \(state.step)/\(totalSteps) epoch \(min(state.epoch + 1, config.epochs)) loss \(fmt(loss))"
                        + (l1 > 0 ? " l1 \(fmt(l1))" : "") + " val \(lastVal.map(fmt) ?? "-")"
                        + " \(Int(tps)) tok/s ETA \(formatDuration(eta))")
                if interruptRequested != 0 {
                    try checkpoint()
                    progress.finish()
                    throw RunError(
                        "interrupted at step \(state.step); checkpoint saved, continue with: irm train --resume \(run.path)"
                    )
                }
                if state.finished || endOfEpoch { break }
            }
        }
        if !state.finished {
            markFinished()
            try checkpoint()
        }
        if !FileManager.default.fileExists(atPath: run.bestWeightsPath) { try net.save(path: run.bestWeightsPath) }
        progress.finish()
        return state
    }

    func markFinished() {
        guard !state.finished else { return }
        state.finished = true
        state.stopReason = config.maxSteps.map { state.step >= $0 } == true ? "max steps" : "epochs done"
    }

    func checkpoint() throws {
        try run.saveCheckpoint(net: net, adam: adam, state: state)
        checkpointStep = state.step
    }

    /// A non-finite loss or gradient stops the run. The weights in memory are lost (the update has been
    /// applied), but nothing has been written from them: the last checkpoint is the last good state.
    func checkFinite(loss: Double, step n: Int) throws {
        var what = loss.isFinite ? nil : "loss \(loss.isNaN ? "nan" : "\(loss)")"
        if what == nil {
            let g = net.grads
            for i in 0..<g.count where !g[i].isFinite { what = "a non-finite gradient"; break }
        }
        guard let what else { return }
        throw diverged(step: n, what)
    }

    func diverged(step n: Int, _ what: String) -> RunError {
        let lr = config.adam.lr
        let kept =
            checkpointStep.map { "the last good checkpoint (step \($0)) is kept" }
            ?? "no checkpoint yet (a resume starts at step 0)"
        return RunError(
            "training diverged at step \(n) (\(what)); \(kept): continue with a lower --lr (now \(lr)) or --clip, "
                + "e.g. irm train --resume \(run.path) --lr \(lr / 10) --clip 1")
    }

    /// Validation, early-stopping bookkeeping, samples (the caller checkpoints).
    func evaluate() throws -> Double? {
        guard !val.isEmpty else { return nil }
        let v = try validationLoss()
        guard v.isFinite else { throw diverged(step: state.step, "validation loss \(v.isNaN ? "nan" : "\(v)")") }
        if state.bestVal == nil || v < state.bestVal! - 1e-6 {
            state.bestVal = v
            state.badEvals = 0
            try net.save(path: run.bestWeightsPath, extraMetadata: ["step": String(state.step), "val_loss": fmt(v)])
        } else {
            state.badEvals += 1
            if state.badEvals >= config.patience {
                state.finished = true
                state.stopReason = "early stopping (no improvement in \(config.patience) validations)"
            }
        }
        if verbose {
            progress.message(
                String(
                    format: "step %d: validation loss %.4f (perplexity %.2f)%@", state.step, v, exp(v),
                    state.badEvals == 0 ? " *best*" : ""))
        }
        try writeSamples(valLoss: v)
        return v
    }

    func writeSamples(valLoss: Double) throws {
        guard !config.samplePrompts.isEmpty, config.sampleTokens > 0 else { return }
        var text = "== step \(state.step) (epoch \(state.epoch)), validation loss \(fmt(valLoss)) ==\n"
        for p in config.samplePrompts {
            let ids = lm.promptTokens(p, chat: true, system: config.system)
            text += "Q: \(p)\n"
            for (label, on) in [("with IRM", true), ("without", false)] {
                var sampler = Sampler(SamplingParams())
                let out = try lm.model.generate(
                    prompt: ids, maxTokens: config.sampleTokens, sampler: &sampler,
                    intervention: on ? injector : nil,
                    isStop: { self.lm.tokenizer.isEndOfGeneration($0) })
                let s = lm.tokenizer.decode(out.filter { !lm.tokenizer.isEndOfGeneration($0) }, skipSpecial: true)
                text += "  [\(label)] \(s.replacingOccurrences(of: "\n", with: " "))\n"
            }
        }
        try run.appendSamples(text + "\n")
    }
}

/// Cross-entropy on the targets of `examples` under `objective` (the training loss, no L1; for ours, the response
/// tokens), in batches of `batchSize` through `arena` (sized for at least that batch and the longest example),
/// with `intervention` injecting.
public func responseLoss(
    model: LlamaModel, examples: [TokenizedExample], batchSize: Int, padId: Int32,
    arena: TrainingArena, intervention: Intervention?, objective: Objective = .response
) throws -> LossResult {
    var total = LossResult()
    var i = 0
    while i < examples.count {
        let b = makeBatch(Array(examples[i..<min(examples.count, i + batchSize)]), padId: padId, objective: objective)
        arena.setShape(B: b.B, T: b.T)
        try model.trainingForward(b.tokens, arena: arena, intervention: intervention)
        let r = model.trainingLoss(targets: b.targets, arena: arena)
        total.sum += r.sum; total.count += r.count; total.entropySum += r.entropySum
        i += batchSize
    }
    return total
}

func fmt(_ x: Double) -> String { String(format: "%.4f", x) }
