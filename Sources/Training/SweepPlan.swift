// A sweep plan: many trainings over one grid (Smith et al. §4 ran 24). A plan is a set of `irm train` options
// common to every run plus axes; the runs are the cartesian product of the axes (the first axis varies
// slowest), each run the common options plus one entry of every axis. Each run is named by the settings that
// tell it apart from the others (dataset and layers always), never by time, so that starting the same sweep
// again finds its runs.
//
// A plan file (`irm sweep --plan FILE.json`):
//
//   {"options": {"max-steps": 300, "lr": "1e-3", "no-heatmaps": true},
//    "axes": [{"dataset": ["anger", "sadness", "neutral"]},          an axis of one option's values
//             {"seed": [0, 1]},
//             [{"layers": "0-7"}, {"layers": "all", "l1": 58.5}]]}    an axis of option groups
//
// Values are strings, numbers or true (a switch such as "recompute"; false leaves it out). Any `irm train`
// option may appear except those the sweep sets itself (name, runs, resume, threads, plan-only).
import Foundation
import ModelIO

/// One run of a sweep: its folder name and its `irm train` options (a switch has the value "true").
public struct SweepRun: Codable, Equatable, Sendable {
    public var name: String
    public var options: [String: String]
    public init(name: String, options: [String: String]) { self.name = name; self.options = options }

    /// The step limit the plan gives the run (`--steps`, or max-steps among its options).
    public var maxSteps: Int? { options["max-steps"].flatMap { Int($0) } }
}

/// Which `irm train` options exist and whether each takes a value (from the command's option table).
public typealias TrainOptionKinds = [String: Bool]

public struct SweepPlan: Sendable {
    public var options: [String: String]
    public var axes: [[[String: String]]]
    public init(options: [String: String] = [:], axes: [[[String: String]]]) {
        self.options = options; self.axes = axes
    }

    /// Options a plan may not set: the sweep sets them for each run.
    public static let reserved: Set<String> = ["name", "runs", "resume", "threads", "plan-only", "help"]

    // MARK: the paper's plan

    /// The paper's 24 runs scaled to a model of `nLayers` layers: anger, sadness, neutral × all layers, the four
    /// quarters, every 4th layer from 3, and the first quarter and all layers with the L1 penalty. For 32 layers
    /// these are the reference's 0–31, 0–7, 8–15, 16–23, 24–31, 3:31:4 (Smith et al. §4). Quarter k
    /// starts at round(k·n/4), so 30 layers give 0–7, 8–14, 15–22, 23–29.
    public static func paper(nLayers n: Int, hidden: Int, options: [String: String] = [:]) -> SweepPlan {
        let b = (0...4).map { Int((Double($0 * n) / 4).rounded(.toNearestOrAwayFromZero)) }
        var sets = ["0-\(n - 1)"] + (0..<4).map { "\(b[$0])-\(b[$0 + 1] - 1)" }
        sets.append("3:\(n - 1):4")
        let batch = options["batch-size"].flatMap { Int($0) } ?? TrainConfig.defaultBatchSize
        let seqLen = options["seq-len"].flatMap { Int($0) } ?? TrainConfig.defaultSeqLen
        let l1 = String(format: "%g", paperL1(hidden: hidden, batchSize: batch, seqLen: seqLen))
        let layerAxis = sets.map { ["layers": $0] } + [["layers": sets[1], "l1": l1], ["layers": sets[0], "l1": l1]]
        return SweepPlan(options: options, axes: [["anger", "sadness", "neutral"].map { ["dataset": $0] }, layerAxis])
    }

    /// The L1 weight that puts our penalty on the reference's scale. The reference adds
    /// 1e-4 / L · Σ|IRM output| over the whole batch (B rows × its seqLen − 1 input positions × h·L outputs);
    /// ours is λ · mean |output| over the real tokens (IRMInjector.addL1), λ·Σ / (N·h·L). The two agree when
    /// λ = 1e-4 · h · N with N = B·(seqLen − 1), the reference's N (every position counts there, as it does in
    /// our `--objective reference`). Under our objective N is the batch's real tokens, fewer, so the same λ
    /// weighs each output a little more than the reference did.
    public static func paperL1(hidden: Int, batchSize: Int, seqLen: Int) -> Double {
        1e-4 * Double(hidden) * Double(batchSize * (seqLen - 1))
    }

    // MARK: plan files

