// Runs a sweep's runs as `irm train` child processes of the same binary, `jobs` at a time with the cores split
// between them. A crash of one run never takes the sweep down, and moving an interrupted or finished run on is
// `irm train --resume` (SweepFolder.status). Each child's output goes to logs/<run>.log; the sweep prints one
// line per event and, every `progressEvery` seconds, each running run's last progress line.
//
// Signals: Ctrl-C reaches the whole foreground group, so the runs checkpoint and stop by themselves; SIGTERM
// to the sweep is passed on to its runs. A run whose sweep dies (kill -9) notices and checkpoints too
// (stopWhenSweepEnds); a later sweep waits for such an orphan before it resumes the run.
import Foundation
import ModelIO
import Numerics

public struct SweepOutcome: Sendable {
    public var finished: [String] = []
    public var failed: [String] = []
    public var busy: [String] = []
    public var interrupted = false
    public var ok: Bool { failed.isEmpty && busy.isEmpty && !interrupted }
}

public final class SweepRunner {
    public let folder: SweepFolder
    public let runs: [SweepRun]
    let executable: String
    let kinds: TrainOptionKinds
    public var jobs = 1
    public var threads = numThreads
    public var progressEvery: TimeInterval = 60
    /// After a run finishes, `irm eval` on this many of its test questions (greedy and sampled, no perplexity),
    /// for the sweep report's alignment rates; 0 = none.
    public var evalQuestions = 0
    public var evalTokens = 48
    public var log: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }

    public init(folder: SweepFolder, runs: [SweepRun], executable: String, kinds: TrainOptionKinds) {
        self.folder = folder; self.runs = runs; self.executable = executable; self.kinds = kinds
    }

    public var threadsPerJob: Int { max(1, threads / max(1, jobs)) }

    // MARK: the command line of a run

    /// `irm train` arguments that move run `r` on from `status` (nil when it is finished).
    public func trainArguments(_ r: SweepRun, status: SweepRunStatus) -> [String]? {
        let threads = ["--threads", String(threadsPerJob)]
        switch status {
        case .finished: return nil
        case .new, .restart:
            var a = ["train"]
            for k in r.options.keys.sorted(by: { ($0 == "dataset" ? 0 : 1, $0) < ($1 == "dataset" ? 0 : 1, $1) }) {
                let v = r.options[k]!
                if kinds[k] == false { if v == "true" { a.append("--" + k) } } else { a += ["--" + k, v] }
            }
            return a + ["--runs", folder.path, "--name", r.name] + threads
        case .resume, .extend:
            // What config.json does not hold: the step limit the plan may have changed, and the heatmap switch.
            return ["train", "--resume", folder.runFolder(r).path] + threads
                + (r.maxSteps.map { ["--max-steps", String($0)] } ?? [])
                + (r.options["no-heatmaps"] == "true" ? ["--no-heatmaps"] : [])
        }
    }

    /// `irm eval` arguments for finished run `r`, nil when not asked for or when its eval.json is newer than the
    /// weights eval reads (irm-best, else the last checkpoint).
    public func evalArguments(_ r: SweepRun) -> [String]? {
        guard evalQuestions > 0 else { return nil }
        let run = folder.runFolder(r), fm = FileManager.default
        func modified(_ p: String) -> Date? { (try? fm.attributesOfItem(atPath: p))?[.modificationDate] as? Date }
        if let e = modified(run.path + "/eval.json"), let w = modified(run.inferenceWeightsPath), e > w { return nil }
        return [
            "eval", "--run", run.path, "--n", String(evalQuestions), "--max-tokens", String(evalTokens),
            "--no-perplexity",
            "--threads", String(threadsPerJob)
        ]
    }

    // MARK: running

    struct Active {
        let index: Int
        let process: Process
        let lock: SweepLock
        let started: Date
        let log: FileHandle
        let phase: Phase
    }

    enum Phase: String {
        case train, eval
    }

    /// Runs `indices` (all runs by default) and returns when each has finished, failed or stopped.
    public func run(_ indices: [Int]? = nil) throws -> SweepOutcome {
        let order = indices ?? Array(runs.indices)
        var outcome = SweepOutcome()
        var pending = order[...], active: [Active] = []
        var forwarded = false, lastProgress = Date()
        try FileManager.default.createDirectory(atPath: folder.logsDir, withIntermediateDirectories: true)
        while !pending.isEmpty || !active.isEmpty {
            while active.count < max(1, jobs), interruptRequested == 0, let i = pending.first {
                pending.removeFirst()
                do {
                    if let a = try start(i, &outcome) { active.append(a) }
                } catch {
                    log("\(label(i)): FAILED: \(error)")  // e.g. a corrupted checkpoint: the other runs go on
                    outcome.failed.append(runs[i].name)
                }
            }
            if interruptRequested != 0 {
                outcome.interrupted = true
                pending.removeAll()
                if !forwarded { for a in active { kill(a.process.processIdentifier, SIGTERM) }; forwarded = true }
            }
            usleep(200_000)
            var next: [Active] = []
            for a in active where !a.process.isRunning { if let e = finish(a, &outcome) { next.append(e) } }
            active.removeAll { !$0.process.isRunning }
            active += next
            if Date().timeIntervalSince(lastProgress) >= progressEvery {
                lastProgress = Date()
                for a in active { log("  \(label(a.index)) \(lastLine(of: folder.logPath(runs[a.index])))") }
            }
        }
        return outcome
    }

    func label(_ i: Int) -> String {
        let w = String(runs.count).count
        return "[" + String(repeating: " ", count: w - String(i + 1).count) + "\(i + 1)/\(runs.count)] \(runs[i].name)"
    }

    /// Takes the run's lock, decides what it needs and starts its `irm train`; nil when nothing is started.
    func start(_ i: Int, _ outcome: inout SweepOutcome) throws -> Active? {
        let r = runs[i]
        guard let lock = try folder.lock(r) else {
            log("\(label(i)): skipped, being trained by process \(folder.lockHolder(r).map(String.init) ?? "?")")
            outcome.busy.append(r.name)
            return nil
        }
        if let pid = lock.previousHolder, pid != getpid(), isTraining(pid, run: folder.runFolder(r).path) {
            log("\(label(i)): waiting for process \(pid) (a run of an earlier sweep) to checkpoint and stop")
            while isTraining(pid, run: folder.runFolder(r).path) { usleep(200_000) }
        }
        lock.record(pid: getpid())
        var started = false
        defer { if !started { lock.release() } }
        let status = try folder.status(r)
        guard let args = trainArguments(r, status: status) else {
            if let e = evalArguments(r) {
                log("\(label(i)): \(status.description); evaluating")
                let a = try launch(i, e, phase: .eval, lock: lock, note: "eval")
                started = true
                return a
            }
            log("\(label(i)): \(status.description), skipped")
            outcome.finished.append(r.name)
            return nil
        }
        if status == .restart { try folder.clearUnstarted(r) }
        let a = try launch(i, args, phase: .train, lock: lock, note: status.description)
        started = true
        log(
            "\(label(i)): \(status.description), \(threadsPerJob) thread\(threadsPerJob == 1 ? "" : "s"), log \(folder.logPath(r))"
        )
        return a
    }

    /// Starts `irm args` for run `i` with its output appended to the run's log; the lock passes to the child.
    func launch(_ i: Int, _ args: [String], phase: Phase, lock: SweepLock, note: String) throws -> Active {
        let path = folder.logPath(runs[i])
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let logFile = FileHandle(forWritingAtPath: path) else {
            throw FileError(path, "cannot write the run's log")
        }
        logFile.seekToEndOfFile()
        logFile.write(
            Data("== \(ISO8601DateFormatter().string(from: Date())) \(note): irm \(args.joined(separator: " "))\n".utf8)
        )
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.standardOutput = logFile
        p.standardError = logFile
        p.standardInput = FileHandle.nullDevice
        p.environment = ProcessInfo.processInfo.environment.merging([sweepParentVariable: String(getpid())]) { $1 }
        do { try p.run() } catch {
            try? logFile.close()
            throw RunError("\(executable): cannot start irm \(args[0]) (\(error.localizedDescription))")
        }
        lock.record(pid: p.processIdentifier)
        return Active(index: i, process: p, lock: lock, started: Date(), log: logFile, phase: phase)
    }

    /// Logs how `a` ended; returns the eval to run next when a training finished and one is asked for.
    func finish(_ a: Active, _ outcome: inout SweepOutcome) -> Active? {
        let r = runs[a.index], eval = a.phase == .eval
        let took = formatDuration(Date().timeIntervalSince(a.started))
        try? a.log.close()
        let status = eval ? nil : (try? folder.status(r)) ?? .new
        var done: String? = nil
        if a.process.terminationStatus == 0 {
            if eval {
                done = "evaluated in \(took)"
            } else if case .finished(let step, let reason) = status {
                let best =
                    bestValidationLoss(folder.runFolder(r)).map { String(format: ", best validation loss %.4f", $0) }
                    ?? ""
                done = "finished in \(took) at step \(step) (\(reason))\(best)"
            }
        }
        let what = eval ? "evaluation " : ""
        if let done {
            log("\(label(a.index)): \(done)")
            if !eval, interruptRequested == 0, let e = evalArguments(r) {
                do { return try launch(a.index, e, phase: .eval, lock: a.lock, note: "eval") } catch {
                    log("\(label(a.index)): evaluation FAILED: \(error)")
                    outcome.failed.append(r.name)
                }
            } else {
                outcome.finished.append(r.name)
            }
        } else if interruptRequested != 0 {
            log("\(label(a.index)): \(what)stopped after \(took)" + (status.map { " (\($0.description))" } ?? ""))
        } else {
            log(
                "\(label(a.index)): \(what)FAILED after \(took) (exit \(a.process.terminationStatus)): \(lastLine(of: folder.logPath(r), preferring: "irm "))"
            )
            outcome.failed.append(r.name)
        }
        a.lock.release()
        return nil
    }
}

