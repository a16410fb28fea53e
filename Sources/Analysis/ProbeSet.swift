// The fixed probe set: the questions every analysis of every run is measured on, so that runs trained on
// anger, sadness or neutral answers are compared on the same prompts.
//
// Which questions. The five Datasets/*.csv files list the same 637 questions in the same order; every run's
// split partitions all of a file's rows, so no shared question is outside every split. What can be had is a
// question no run of the usual kind trained on: the split depends only on the row count and the seed, and
// with the default seed (0) on a full file its test part is the same 32 rows in all five files (5 % of 637;
// `irm eval` asks those too). So the probe takes questions from that default test part first, shuffled by
// `probeSeed`, and only when more are asked for than it holds, the other shared questions (shuffled the
// same way). With the default N = 32 the probe is exactly the default test split. A run trained with another
// seed, on a --limit slice or on another file may have trained on some of them: analysis.json marks each
// question that is in the run's own training split and counts them.
import Foundation
import ModelIO
import Numerics
import Datasets
import Training

/// The seed that orders the probe candidates (fixed: every analysis uses the same questions).
public let probeSeed: UInt64 = 1512
/// The files whose shared questions form the probe candidates.
public let probeDatasetNames = ["anger", "fear", "joy", "neutral", "sadness"]

public struct ProbeSelection: Sendable {
    public var seed: UInt64
    public var requested: Int
    /// Rows (in the Datasets files), questions and whether each is in the default test split; ascending rows.
    public var rows: [Int]
    public var questions: [String]
    public var heldOutByDefault: [Bool]
    public var selection: String
}

/// Picks `count` questions (see the file comment) from the five files in `datasetsDir`.
public func selectProbeQuestions(datasetsDir: String = "Datasets", count: Int = 32, seed: UInt64 = probeSeed) throws
    -> ProbeSelection
{
    guard count >= 1 else { throw RunError("the probe set needs at least one question") }
    var files: [[Example]] = []
    for name in probeDatasetNames {
        let path = (datasetsDir as NSString).appendingPathComponent(name + ".csv")
        guard FileManager.default.fileExists(atPath: path) else {
            throw FileError(
                path,
                "no such file (the probe set is drawn from the questions of Datasets/{\(probeDatasetNames.joined(separator: ","))}.csv)"
            )
        }
        files.append(try loadExamples(path: path, format: .qaCSV))
    }
    // A question is shared when it is at the same row in every file (the files' documented layout).
    let reference = files[0]
    let rowCount = files.map(\.count).min()!
    let shared = (0..<rowCount).filter { r in files.allSatisfy { $0[r].prompt == reference[r].prompt } }
    guard !shared.isEmpty else {
        throw FileError(datasetsDir, "the five probe files share no question at the same row")
    }
    let test = Set(DatasetSplit.make(count: reference.count, seed: 0).testIndices)
    var rng = Rng(seed: seed)
    func shuffled(_ a: [Int]) -> [Int] {
        var a = a
        if a.count > 1 { for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, rng.int(i + 1)) } }
        return a
    }
    let held = shuffled(shared.filter { test.contains($0) }), rest = shuffled(shared.filter { !test.contains($0) })
    let rows = Array((held + rest).prefix(count)).sorted()
    let fromHeld = min(count, held.count)
    var text =
        "\(rows.count) of the \(shared.count) questions shared by Datasets/{\(probeDatasetNames.joined(separator: ","))}.csv, "
    text +=
        "ordered by seed \(seed): first the \(held.count) of the default split's test part (seed 0 over all \(reference.count) rows), "
    text += "which every run trained with the default seed on a full file held out (\(fromHeld) taken)"
    text += rows.count > fromHeld ? ", then \(rows.count - fromHeld) others, which such runs trained on" : ""
    text += ". Runs with another seed, a --limit or another file may have trained on some: see inTrainingSplit."
    return ProbeSelection(
        seed: seed, requested: count, rows: rows, questions: rows.map { reference[$0].prompt },
        heldOutByDefault: rows.map { test.contains($0) }, selection: text)
}