    public static func load(path: String) throws -> SweepPlan {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError(path, "no such plan file")
        }
        let file: PlanFile
        do { file = try JSONDecoder().decode(PlanFile.self, from: data) } catch {
            throw FileError(path, "not a valid sweep plan (\(oneLineDescription(error))); see `irm sweep --help`")
        }
        func strings(_ g: [String: PlanValue]) -> [String: String] { g.compactMapValues(\.text) }
        return SweepPlan(
            options: strings(file.options ?? [:]),
            axes: file.axes.map { axis in
                switch axis {
                case .values(let key, let values): values.map { $0.text.map { [key: $0] } ?? [:] }
                case .groups(let groups): groups.map(strings)
                }
            })
    }

    // MARK: expansion

    /// The runs, named, with every option checked against `kinds` and every layer list against the model's
    /// `nLayers`. `source` names the plan in messages.
    public func expand(nLayers: Int, kinds: TrainOptionKinds, source: String) throws -> [SweepRun] {
        func bad(_ m: String) -> FileError { FileError(source, m) }
        func check(_ g: [String: String], _ place: String) throws {
            for (k, v) in g {
                guard !SweepPlan.reserved.contains(k) else { throw bad("\(place): --\(k) is set by the sweep itself") }
                guard let takesValue = kinds[k] else { throw bad("\(place): --\(k) is not an irm train option") }
                if !takesValue && v != "true" { throw bad("\(place): --\(k) is a switch (true or false), not '\(v)'") }
                if k == "layers" {
                    do { _ = try parseLayerSpec(v, nLayers: nLayers) } catch { throw bad("\(place): \(error)") }
                }
            }
        }
        try check(options, "options")
        var runs = [options]
        var setBy: [String: Int] = [:]
        for (i, axis) in axes.enumerated() {
            guard !axis.isEmpty else { throw bad("axis \(i + 1) is empty") }
            for g in axis { try check(g, "axis \(i + 1)") }
            for key in Set(axis.flatMap(\.keys)) {
                if options[key] != nil { throw bad("--\(key) is both a common option and on axis \(i + 1)") }
                if let j = setBy[key] { throw bad("--\(key) is on axes \(j + 1) and \(i + 1)") }
                if key == "model" {
                    throw bad("axis \(i + 1): --model must be the same for every run (a common option)")
                }
                setBy[key] = i
            }
            runs = runs.flatMap { r in axis.map { r.merging($0) { a, _ in a } } }
        }
        if let r = runs.first(where: { $0["dataset"] == nil }) { throw bad("a run has no dataset (\(r))") }
        let order = axes.flatMap { axis in Set(axis.flatMap(\.keys)).sorted() }
        let names = try runs.map {
            try runName(
                $0, varying: order.filter { k in Set(runs.map { $0[k] }).count > 1 },
                runs: runs, nLayers: nLayers)
        }
        var seen: [String: Int] = [:]
        for (i, n) in names.enumerated() {
            if let j = seen[n] {
                throw bad("runs \(j + 1) and \(i + 1) would both be named '\(n)' (the same settings?)")
            }
            seen[n] = i
        }
        return zip(names, runs).map { SweepRun(name: $0, options: $1) }
    }
}

/// dataset, layers, then each option that differs between the runs ("seed1", "reference", "l1", "recompute").
func runName(_ o: [String: String], varying: [String], runs: [[String: String]], nLayers: Int) throws -> String {
    let dataset = o["dataset"].map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension } ?? "run"
    var parts = [dataset] + (o["label"].map { [$0] } ?? [])
    parts.append(
        layerSpecName(try parseLayerSpec(o["layers"] ?? "all", nLayers: nLayers)).replacingOccurrences(
            of: ":", with: "_"))
    for k in varying where !["dataset", "label", "layers"].contains(k) {
        guard let v = o[k] else { continue }
        switch k {
        case "objective": if v != "response" { parts.append(v) }
        case "l1":
            guard (Double(v) ?? 1) != 0 else { continue }
            let nonZero = Set(runs.compactMap { $0["l1"] }.filter { (Double($0) ?? 1) != 0 })
            parts.append(nonZero.count == 1 ? "l1" : "l1-\(v)")
        default:
            if v == "true" {
                parts.append(k)
            } else {
                parts.append(k + (v.first?.isNumber == true ? "" : "-") + String(v.prefix(40)))
            }
        }
    }
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")
    return String(parts.joined(separator: "-").map { allowed.contains($0) ? $0 : "_" })
}

// MARK: plan file JSON

/// A string, a number or a switch in a plan file; `text` is nil for false (the switch left out).
struct PlanValue: Decodable {
    let text: String?
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            text = b ? "true" : nil
        } else if let i = try? c.decode(Int.self) {
            text = String(i)
        } else if let d = try? c.decode(Double.self) {
            text = "\(d)"
        } else if let s = try? c.decode(String.self) {
            text = s
        } else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a string, a number or true/false")
        }
    }
}

enum PlanAxis: Decodable {
    case values(String, [PlanValue])
    case groups([[String: PlanValue]])
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode([String: [PlanValue]].self) {
            guard d.count == 1, let (k, v) = d.first else {
                throw DecodingError.dataCorruptedError(
                    in: c, debugDescription: "an axis object names exactly one option")
            }
            self = .values(k, v)
        } else if let g = try? c.decode([[String: PlanValue]].self) {
            self = .groups(g)
        } else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "an axis is {\"option\": [values]} or [{option: value, …}, …]")
        }
    }
}

struct PlanFile: Decodable {
    var options: [String: PlanValue]?
    var axes: [PlanAxis]
}
