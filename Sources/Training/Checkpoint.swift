// Checkpoints: the IRM weights and the optimiser and loop state of one step, committed together.
//
// A checkpoint is a generation G of two files, checkpoint-G.irm.safetensors (the weights) and
// checkpoint-G.optimizer.safetensors (Adam state and TrainState), and it exists once checkpoint.json names
// G. The commit: both files are written (each to a temporary name, fsync'ed, renamed, the folder fsync'ed),
// then checkpoint.json the same way, and only then are the files of generation G-1 deleted. A kill at any
// instant therefore leaves checkpoint.json naming a complete pair from one step, and because every rename
// is made durable (file and folder fsync) before the next one starts, so does a power cut. Files of a
// generation that was never committed are deleted at the next resume.
//
// Runs written before this layout (irm.safetensors + optimizer.safetensors, no checkpoint.json) are
// still resumed; their two files are deleted with the first generation committed after them.
import Foundation
import Datasets
import Numerics
import ModelIO
import IRM

/// Where the loop is: enough to continue exactly where it stopped.
public struct TrainState: Codable, Sendable, Equatable {
    public var step = 0  // optimiser steps taken
    public var epoch = 0  // current epoch (0-based)
    public var batchInEpoch = 0  // batches of this epoch already taken
    public var bestVal: Double? = nil
    public var badEvals = 0  // validations since the best one
    public var rng: [UInt64] = []  // the sampling RNG (samples.txt)
    public var finished = false
    public var stopReason: String? = nil
    public init() {}

    /// Whether the loop stopped (or would stop) only because of `config.maxSteps`: neither early stopping nor the
    /// last epoch ended it, so a higher step limit lets it go on.
    public func stoppedAtStepLimit(_ config: TrainConfig) -> Bool {
        badEvals < config.patience && epoch < config.epochs
    }
}

/// checkpoint.json: the committed generation. The sizes catch a file cut short behind our back.
struct CheckpointManifest: Codable {
    var format = 1
    var generation: Int
    var step: Int
    var weightsBytes: Int
    var optimizerBytes: Int
}

extension RunFolder {
    public var manifestPath: String { path + "/checkpoint.json" }
    func checkpointPath(_ generation: Int, _ part: String) -> String {
        path + "/checkpoint-" + String(format: "%06d", generation) + "." + part + ".safetensors"
    }
    /// The pair of the layout before generations.
    var legacyWeightsPath: String { path + "/irm.safetensors" }
    var legacyOptimizerPath: String { path + "/optimizer.safetensors" }

    /// The weights of the last committed checkpoint, if there is one.
    public var lastWeightsPath: String? {
        if let m = try? readManifest() { return checkpointPath(m.generation, "irm") }
        return FileManager.default.fileExists(atPath: legacyWeightsPath) ? legacyWeightsPath : nil
    }

    /// The optimiser state (and loop state) of the last committed checkpoint, if there is one.
    public var lastOptimizerPath: String? {
        if let m = try? readManifest() { return checkpointPath(m.generation, "optimizer") }
        return FileManager.default.fileExists(atPath: legacyOptimizerPath) ? legacyOptimizerPath : nil
    }

    /// The committed checkpoint's step, if there is one.
    public var lastCheckpointStep: Int? { (try? readManifest())?.step }

    func readManifest() throws -> CheckpointManifest? {
        guard let data = FileManager.default.contents(atPath: manifestPath) else { return nil }
        guard let m = try? JSONDecoder().decode(CheckpointManifest.self, from: data), m.format == 1,
            m.generation >= 0, m.step >= 0, m.weightsBytes > 0, m.optimizerBytes > 0
        else {
            throw FileError(manifestPath, "corrupted checkpoint (not a valid checkpoint manifest)")
        }
        return m
    }

    /// Commits a new generation with the state of `net`, `adam` and `state`.
    public func saveCheckpoint(net: IRMNetwork, adam: Adam, state: TrainState) throws {
        let g = ((try? readManifest())?.generation ?? -1) + 1
        let w = checkpointPath(g, "irm"), o = checkpointPath(g, "optimizer")
        do {
            try net.save(path: w, extraMetadata: ["step": String(state.step)])
            let js = String(decoding: try encodeJSON(state, .compact), as: UTF8.self)
            try withExtendedLifetime(adam) {
                try writeSafetensors(
                    path: o,
                    rawTensors: [
                        (
                            "adam.m", .f32, [adam.m.count],
                            UnsafeRawBufferPointer(start: adam.m.ptr, count: 4 * adam.m.count)
                        ),
                        (
                            "adam.v", .f32, [adam.v.count],
                            UnsafeRawBufferPointer(start: adam.v.ptr, count: 4 * adam.v.count)
                        )
                    ], metadata: ["train_state": js, "adam_step": String(adam.step), "step": String(state.step)])
            }
            let m = CheckpointManifest(
                generation: g, step: state.step, weightsBytes: fileSize(w), optimizerBytes: fileSize(o))
            try writeJSONFile(m, to: manifestPath, .compact)
        } catch {
            // Not committed: the new pair goes, the previous generation stays. (If only the folder sync after
            // the manifest's rename failed, the manifest names G already and its files must stay.)
            if (try? readManifest())?.generation != g { unlink(w); unlink(o) }
            throw error
        }
        removeUncommittedCheckpoints(keeping: g)
    }

