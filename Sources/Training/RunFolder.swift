// A run folder, Runs/<name>/:
//   config.json            TrainConfig (everything to reproduce the run)
//   checkpoint.json        names the last checkpoint (generation, step); committed last (Checkpoint.swift)
//   checkpoint-G.irm.safetensors        IRM weights of checkpoint generation G
//   checkpoint-G.optimizer.safetensors  Adam state, step, epoch, position in the epoch, RNG, early stopping
//   lock                   held by the `irm train` writing the run, with its pid (RunLock.swift)
//   irm-best.safetensors   IRM weights with the best validation loss (what generate/eval/heatmap use)
//   metrics.csv            step,epoch,train_loss,val_loss,lr,tokens_per_s
//   samples.txt            generations for fixed prompts with and without the IRM at each validation
//   heatmaps/, heatmap.csv the IRM's output drawn per token and averaged
//   eval.json, eval_samples.md   `irm eval`: alignment metrics with vs without the IRM (Evaluation.swift)
import Foundation
import Datasets
import Llama
import IRM
import ModelIO

public struct RunFolder: Sendable {
    public let path: String
    public init(_ path: String) { self.path = path }

    public var configPath: String { path + "/config.json" }
    public var bestWeightsPath: String { path + "/irm-best.safetensors" }
    public var metricsPath: String { path + "/metrics.csv" }
    public var samplesPath: String { path + "/samples.txt" }
    /// The IRM's stripes over training (Analysis/StriationLog.swift writes it).
    public var striationPath: String { path + "/striation.csv" }
    public var heatmapDir: String { path + "/heatmaps" }

    /// The weights to use for inference: the best validation checkpoint if there is one.
    public var inferenceWeightsPath: String {
        FileManager.default.fileExists(atPath: bestWeightsPath) ? bestWeightsPath : (lastWeightsPath ?? bestWeightsPath)
    }

    public func create() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func writeConfig(_ c: TrainConfig) throws {
        try writeJSONFile(c, to: configPath)
    }

    /// Reads config.json; a folder that is not a run gets one clear error.
    public func readConfig() throws -> TrainConfig {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw RunError("\(path): no such run folder")
        }
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw RunError("\(path): not a run folder (no config.json)")
        }
        let c: TrainConfig
        do { c = try JSONDecoder().decode(TrainConfig.self, from: data) } catch {
            throw FileError(configPath, "not a valid run configuration (\(oneLineDescription(error)))")
        }
        if let bad = c.invalidValue { throw FileError(configPath, "not a valid run configuration (\(bad))") }
        return c
    }

    // MARK: metrics.csv

    /// Appends one row (MetricsCSV.line), creating the file with its header first.
    public func appendMetrics(_ line: String) throws {
        try appendCSVRow(metricsPath, header: MetricsCSV.header, line)
    }

    /// Appends `line` to the CSV file at `path`, creating it with `header` first (metrics.csv, striation.csv).
    public func appendCSVRow(_ path: String, header: String, _ line: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            try writeFileAtomically(path, Array((header + "\n").utf8))
        }
        try appendToFile(path, Array((line + "\n").utf8))
    }

    /// Keeps the header and the rows whose first field (a step) is at most `step`; no file, nothing to do.
    public func truncateCSV(_ path: String, afterStep step: Int) throws {
        try truncateRecords(path, afterStep: step) { line in line.split(separator: ",").first.flatMap { Int($0) } }
    }

    public func appendSamples(_ text: String) throws {
        try appendToFile(samplesPath, Array(text.utf8))
    }

    /// On resume: keep only the rows and samples of the steps the checkpoint contains, so the replayed
    /// steps do not appear twice.
    public func truncateRecords(afterStep step: Int) throws {
        try truncateCSV(metricsPath, afterStep: step)
        try truncateRecords(samplesPath, afterStep: step) { line in
            line.hasPrefix("== step ") ? line.dropFirst(8).split(separator: " ").first.flatMap { Int($0) } : nil
        }
    }

    /// A record starts at a line whose step `stepOf` reads, and the lines after it belong to it; lines before
    /// the first record (a header) stay. A last line without its newline was cut by a kill and goes.
    func truncateRecords(_ file: String, afterStep step: Int, stepOf: (Substring) -> Int?) throws {
        guard let s = try? String(contentsOfFile: file, encoding: .utf8) else { return }
        var lines = s.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()  // after the last newline: empty, or a cut line
        var keep: [Substring] = [], keeping = true
        for line in lines {
            if let n = stepOf(line) { keeping = n <= step }
            if keeping { keep.append(line) }
        }
        let text = keep.map { $0 + "\n" }.joined()
        if text != s { try writeFileAtomically(file, Array(text.utf8)) }
    }
}

/// A run or a sweep that cannot go on as asked: its folder is in use or is not a run, its data no longer matches
/// it, a setting does not apply. A file whose content is wrong is a `FileError` (ModelIO/FileError.swift).
public struct RunError: Error, CustomStringConvertible {
    public let description: String
    public init(_ m: String) { description = singleLine(m) }
}

// MARK: loading what a run refers to

extension TrainConfig {
    public var storage: WeightStorage { WeightStorage(rawValue: dtype) ?? .auto }
    /// The frozen model (and tokenizer) the run was trained on.
    public func loadModel() throws -> LoadedModel {
        try LoadedModel.load(path: model, tokenizerPath: tokenizer, storage: storage)
    }
}

/// IRM weights from a run folder (its best validation weights) or a .safetensors file, checked against
/// the model they are to be injected into before anything is allocated.
public func loadIRM(_ runOrFile: String, for model: LlamaConfig) throws -> IRMNetwork {
    let path = runOrFile.hasSuffix(".safetensors") ? runOrFile : RunFolder(runOrFile).inferenceWeightsPath
    guard FileManager.default.fileExists(atPath: path) else {
        throw RunError("\(runOrFile): no IRM weights (no irm-best.safetensors and no checkpoint)")
    }
    return try IRMNetwork.load(path: path, model: (model.dim, model.nLayers))
}

// MARK: reading a file irm wrote (reports, analysis), bounded

/// The bytes of `path`, refusing a file larger than `limit` before reading it.
public func readBounded(_ path: String, limit: Int) throws -> [UInt8] {
    let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? 0
    guard size <= limit else { throw FileError(path, "\(size) bytes, more than irm reads from it (\(limit))") }
    guard let d = FileManager.default.contents(atPath: path) else { throw FileError(path, "cannot read") }
    return [UInt8](d)
}

/// A JSON file decoded as `T`; a decoding error names the field.
public func readJSON<T: Decodable>(_ type: T.Type, _ path: String, limit: Int = 256 << 20) throws -> T {
    do { return try JSONDecoder().decode(T.self, from: Data(try readBounded(path, limit: limit))) } catch let e
        as FileError
    { throw e } catch { throw FileError(path, "not a valid \(T.self) (\(oneLineDescription(error)))") }
}
