// Reading what the other commands left in a run folder, for the report: each file optional, each checked.
// A file that is absent is `.missing` (its section says which command makes it); one that is there but
// unreadable is `.failed` with one line naming the file and, where there is one, the line.
import Foundation
import ModelIO
import Training
import Figures
import Analysis
import Evaluation

public enum Loaded<T> {
    case missing
    case failed(String)
    case ok(T)

    public var value: T? { if case .ok(let v) = self { return v } else { return nil } }
    public var problem: String? { if case .failed(let m) = self { return m } else { return nil } }
}

/// `.missing` when `path` does not exist, else what `read` makes of it (its error as the one line).
func load<T>(_ path: String, _ read: (String) throws -> T) -> Loaded<T> {
    guard FileManager.default.fileExists(atPath: path) else { return .missing }
    do { return .ok(try read(path)) } catch { return .failed("\(error)") }
}

func readText(_ path: String, limit: Int = 64 << 20) throws -> String {
    String(decoding: try readBounded(path, limit: limit), as: UTF8.self)
}

// MARK: images

/// A PNG's bytes and its size from the IHDR chunk (checked: the signature, the chunk, a sane size).
public struct PNGFile: Sendable {
    public var bytes: [UInt8]
    public var width: Int, height: Int
}

public func readPNG(_ path: String, limit: Int = 32 << 20) throws -> PNGFile {
    let b = try readBounded(path, limit: limit)
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    guard b.count >= 33, Array(b[0..<8]) == signature, Array(b[12..<16]) == Array("IHDR".utf8) else {
        throw FileError(path, "not a PNG file")
    }
    func be32(_ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
    let w = be32(16), h = be32(20)
    guard (1...100_000).contains(w), (1...100_000).contains(h) else {
        throw FileError(path, "PNG size \(w)×\(h) out of range")
    }
    return PNGFile(bytes: b, width: w, height: h)
}

// MARK: the run's state

/// The trainer's state at the last checkpoint (optimizer.safetensors' metadata): steps, stop reason, best loss.
func readTrainState(_ path: String) throws -> TrainState {
    guard let js = try SafetensorsFile(path: path).metadata["train_state"] else {
        throw FileError(path, "no train_state in the metadata")
    }
    do { return try JSONDecoder().decode(TrainState.self, from: Data(js.utf8)) } catch {
        throw FileError(path, "train_state: \(oneLineDescription(error))")
    }
}

/// The metadata of irm-best.safetensors: the step and validation loss it was saved at.
func readBestWeightsInfo(_ path: String) throws -> (step: String?, valLoss: String?) {
    let m = try SafetensorsFile(path: path).metadata
    return (m["step"], m["val_loss"])
}

/// The last validation's block of samples.txt ("== step N … ==" up to the next one).
func lastSamplesBlock(_ text: String) -> String {
    guard let r = text.range(of: "== step ", options: .backwards) else { return text }
    return String(text[r.lowerBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `n` indices out of 0..<count, evenly spread from the first to the last.
func spreadPicks(_ count: Int, _ n: Int) -> [Int] {
    let k = min(n, count)
    return k <= 1 ? (count > 0 ? [count - 1] : []) : (0..<k).map { $0 * (count - 1) / (k - 1) }
}

// MARK: everything, once

/// Every input of the report, read once; the sections render from this.
public struct ReportInputs {
    public var run: RunFolder
    public var config: TrainConfig
    public var configJSON: String
    public var metrics: Loaded<[MetricsRow]>
    public var state: Loaded<TrainState>
    public var best: Loaded<(step: String?, valLoss: String?)>
    public var samples: Loaded<String>
    public var heatmapSummary: Loaded<HeatmapSummary>
    public var meanHeatmap: Loaded<PNGFile>
    public var heatmapMatrix: Loaded<LabelledMatrix>
    /// How many token_NNN.png files there are, and the few the report shows (by position NNN).
    public var tokenHeatmapCount: Int
    public var tokenHeatmaps: [(position: Int, png: Loaded<PNGFile>)]
    public var eval: Loaded<EvalReport>
    public var analysis: AnalysisInputs

    /// Reads config.json (a folder without one is not a run: that throws) and whatever else is there.
    public init(run: RunFolder) throws {
        self.run = run
        config = try run.readConfig()
        configJSON = (try? readText(run.configPath)) ?? ""
        metrics = load(run.metricsPath, MetricsCSV.read)
        state = load(run.lastOptimizerPath ?? run.manifestPath, readTrainState)
        best = load(run.bestWeightsPath, readBestWeightsInfo)
        samples = load(run.samplesPath) { try lastSamplesBlock(readText($0)) }
        heatmapSummary = load(run.heatmapDir + "/summary.json") { try readJSON(HeatmapSummary.self, $0) }
        meanHeatmap = load(run.heatmapDir + "/mean.png") { try readPNG($0) }
        heatmapMatrix = load(run.path + "/heatmap.csv") { try parseMatrixCSV(readText($0, limit: 512 << 20), path: $0) }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: run.heatmapDir)) ?? []
        let all = names.compactMap { n -> Int? in
            n.hasPrefix("token_") && n.hasSuffix(".png") ? Int(n.dropFirst(6).dropLast(4)) : nil
        }.sorted()
        tokenHeatmapCount = all.count
        tokenHeatmaps = spreadPicks(all.count, tokenHeatmapsShown).map { k in
            (all[k], load(run.heatmapDir + String(format: "/token_%03d.png", all[k])) { try readPNG($0) })
        }
        eval = load(run.evalJSONPath) { try readJSON(EvalReport.self, $0) }
        analysis = AnalysisInputs(run: run)
    }

    /// One line per input that is there but could not be read.
    public var problems: [String] {
        [
            metrics.problem, state.problem, best.problem, samples.problem, heatmapSummary.problem, meanHeatmap.problem,
            heatmapMatrix.problem, eval.problem
        ].compactMap { $0 } + tokenHeatmaps.compactMap { $0.png.problem } + analysis.problems
    }
}