/// Whether process `pid` is alive and is an `irm train` of the run folder `run`.
func isTraining(_ pid: Int32, run: String) -> Bool {
    guard kill(pid, 0) == 0, let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
    let args = d.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    return args.contains("train") && (args.contains(run) || args.contains((run as NSString).lastPathComponent))
}

/// The last non-empty line of a text file (a run's last progress line), at most 4 kB back; with `preferring`, the
/// last line that starts so, if any (a run's error: its stdout, buffered, may come after it).
func lastLine(of path: String, preferring prefix: String? = nil) -> String {
    guard let h = FileHandle(forReadingAtPath: path) else { return "" }
    defer { try? h.close() }
    let end = h.seekToEndOfFile()
    h.seek(toFileOffset: end > 4096 ? end - 4096 : 0)
    let lines = String(decoding: h.readDataToEndOfFile(), as: UTF8.self).split(whereSeparator: {
        $0 == "\n" || $0 == "\r"
    })
    let line = prefix.flatMap { p in lines.last { $0.hasPrefix(p) } } ?? lines.last
    return line.map { String($0).replacingOccurrences(of: "\u{1B}[K", with: "") } ?? ""
}

/// The lowest validation loss in metrics.csv; nil when there is none or the file is absent or not readable.
public func bestValidationLoss(_ run: RunFolder) -> Double? {
    (try? MetricsCSV.read(run.metricsPath))?.compactMap(\.valLoss).min()
}
