// Striation statistics of what an IRM injects, on the same footing for every run: the IRM's output over
// many tokens, averaged into a [layers × hidden] mean matrix M (and a magnitude matrix of mean |value|),
// split by a two-way decomposition into what the hidden index explains (vertical stripes: the same index
// strong in every layer, the paper's finding), what the layer explains (bands) and what is left; the
// strongest indices, how many layers each leads, and how often a token's own strongest index is the run's
// dominant one. The types these fill are in AnalysisReport.swift.
import Foundation
import IRM

// MARK: - Two-way decomposition

/// M[j,i] = μ + r_j + c_i + e_ji for m [L, h] row-major (see VarianceShares). All zeros for a constant matrix.
public func varianceShares(_ m: [Double], layers L: Int, hidden h: Int) -> VarianceShares {
    precondition(L > 0 && h > 0 && m.count == L * h)
    let mu = m.reduce(0, +) / Double(L * h)
    var row = [Double](repeating: 0, count: L), col = [Double](repeating: 0, count: h)
    for j in 0..<L { for i in 0..<h { row[j] += m[j * h + i]; col[i] += m[j * h + i] } }
    for j in 0..<L { row[j] = row[j] / Double(h) - mu }
    for i in 0..<h { col[i] = col[i] / Double(L) - mu }
    var total = 0.0, residual = 0.0
    for j in 0..<L {
        for i in 0..<h {
            let d = m[j * h + i] - mu, e = d - row[j] - col[i]
            total += d * d; residual += e * e
        }
    }
    guard total > 0 else { return VarianceShares(index: 0, layer: 0, residual: 0, total: 0, grandMean: mu) }
    let index = Double(L) * col.reduce(0) { $0 + $1 * $1 }, layer = Double(h) * row.reduce(0) { $0 + $1 * $1 }
    return VarianceShares(
        index: index / total, layer: layer / total, residual: residual / total, total: total, grandMean: mu)
}

/// Mean over the rows of m [L, h] row-major, per column (per hidden index: the stripe a vertical band makes).
public func columnMeans<F: BinaryFloatingPoint>(_ m: [F], layers L: Int, hidden h: Int) -> [Double] {
    precondition(L > 0 && m.count == L * h)
    var col = [Double](repeating: 0, count: h)
    for j in 0..<L { for i in 0..<h { col[i] += Double(m[j * h + i]) } }
    return col.map { $0 / Double(L) }
}

// MARK: - The strongest indices

/// ⌈h/100⌉: how many indices of a layer make its top 1 %.
public func topPercentCount(hidden h: Int) -> Int { max(1, (h + 99) / 100) }

/// The `count` indices with the largest |column mean| of `mean` [L, h] (ties: lower index first), with the
/// measures of TopIndex; `magnitude` [L, h] gives their mean |value|.
public func strongestIndices(mean m: [Double], magnitude: [Double], layers L: Int, hidden h: Int, count: Int)
    -> [TopIndex]
{
    precondition(m.count == L * h && magnitude.count == L * h)
    let col = columnMeans(m, layers: L, hidden: h), colAbs = columnMeans(magnitude, layers: L, hidden: h)
    let absSum = col.reduce(0) { $0 + abs($1) }, energy = m.reduce(0) { $0 + $1 * $1 }
    let order = (0..<h).sorted { abs(col[$0]) != abs(col[$1]) ? abs(col[$0]) > abs(col[$1]) : $0 < $1 }
    // In how many layers each index is among that layer's top 1 % by |M[j, ·]|.
    let p = topPercentCount(hidden: h)
    var leads = [Int](repeating: 0, count: h)
    for j in 0..<L {
        let rowTop = (0..<h).sorted {
            abs(m[j * h + $0]) != abs(m[j * h + $1]) ? abs(m[j * h + $0]) > abs(m[j * h + $1]) : $0 < $1
        }
        for i in rowTop.prefix(p) { leads[i] += 1 }
    }
    return order.prefix(count).map { i in
        TopIndex(
            index: i, columnMean: col[i], columnMeanAbs: colAbs[i], share: absSum > 0 ? abs(col[i]) / absSum : 0,
            energyShare: energy > 0 ? Double(L) * col[i] * col[i] / energy : 0, layersInTopPercent: leads[i])
    }
}

