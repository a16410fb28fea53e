// Checkpoints: the IRM weights (irm.safetensors) and the optimiser and loop state (optimizer.safetensors),
// each written atomically. Both carry the step they belong to; a resume checks that they agree.
import Foundation
import Datasets
import Numerics
import ModelIO
import IRM

/// Where the loop is: enough to continue exactly where it stopped.
public struct TrainState: Codable, Sendable, Equatable {
    public var step = 0               // optimiser steps taken
    public var epoch = 0              // current epoch (0-based)
    public var batchInEpoch = 0       // batches of this epoch already taken
    public var bestVal: Double? = nil
    public var badEvals = 0           // validations since the best one
    public var rng: [UInt64] = []     // the sampling RNG (samples.txt)
    public var finished = false
    public var stopReason: String? = nil
    public init() {}

    /// Whether the loop stopped (or would stop) only because of `config.maxSteps`: neither early stopping nor the
    /// last epoch ended it, so a higher step limit lets it go on.
    public func stoppedAtStepLimit(_ config: TrainConfig) -> Bool {
        badEvals < config.patience && epoch < config.epochs
    }
}

extension RunFolder {
    public func saveCheckpoint(net: IRMNetwork, adam: Adam, state: TrainState) throws {
        let js = String(decoding: try sortedJSONEncoder().encode(state), as: UTF8.self)
        try writeSafetensors(path: optimizerPath,
                             floatTensors: [("adam.m", [adam.m.count], adam.m.array), ("adam.v", [adam.v.count], adam.v.array)],
                             metadata: ["train_state": js, "adam_step": String(adam.step), "step": String(state.step)])
        try net.save(path: weightsPath, extraMetadata: ["step": String(state.step)])
    }

    /// Loads the last checkpoint into `net` and `adam`; returns the loop state.
    public func loadCheckpoint(net: IRMNetwork, adam: Adam) throws -> TrainState {
        guard FileManager.default.fileExists(atPath: optimizerPath), FileManager.default.fileExists(atPath: weightsPath) else {
            throw RunError("\(path): no checkpoint to resume (irm.safetensors and optimizer.safetensors are needed)")
        }
        let (opt, state) = try readOptimizerState()
        guard let adamStep = opt.metadata["adam_step"].flatMap(Int.init),
              let m = opt.tensors["adam.m"], let v = opt.tensors["adam.v"] else {
            throw RunError("\(optimizerPath): corrupted checkpoint (missing optimiser state)")
        }
        guard m.shape == [adam.m.count], v.shape == [adam.v.count], m.type == .f32, v.type == .f32 else {
            throw RunError("\(optimizerPath): corrupted checkpoint (optimiser state does not match the IRM's \(adam.m.count) parameters)")
        }
        let saved: IRMNetwork
        do { saved = try IRMNetwork.load(path: weightsPath, config: net.config) }
        catch { throw RunError("corrupted checkpoint: \(error)") }
        let weightsStep = (try? SafetensorsFile(path: weightsPath))?.metadata["step"].flatMap(Int.init)
        guard weightsStep == state.step else {
            throw RunError("\(path): corrupted checkpoint (weights are from step \(weightsStep.map(String.init) ?? "?"), optimiser state from step \(state.step))")
        }
        net.params.ptr.update(from: saved.params.ptr, count: net.params.count)
        adam.restore(m: try dequantize(m).array, v: try dequantize(v).array, step: adamStep)
        for i in 0..<adam.m.count where !adam.m[i].isFinite || !adam.v[i].isFinite {
            throw RunError("\(optimizerPath): corrupted checkpoint (non-finite optimiser state)")
        }
        return state
    }

    /// The loop state of the last checkpoint without loading any weights (where a sweep's run stands); nil when
    /// the run has no checkpoint yet.
    public func checkpointState() throws -> TrainState? {
        guard FileManager.default.fileExists(atPath: optimizerPath) else { return nil }
        return try readOptimizerState().1
    }

    func readOptimizerState() throws -> (SafetensorsFile, TrainState) {
        let opt: SafetensorsFile
        do { opt = try SafetensorsFile(path: optimizerPath) } catch { throw RunError("corrupted checkpoint: \(error)") }
        guard let js = opt.metadata["train_state"], let state = try? JSONDecoder().decode(TrainState.self, from: Data(js.utf8)) else {
            throw RunError("\(optimizerPath): corrupted checkpoint (missing optimiser state)")
        }
        return (opt, state)
    }
}
