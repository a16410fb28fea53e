// The sections made by `irm analyze` (R/analysis.json) and by the trainer at each validation (R/striation.csv):
// striation statistics on the fixed probe set, stripes over training, the causal tests (ablations) and the
// dominant indices explained through the model. Each says "not computed yet" until its file exists.
import Foundation
import Figures
import Training

/// analysis.json and striation.csv, when there.
public struct AnalysisInputs {
    public var analysisPath: String
    public var striationPath: String
    public var hasAnalysis: Bool
    public var hasStriation: Bool

    init(run: RunFolder) {
        analysisPath = run.path + "/analysis.json"
        striationPath = run.path + "/striation.csv"
        hasAnalysis = FileManager.default.fileExists(atPath: analysisPath)
        hasStriation = FileManager.default.fileExists(atPath: striationPath)
    }

    var problems: [String] { [] }
}

func analysisSections(_ r: ReportInputs) -> [ReportSection] {
    let analyze = "irm analyze --run \(r.run.path)"
    let a = r.analysis
    // Extension point: render analysis.json from its Codable types (Analysis/AnalysisReport.swift) here.
    let pending = a.hasAnalysis
        ? paragraph("analysis.json is there; this version of the report does not render it yet.")
        : notComputed("not computed yet", command: analyze)
    return [
        ReportSection(id: "striation", title: "Striation statistics (probe set)", body: pending),
        ReportSection(id: "stripes-over-training", title: "Stripes over training",
                      body: a.hasStriation ? paragraph("striation.csv is there; this version of the report does not draw it yet.")
                                           : notComputed("not recorded for this run; not computed yet", command: analyze)),
        ReportSection(id: "ablations", title: "Causal tests (ablations)", body: pending),
        ReportSection(id: "explanation", title: "The dominant indices through the model", body: pending),
    ]
}
