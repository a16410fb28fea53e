// irm sweep --plan paper|FILE.json [...] | --dir Runs/sweeps/NAME — many trainings over a grid; the plan, the
// sweep folder, the runner and the SLURM script live in Training/Sweep*.swift.
import Foundation
import Numerics
import ModelIO
import Training

struct SweepCommand: Command {
    static let name = "sweep",
        summary = "many trainings over a grid (the paper's 24 runs): resumable, in parallel, or on SLURM"
    static let usage: String? = "--plan paper|FILE.json [options]  |  --dir Runs/sweeps/NAME [options]"

    /// Measured on the 2-core machine: two runs side by side on one thread each beat one run at a time on two
    /// (README, "Sweeps").
    static let defaultJobs = 2

    var q = SweepRequest(defaultModel: defaultModelPath), threads = ThreadOptions()
    var sets: [String] = [], model: String?, jobs = SweepCommand.defaultJobs
    var dryRun = false, emitSlurm: String?, sbatch: [String] = [], task: Int?
    var evalQuestions = 0, evalTokens = 48

    static var options: [Opt<Self>] {
        [
            .string(
                "plan", "paper|FILE", \.q.plan,
                "paper: the paper's 24 runs scaled to the model; or a JSON plan (README, \"Sweeps\")"),
            .string("dir", "SWEEP", \.q.dir, "continue the sweep in this folder as its plan.json describes"),
            .string("name", "NAME", \.q.name, "the sweep's folder name (default: paper, or the plan file's name)"),
            .string("sweeps", "DIR", \.q.sweepsDir, "folder for sweeps"),
            .int(
                "steps", "N", \.q.steps, 1...Int.max, "every run's step limit; a larger N later extends finished runs"),
            .strings(
                "set", "OPTION=VALUE", \.sets, "an irm train option for every run, e.g. lr=1e-3 or no-heatmaps=true"),
            .string("model", "PATH", \.model, "the model of every run (default \(defaultModelPath))"),
            .int("jobs", "N", \.jobs, 1...256, "runs at once, the threads split between them"),
            .int(
                "eval", "N", \.evalQuestions, 0...1_000_000,
                "after each run, irm eval on N of its test questions (the sweep report's alignment rates)"),
            .int("eval-tokens", "N", \.evalTokens, 1...100_000, "tokens per answer of that eval")
        ] + including(\.threads) + [
            .flag(
                "dry-run", \.dryRun,
                "list the runs, their memory plans and an estimated time (times one step per run shape)"),
            .string(
                "emit-slurm", "FILE", \.emitSlurm,
                "write a SLURM job-array script (one run per task; --threads cpus each, default 1) instead of running"),
            .strings(
                "sbatch", "DIRECTIVE", \.sbatch, "an extra #SBATCH line for --emit-slurm, e.g. --sbatch=--time=4:00:00"),
            .int("task", "I", \.task, 0...Int.max, "train only plan.json's run I (what a SLURM array task does)")
        ]
    }

    func run() throws {
        threads.apply()
        var q = self.q
        for s in sets {
            guard let eq = s.firstIndex(of: "="), eq != s.startIndex else {
                throw CLIError("--set '\(s)' is not OPTION=VALUE")
            }
            q.options[String(s[..<eq])] = String(s[s.index(after: eq)...])
        }
        if let model { q.options["model"] = model }
        let kinds = Dictionary(uniqueKeysWithValues: TrainCommand.options.map { ($0.name, $0.placeholder != nil) })
        let (folder, file) = try openSweep(q, kinds: kinds, write: !dryRun)

        if let out = emitSlurm {
            let cpus = threads.threads ?? 1
            try FileManager.default.createDirectory(atPath: folder.logsDir, withIntermediateDirectories: true)
            let script = slurmScript(
                folder: folder, runs: file.runs, executable: try Self.executablePath(),
                workDir: FileManager.default.currentDirectoryPath, cpusPerTask: cpus,
                evalQuestions: evalQuestions, evalTokens: evalTokens, extraDirectives: sbatch)
            try writeFileAtomically(out, Array(script.utf8))
            print(
                "slurm: \(out) (\(file.runs.count) array tasks, \(cpus) cpu\(cpus == 1 ? "" : "s") each; plan \(folder.planPath)); submit with: sbatch \(out)"
            )
            return
        }
        let runner = SweepRunner(folder: folder, runs: file.runs, executable: try Self.executablePath(), kinds: kinds)
        if let task { try checkRange("task", task, 0...(file.runs.count - 1)) }
        runner.jobs = task == nil ? min(jobs, file.runs.count) : 1
        runner.evalQuestions = evalQuestions; runner.evalTokens = evalTokens
        runner.log(
            "sweep \(folder.path): \(file.runs.count) runs, \(runner.jobs) job\(runner.jobs == 1 ? "" : "s") × \(runner.threadsPerJob) thread\(runner.threadsPerJob == 1 ? "" : "s")"
        )
        if dryRun {
            runner.log(
                try estimateSweep(
                    folder: folder, runs: file.runs, model: defaultModelPath, jobs: runner.jobs,
                    threadsPerJob: runner.threadsPerJob
                ).report())
            return
        }
        installInterruptHandler()
        let o = try runner.run(task.map { [$0] })
        let n = task == nil ? file.runs.count : 1
        runner.log(
            "sweep: \(o.finished.count) of \(n) runs finished"
                + (o.failed.isEmpty ? "" : ", failed: \(o.failed.joined(separator: ", ")) (see \(folder.logsDir))")
                + (o.busy.isEmpty ? "" : ", busy elsewhere: \(o.busy.joined(separator: ", "))"))
        if o.interrupted { throw CLIError("interrupted; the same command continues the sweep") }
        if !o.ok { throw CLIError("\(o.failed.count + o.busy.count) of \(n) runs did not finish") }
    }

    /// This binary, for the `irm train` children and the SLURM script.
    static func executablePath() throws -> String {
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        let a = CommandLine.arguments[0]
        return a.hasPrefix("/") ? a : FileManager.default.currentDirectoryPath + "/" + a
    }
}