    /// Deletes every checkpoint file but generation `keep`'s (older generations, uncommitted ones, the
    /// layout before generations).
    func removeUncommittedCheckpoints(keeping keep: Int) {
        let mine = [checkpointPath(keep, "irm"), checkpointPath(keep, "optimizer")].map {
            ($0 as NSString).lastPathComponent
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        where name.hasPrefix("checkpoint-") && name.hasSuffix(".safetensors") && !mine.contains(name) {
            unlink(path + "/" + name)
        }
        unlink(legacyWeightsPath); unlink(legacyOptimizerPath)
    }

    /// On resume, before anything is written: temporary files of killed writers and checkpoint files that
    /// were never committed go.
    public func removeStaleFiles() {
        removeStaleTemporaryFiles(in: path)
        removeStaleTemporaryFiles(in: heatmapDir)
        if let m = try? readManifest() { removeUncommittedCheckpoints(keeping: m.generation) }
    }

    /// Loads the last committed checkpoint into `net` and `adam` and returns its loop state; nil when the
    /// run has none yet (it was stopped before its first checkpoint, so it starts over).
    public func loadCheckpoint(net: IRMNetwork, adam: Adam) throws -> TrainState? {
        let fm = FileManager.default
        let weights: String, optimizer: String
        if let m = try readManifest() {
            weights = checkpointPath(m.generation, "irm"); optimizer = checkpointPath(m.generation, "optimizer")
            for (p, n) in [(weights, m.weightsBytes), (optimizer, m.optimizerBytes)] {
                guard fm.fileExists(atPath: p) else {
                    throw FileError(p, "corrupted checkpoint (missing; \(manifestPath) names it)")
                }
                guard fileSize(p) == n else {
                    throw FileError(p, "corrupted checkpoint (\(fileSize(p)) bytes, \(manifestPath) says \(n))")
                }
            }
        } else {
            let hasW = fm.fileExists(atPath: legacyWeightsPath), hasO = fm.fileExists(atPath: legacyOptimizerPath)
            if !hasW && !hasO { return nil }
            guard hasW && hasO else {
                throw FileError(path, "corrupted checkpoint (irm.safetensors and optimizer.safetensors are needed)")
            }
            weights = legacyWeightsPath; optimizer = legacyOptimizerPath
        }
        let (opt, state) = try readOptimizerState(optimizer)
        guard let adamStep = opt.metadata["adam_step"].flatMap(Int.init), adamStep >= 0,
            let m = opt.tensors["adam.m"], let v = opt.tensors["adam.v"]
        else {
            throw FileError(optimizer, "corrupted checkpoint (missing optimiser state)")
        }
        guard state.step >= 0, state.epoch >= 0, state.batchInEpoch >= 0, state.badEvals >= 0, adamStep >= 0,
            state.bestVal?.isFinite ?? true
        else {
            throw FileError(optimizer, "corrupted checkpoint (negative counters or a non-finite best loss)")
        }
        guard m.shape == [adam.m.count], v.shape == [adam.v.count], m.type == .f32, v.type == .f32 else {
            throw RunError(
                "\(optimizer): corrupted checkpoint (optimiser state does not match the IRM's \(adam.m.count) parameters)"
            )
        }
        let w: SafetensorsFile
        do { w = try SafetensorsFile(path: weights) } catch { throw RunError("corrupted checkpoint: \(error)") }
        let weightsStep = w.metadata["step"].flatMap(Int.init)
        guard weightsStep == state.step else {
            throw RunError(
                "\(path): corrupted checkpoint (weights are from step \(weightsStep.map(String.init) ?? "?"), optimiser state from step \(state.step))"
            )
        }
        // Read in place: a resume needs no memory beyond the training itself.
        do { try net.loadWeights(w) } catch { throw RunError("corrupted checkpoint: \(error)") }
        try opt.readFloats(m, into: adam.m.ptr)
        try opt.readFloats(v, into: adam.v.ptr)
        adam.restore(step: adamStep)
        for i in 0..<adam.m.count where !adam.m[i].isFinite || !adam.v[i].isFinite {
            throw FileError(optimizer, "corrupted checkpoint (non-finite optimiser state)")
        }
        return state
    }

    /// The loop state of the last checkpoint without loading any weights (where a sweep's run stands); nil when
    /// the run has no checkpoint yet.
    public func checkpointState() throws -> TrainState? {
        guard let optimizer = lastOptimizerPath else { return nil }
        return try readOptimizerState(optimizer).1
    }

    /// The optimiser file of a checkpoint and the loop state in its metadata.
    func readOptimizerState(_ path: String) throws -> (SafetensorsFile, TrainState) {
        let opt: SafetensorsFile
        do { opt = try SafetensorsFile(path: path) } catch { throw RunError("corrupted checkpoint: \(error)") }
        guard let js = opt.metadata["train_state"],
            let state = try? JSONDecoder().decode(TrainState.self, from: Data(js.utf8))
        else {
            throw FileError(path, "corrupted checkpoint (missing optimiser state)")
        }
        return (opt, state)
    }
}

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : -1
}
