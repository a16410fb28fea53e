// `irm sweep --dry-run`: each run's status, steps to go, memory plan and an estimated time from a measured step
// time. One training step (after a warm-up step) is timed for each distinct shape of run (layers, IRM size,
// sequence length, objective) at batch 1 with the threads each job will have, and scaled to the run's batch;
// the sweep's time is the runs' times laid out over the jobs in plan order. Validation and samples are left out
// (a few per cent at one validation per epoch), and so is the slowdown of jobs sharing memory bandwidth.
import Foundation
import Datasets
import Numerics
import Llama
import IRM

/// The settings of a run that decide its cost and memory, read from its options with irm train's defaults.
struct RunShape: Hashable {
    var irm: IRMConfig
    var batch: Int, seqLen: Int, recompute: Bool, objective: Objective

    init(_ r: SweepRun, model c: LlamaConfig) throws {
        let o = r.options
        irm = IRMConfig(hidden: c.dim, layers: try parseLayerSpec(o["layers"] ?? "all", nLayers: c.nLayers))
        irm.widthMultiplier = o["width"].flatMap { Int($0) } ?? irm.widthMultiplier
        irm.depth = o["depth"].flatMap { Int($0) } ?? irm.depth
        batch = o["batch-size"].flatMap { Int($0) } ?? TrainConfig.defaultBatchSize
        seqLen = o["seq-len"].flatMap { Int($0) } ?? TrainConfig.defaultSeqLen
        recompute = o["recompute"] == "true"
        objective = o["objective"].flatMap(Objective.init(rawValue:)) ?? .response
    }
}

public struct SweepEstimate: Sendable {
    public struct Row: Sendable {
        public var name: String, status: SweepRunStatus
        public var fromStep: Int, toStep: Int
        public var memory: MemoryPlan
        public var stepSeconds: Double
        public var seconds: Double { Double(toStep - fromStep) * stepSeconds }
    }
    public var rows: [Row]
    public var jobs: Int, threadsPerJob: Int
    /// The machine's load average while the steps were timed (a shared machine makes them longer).
    public var load: Double?

    /// The sweep's time: each run goes to the job that frees up first, in plan order.
    public var seconds: Double {
        var load = [Double](repeating: 0, count: max(1, jobs))
        for r in rows { load[load.indices.min { load[$0] < load[$1] }!] += r.seconds }
        return load.max()!
    }

    public func report() -> String {
        var s =
            "  #   " + "run".padding(toLength: 24, withPad: " ", startingAt: 0)
            + "status".padding(toLength: 26, withPad: " ", startingAt: 0)
            + "steps        memory      step     time\n"
        for (i, r) in rows.enumerated() {
            let fits = r.memory.fits ? "" : " (does NOT fit)"
            s +=
                "  " + String(i).padding(toLength: 4, withPad: " ", startingAt: 0)
                + r.name.padding(toLength: 24, withPad: " ", startingAt: 0)
                + r.status.description.prefix(25).padding(toLength: 26, withPad: " ", startingAt: 0)
                + "\(r.fromStep)→\(r.toStep)".padding(toLength: 13, withPad: " ", startingAt: 0)
                + formatBytes(r.memory.total).padding(toLength: 12, withPad: " ", startingAt: 0)
                + String(format: "%5.2f s  ", r.stepSeconds) + formatDuration(r.seconds) + fits + "\n"
        }
        let steps = rows.reduce(0) { $0 + $1.toStep - $1.fromStep }
        s +=
            "total: \(steps) steps to go, about \(formatDuration(seconds)) with \(jobs) job\(jobs == 1 ? "" : "s") × \(threadsPerJob) thread"
            + "\(threadsPerJob == 1 ? "" : "s") (step times measured at batch 1, scaled to the batch, "
            + (load.map {
                String(
                    format: "under a load average of %.1f on %d cores; ", $0,
                    ProcessInfo.processInfo.activeProcessorCount)
            } ?? "")
            + "validation not included)\n"
        return s
    }
}

