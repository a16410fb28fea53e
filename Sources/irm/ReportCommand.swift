// irm report --run Runs/<name> — (re)draw the run's report.html from whatever its folder holds (Reports/RunReport.swift).
import Training
import Reports

struct ReportCommand: Command {
    static let name = "report",
        summary =
            "write a run's report.html: one self-contained page of its config, curves, heatmaps, analysis and eval"

    var trained = RunOptions()

    static var options: [Opt<Self>] { including(\.trained) }

    func run() throws {
        let run = trained.folder
        let problems = try writeRunReport(run)
        print("wrote \(run.reportPath)")
        // The page is written and shows each problem in its section; the exit status still says a file was bad.
        if let first = problems.first {
            throw CLIError(
                first
                    + (problems.count > 1 ? " (and \(problems.count - 1) more unreadable file(s); see the report)" : "")
            )
        }
    }
}
