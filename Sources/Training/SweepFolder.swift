// A sweep folder, Runs/sweeps/<name>/:
//   plan.json            the runs in order (name and `irm train` options); a SLURM array task's index picks one
//   <run>/               one run folder per run (RunFolder.swift), named by its settings
//   logs/<run>.log       the output of every `irm train` of the run, appended
//   logs/slurm-*.out     SLURM's own output per array task (the script from `--emit-slurm`)
//   .locks/<run>         held (flock) while a process trains the run; holds that process's id
//
// Where each run stands is read from its folder alone, so a sweep started again (or a requeued SLURM task)
// skips finished runs, resumes interrupted ones and extends those whose step limit was raised.
import Foundation
import ModelIO
import Llama

/// plan.json.
public struct SweepFile: Codable, Equatable, Sendable {
    public var version = 1
    /// Where the runs came from: "paper" or the plan file's path.
    public var source: String
    public var runs: [SweepRun]
    public init(source: String, runs: [SweepRun]) { self.source = source; self.runs = runs }
}

public enum SweepRunStatus: Equatable, Sendable {
    case new
    /// A folder whose run stopped before its first checkpoint: it starts again from step 0.
    case restart
    case resume(step: Int)
    /// Finished at its step limit, which the plan has raised.
    case extend(step: Int)
    case finished(step: Int, reason: String)

    public var description: String {
        switch self {
        case .new: "new"
        case .restart: "new (the earlier attempt stopped before its first checkpoint)"
        case .resume(let s): "resume at step \(s)"
        case .extend(let s): "extend from step \(s)"
        case .finished(let s, let r): "finished at step \(s) (\(r))"
        }
    }
}

public struct SweepFolder: Sendable {
    public let path: String
    public init(_ path: String) { self.path = path }

    public var planPath: String { path + "/plan.json" }
    public var logsDir: String { path + "/logs" }
    var locksDir: String { path + "/.locks" }
    public func runFolder(_ r: SweepRun) -> RunFolder { RunFolder(path + "/" + r.name) }
    public func logPath(_ r: SweepRun) -> String { logsDir + "/" + r.name + ".log" }

    public func readPlan() throws -> SweepFile {
        guard let data = FileManager.default.contents(atPath: planPath) else {
            throw FileError(path, "not a sweep folder (no plan.json)")
        }
        let f: SweepFile
        do { f = try JSONDecoder().decode(SweepFile.self, from: data) } catch {
            throw FileError(planPath, "not a valid sweep plan (\(oneLineDescription(error)))")
        }
        for r in f.runs where r.name.isEmpty || r.name.contains("/") || r.name.hasPrefix(".") {
            throw FileError(planPath, "run name '\(r.name)' is not a plain folder name")
        }
        return f
    }

    /// Writes plan.json, or checks that the one already there describes the same runs (step limits aside) and
    /// records the new step limits; a run without one keeps the limit it had. Returns what plan.json now holds.
    @discardableResult
    public func record(_ plan: SweepFile) throws -> SweepFile {
        let plan = try merged(plan)
        if FileManager.default.fileExists(atPath: planPath), try readPlan() == plan { return plan }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw RunError("\(path): cannot create the sweep folder (\(error.localizedDescription))")
        }
        try writeJSONFile(plan, to: planPath)
        return plan
    }

    /// `plan` checked against plan.json (when there is one) and given its step limits where it has none.
    public func merged(_ plan: SweepFile) throws -> SweepFile {
        var plan = plan
        if FileManager.default.fileExists(atPath: planPath) {
            let old = try readPlan()
            func settings(_ r: SweepRun) -> [String: String] { r.options.filter { $0.key != "max-steps" } }
            guard old.runs.map(\.name) == plan.runs.map(\.name) else {
                throw RunError(
                    "\(planPath): the sweep holds other runs (\(old.runs.count): \(old.runs.prefix(3).map(\.name).joined(separator: ", "))…); "
                        + "use another --name, or --dir \(path) to continue it")
            }
            for (o, n) in zip(old.runs, plan.runs) where settings(o) != settings(n) {
                let k = Set(settings(o).keys).union(settings(n).keys).sorted().first {
                    settings(o)[$0] != settings(n)[$0]
                }!
                throw RunError(
                    "\(planPath): run \(n.name) was planned with --\(k) \(settings(o)[k] ?? "(unset)"), now \(settings(n)[k] ?? "(unset)"); "
                        + "use another --name, or --dir \(path) to continue it")
            }
            for i in plan.runs.indices where plan.runs[i].options["max-steps"] == nil {
                plan.runs[i].options["max-steps"] = old.runs[i].options["max-steps"]
            }
        }
        return plan
    }

    // MARK: where a run stands

    public func status(_ r: SweepRun) throws -> SweepRunStatus {
        let run = runFolder(r)
        guard FileManager.default.fileExists(atPath: run.configPath) else { return .new }
        guard let state = try run.checkpointState() else { return .restart }
        let config = try run.readConfig()
        let target = r.maxSteps ?? config.maxSteps
        if !state.finished { return .resume(step: state.step) }
        if let t = target, t > state.step, state.stoppedAtStepLimit(config) { return .extend(step: state.step) }
        return .finished(step: state.step, reason: state.stopReason ?? "done")
    }

    /// Empties the folder of a run that stopped before its first checkpoint, so that it can start again. Only
    /// what such a run writes is removed (config.json, metrics.csv, samples.txt, striation.csv, irm-best, its lock, the
    /// files of a checkpoint that checkpoint.json never committed, temporary files); anything else makes it an
    /// error rather than a deletion.
    public func clearUnstarted(_ r: SweepRun) throws {
        let run = runFolder(r), fm = FileManager.default
        let files = (try? fm.contentsOfDirectory(atPath: run.path)) ?? []
        let known: Set<String> = [
            "config.json", "metrics.csv", "samples.txt", "striation.csv", "irm-best.safetensors", "lock"
        ]
        func written(_ f: String) -> Bool {
            known.contains(f) || (f.hasPrefix(".") && f.contains(".tmp-"))
                || (f.hasPrefix("checkpoint-") && f.hasSuffix(".safetensors"))
        }
        if let other = files.first(where: { !written($0) }) {
            throw RunError("\(run.path): has no checkpoint but holds \(other); move it away to start the run again")
        }
        for f in files { try fm.removeItem(atPath: run.path + "/" + f) }
    }

    // MARK: one process per run

    /// Takes the run's lock (nil when another process holds it; `holder` then names that process).
    public func lock(_ r: SweepRun) throws -> SweepLock? {
        do { try FileManager.default.createDirectory(atPath: locksDir, withIntermediateDirectories: true) } catch {
            throw RunError("\(locksDir): cannot create (\(error.localizedDescription))")
        }
        return try SweepLock(path: locksDir + "/" + r.name)
    }

    public func lockHolder(_ r: SweepRun) -> Int32? {
        (try? String(contentsOfFile: locksDir + "/" + r.name, encoding: .utf8)).flatMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}