// MARK: - Recording the IRM's output

/// Accumulates the IRM's output rows [n, h·L] (the reference layout, i·L + j) over tokens: the mean and
/// magnitude matrices [L, h] and each token's strongest index (largest |mean over layers|).
public final class StriationRecorder {
    public let hidden: Int, slots: Int
    public private(set) var tokens = 0
    var sum: [Double], sumAbs: [Double], sumSquares: [Double]
    var strongest: [Int] = []

    public init(hidden: Int, slots: Int) {
        self.hidden = hidden; self.slots = slots
        sum = [Double](repeating: 0, count: hidden * slots)
        sumAbs = sum
        sumSquares = sum
    }

    /// Records every output block `injector` computes from now on.
    public func attach(to injector: IRMInjector) {
        injector.onOutput = { [unowned self] p, n in self.add(p, count: n) }
    }

    public func add(_ rows: UnsafePointer<Float>, count n: Int) {
        let h = hidden, L = slots
        for r in 0..<n {
            let o = rows + r * h * L
            var best = 0, bestValue = -1.0
            for i in 0..<h {
                var s = 0.0
                for j in 0..<L {
                    let v = Double(o[i * L + j])
                    sum[j * h + i] += v; sumAbs[j * h + i] += abs(v); sumSquares[j * h + i] += v * v; s += v
                }
                if abs(s) > bestValue { bestValue = abs(s); best = i }
            }
            strongest.append(best)
        }
        tokens += n
    }

    /// M [L, h] and the magnitude matrix [L, h] (zeros before any token).
    public var mean: [Double] { sum.map { $0 / Double(max(tokens, 1)) } }
    public var magnitude: [Double] { sumAbs.map { $0 / Double(max(tokens, 1)) } }

    /// Per index: Σ_j M[j,i]² / Σ_j mean_t o[t,j,i]² (TopIndex.constantShare); 0 for an index that is always 0.
    public var constantShares: [Double] {
        let h = hidden, L = slots, m = mean, n = Double(max(tokens, 1))
        return (0..<h).map { i in
            var c = 0.0, all = 0.0
            for j in 0..<L { c += m[j * h + i] * m[j * h + i]; all += sumSquares[j * h + i] / n }
            return all > 0 ? min(1, c / all) : 0
        }
    }

    /// The statistics of everything recorded; `meanMatrixCSV` names the file the caller writes M to.
    public func report(top: Int = 16, meanMatrixCSV: String = "") -> StriationReport {
        let h = hidden, L = slots, m = mean, a = magnitude
        var topIdx = strongestIndices(mean: m, magnitude: a, layers: L, hidden: h, count: min(top, h))
        let shares = constantShares
        for k in topIdx.indices { topIdx[k].constantShare = shares[topIdx[k].index] }
        let dominant = topIdx[0].index
        let onDominant = strongest.filter { $0 == dominant }.count
        return StriationReport(
            tokens: tokens, signed: varianceShares(m, layers: L, hidden: h),
            magnitude: varianceShares(a, layers: L, hidden: h), dominantIndex: dominant,
            dominantShare: topIdx[0].share, topPercentCount: topPercentCount(hidden: h), topIndices: topIdx,
            dominantTokenShare: tokens > 0 ? Double(onDominant) / Double(tokens) : 0,
            meanMatrixCSV: meanMatrixCSV)
    }
}

extension StriationReport {
    /// The row of striation.csv these statistics make at training step `step`.
    public func point(step: Int) -> StriationPoint {
        StriationPoint(
            step: step, indexShare: signed.index, layerShare: signed.layer, absIndexShare: magnitude.index,
            dominantIndex: dominantIndex, dominantShare: dominantShare, tokens: tokens)
    }
}
