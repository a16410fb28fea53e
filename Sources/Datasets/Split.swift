// Deterministic train/val/test split of a dataset's examples by seed. Stored in the run's config.json, so
// a run can be resumed or evaluated on exactly the examples it held out.
import Numerics

public struct DatasetSplit: Codable, Sendable, Equatable {
    public var seed: UInt64
    /// Number of examples the split was made for.
    public var count: Int
    /// Indices into the example list, each list ascending; together a partition of 0..<count.
    public var trainIndices: [Int]
    public var valIndices: [Int]
    public var testIndices: [Int]

    /// Shuffles 0..<count with `Rng(seed:)` (Fisher–Yates), takes the first round(count·val) indices for
    /// validation, the next round(count·test) for test and the rest for training. With count ≥ 3 val and test
    /// get at least one example each and train keeps at least one; smaller datasets are all train.
    /// Our five CSVs list the same questions in the same order, so one seed holds out the same questions
    /// in each of them.
    public static func make(
        count: Int, seed: UInt64,
        fractions: (train: Double, val: Double, test: Double) = (0.90, 0.05, 0.05)
    ) -> DatasetSplit {
        precondition(count >= 0 && fractions.val >= 0 && fractions.test >= 0)
        var perm = Array(0..<count)
        var rng = Rng(seed: seed)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) { perm.swapAt(i, rng.int(i + 1)) }
        }
        let total = fractions.train + fractions.val + fractions.test
        let fv = total > 0 ? fractions.val / total : 0, ft = total > 0 ? fractions.test / total : 0
        var nVal = Int((Double(count) * fv).rounded()), nTest = Int((Double(count) * ft).rounded())
        if count >= 3 {
            nVal = max(1, nVal); nTest = max(1, nTest)
            while nVal + nTest > count - 1 { if nVal >= nTest { nVal -= 1 } else { nTest -= 1 } }
        } else {
            nVal = 0; nTest = 0
        }
        return DatasetSplit(
            seed: seed, count: count,
            trainIndices: perm[(nVal + nTest)...].sorted(),
            valIndices: perm[..<nVal].sorted(),
            testIndices: perm[nVal..<(nVal + nTest)].sorted())
    }

    /// The three parts of `items` (which must have `count` elements).
    public func apply<T>(_ items: [T]) -> (train: [T], val: [T], test: [T]) {
        precondition(items.count == count, "split made for \(count) items, given \(items.count)")
        return (trainIndices.map { items[$0] }, valIndices.map { items[$0] }, testIndices.map { items[$0] })
    }

    /// Whether the indices are a partition of 0..<count (a split read back from a config.json is checked).
    public var isValid: Bool {
        // Sizes first: `count` comes from a file and must not size the table below unless the lists add up.
        guard count >= 0, trainIndices.count + valIndices.count + testIndices.count == count else { return false }
        var seen = [Bool](repeating: false, count: count)
        for i in trainIndices + valIndices + testIndices {
            guard i >= 0 && i < count && !seen[i] else { return false }
            seen[i] = true
        }
        return !seen.contains(false)
    }
}
