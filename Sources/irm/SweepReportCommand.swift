// irm sweep-report Runs/sweeps/NAME — the sweep's runs side by side: summary.json, sweep.html and the grid of mean
// heatmaps, written into the sweep folder (Reports/SweepReport.swift).
import Training
import Reports

struct SweepReportCommand: Command {
    static let name = "sweep-report",
        summary = "summarise a sweep: summary.json, sweep.html (every run linked), the grid of mean heatmaps"
    static var positional: (name: String, path: WritableKeyPath<Self, String>)? { ("SWEEP", \.dir) }

    var dir = ""

    static var options: [Opt<Self>] { [] }

    func run() throws {
        let f = try writeSweepReport(SweepFolder(dir))
        let s = f.summary
        print("sweep \(dir): \(s.runs.filter(\.finished).count) of \(s.runs.count) runs finished")
        if let top = s.dominantIndices.first {
            print(
                "most common dominant index: \(top.index), in \(top.runs.count) of \(s.runs.filter { $0.dominantIndex != nil }.count) runs"
            )
        }
        if let m = s.meanProfileCorrelation {
            print(String(format: "mean correlation of the per-index profiles: %.3f (%d runs)", m, s.profileRuns.count))
        }
        print("wrote \(f.summaryPath), \(f.htmlPath), \(f.gridPath), \(f.correlationPath)")
    }
}