/// An exclusive flock on a file that records the id of the process doing the work. The kernel releases it when
/// the holder dies, however it dies.
public final class SweepLock: @unchecked Sendable {
    let fd: Int32
    let path: String

    init?(path: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RunError("\(path): cannot open the lock file (\(String(cString: strerror(errno))))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { close(fd); return nil }
    }

    /// The process id that holds the run (the sweep, then its `irm train`), for `lockHolder` and for a later
    /// sweep to wait for an orphaned run.
    public func record(pid: Int32) {
        let s = Array("\(pid)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = s.withUnsafeBytes { pwrite(fd, $0.baseAddress!, s.count, 0) }
    }

    /// The pid recorded by the previous holder.
    public var previousHolder: Int32? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, 32, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    public func release() { close(fd) }
}

// MARK: opening a sweep

/// What `irm sweep` was asked for: a plan (`paper` or a file) to expand into Runs/sweeps/<name>, or an existing
/// sweep folder to continue.
public struct SweepRequest: Sendable {
    public var plan: String?
    public var dir: String?
    public var name: String?
    public var sweepsDir = "Runs/sweeps"
    /// --steps: the step limit of every run.
    public var steps: Int?
    /// Common `irm train` options added to the plan (--set, --model).
    public var options: [String: String] = [:]
    /// The model whose depth scales the plan when the options name none (irm train's default).
    public var defaultModel: String
    public init(defaultModel: String) { self.defaultModel = defaultModel }
}

/// The sweep's folder and its runs; plan.json is written (or checked against the runs) unless `write` is false.
public func openSweep(_ q: SweepRequest, kinds: TrainOptionKinds, write: Bool = true) throws -> (SweepFolder, SweepFile)
{
    var file: SweepFile, folder: SweepFolder
    if let dir = q.dir {
        guard q.plan == nil, q.name == nil, q.options.isEmpty else {
            throw RunError(
                "irm sweep: --dir continues a sweep as planned; --plan, --name, --set and --model do not apply")
        }
        folder = SweepFolder(dir)
        file = try folder.readPlan()
    } else {
        guard let source = q.plan else {
            throw RunError("irm sweep: --plan paper|FILE.json (or --dir SWEEP) is required")
        }
        let model = q.options["model"] ?? q.defaultModel
        let (mc, _) = try LlamaModel.plan(path: model)
        var plan =
            source == "paper"
            ? SweepPlan.paper(nLayers: mc.nLayers, hidden: mc.dim, options: q.options)
            : try SweepPlan.load(path: source)
        if source != "paper" { plan.options.merge(q.options) { $1 } }
        if q.steps != nil, plan.axes.contains(where: { $0.contains { $0["max-steps"] != nil } }) {
            throw RunError("\(source): the plan varies max-steps between runs; --steps would override it")
        }
        let name =
            q.name
            ?? (source == "paper"
                ? "paper" : ((source as NSString).lastPathComponent as NSString).deletingPathExtension)
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw RunError("irm sweep: --name '\(name)' must be a plain folder name")
        }
        folder = SweepFolder(q.sweepsDir + "/" + name)
        file = SweepFile(source: source, runs: try plan.expand(nLayers: mc.nLayers, kinds: kinds, source: source))
    }
    if let s = q.steps { for i in file.runs.indices { file.runs[i].options["max-steps"] = String(s) } }
    return (folder, write ? try folder.record(file) : try folder.merged(file))
}