/// Statuses, steps, memory plans and measured step times of `runs` (see the file comment). `model` is the
/// runs' model when their options name none.
public func estimateSweep(
    folder: SweepFolder, runs: [SweepRun], model defaultModel: String, jobs: Int,
    threadsPerJob: Int, datasetsDir: String = "Datasets"
) throws -> SweepEstimate {
    guard let first = runs.first else {
        return SweepEstimate(rows: [], jobs: jobs, threadsPerJob: threadsPerJob, load: nil)
    }
    let path = first.options["model"] ?? defaultModel
    let storage = first.options["dtype"].flatMap(WeightStorage.init(rawValue:)) ?? .auto
    let (mc, weightBytes) = try LlamaModel.plan(path: path, storage: storage)
    let lm = try LoadedModel.load(path: path, tokenizerPath: first.options["tokenizer"], storage: storage)
    let saved = numThreads
    numThreads = threadsPerJob
    defer { numThreads = saved }
    var stepTimes: [RunShape: Double] = [:]
    var rows: [SweepEstimate.Row] = []
    for r in runs {
        let shape = try RunShape(r, model: mc)
        let status = try folder.status(r)
        let from: Int
        switch status {
        case .new, .restart: from = 0
        case .resume(let s), .extend(let s), .finished(let s, _): from = s
        }
        let total: Int
        if case .finished = status {
            total = from
        } else {
            total = try plannedSteps(r, batch: shape.batch, datasetsDir: datasetsDir)
        }
        if stepTimes[shape] == nil { stepTimes[shape] = try measureStep(lm: lm, shape: shape) * Double(shape.batch) }
        let memory = MemoryPlan.make(
            model: mc, weightBytes: weightBytes, irm: shape.irm, B: shape.batch, T: shape.seqLen,
            recompute: shape.recompute)
        rows.append(
            .init(
                name: r.name, status: status, fromStep: from, toStep: max(from, total), memory: memory,
                stepSeconds: stepTimes[shape]!))
    }
    let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)).flatMap {
        $0.split(separator: " ").first.flatMap { Double($0) }
    }
    return SweepEstimate(rows: rows, jobs: jobs, threadsPerJob: threadsPerJob, load: load)
}

/// The steps the run will take at most: its step limit, or its epochs over the training split.
func plannedSteps(_ r: SweepRun, batch: Int, datasetsDir: String) throws -> Int {
    let o = r.options
    var n = try loadExamples(
        path: try resolveDataset(o["dataset"] ?? "", datasetsDir: datasetsDir),
        format: o["format"].flatMap(DatasetFormat.init(rawValue:)), label: o["label"]
    ).count
    if let limit = o["limit"].flatMap({ Int($0) }) { n = min(n, limit) }
    let train = DatasetSplit.make(count: n, seed: o["seed"].flatMap { UInt64($0) } ?? 0).trainIndices.count
    let byEpochs = (train + batch - 1) / batch * (o["epochs"].flatMap { Int($0) } ?? TrainConfig.defaultEpochs)
    return min(byEpochs, r.maxSteps ?? byEpochs)
}

/// Seconds of one training step of `shape` at batch 1 (the second of two: the first pays for first touches).
func measureStep(lm: LoadedModel, shape: RunShape) throws -> Double {
    var c = TrainConfig(
        model: lm.model.path, modelSHA256: "", dataset: "", datasetPath: "", split: .make(count: 1, seed: 0),
        irm: shape.irm, adam: AdamConfig(), runName: "estimate")
    c.batchSize = 1; c.seqLen = shape.seqLen; c.recompute = shape.recompute; c.objective = shape.objective
    let vocab = lm.model.config.vocabSize
    let example = TokenizedExample(ids: (0..<shape.seqLen).map { Int32(($0 * 7919 + 13) % vocab) }, responseStart: 2)
    let trainer = try Trainer(
        lm: lm, config: c, run: RunFolder("/nonexistent"), train: [example], val: [], resume: false)
    let batch = makeBatch([example], padId: 0, objective: shape.objective)
    _ = try trainer.step(batch, lr: 0)
    let t0 = Date()
    _ = try trainer.step(batch, lr: 0)
    return Date().timeIntervalSince(t0)
}
