// The heatmap matrices' CSV codec (heatmap.csv, analysis_mean.csv): one writer and one strict reader of the same
// format, `layer,0,1,…,cols−1` then one labelled row per layer.
import Foundation
import ModelIO

/// The matrix as CSV: header `layer,0,1,…,cols−1`, then one line per row starting with its label
/// (row index when `rowLabels` does not have one per row). Values use Swift's shortest round-trip form.
public func matrixCSV(values: [Float], rows: Int, cols: Int, rowLabels: [String] = []) -> String {
    precondition(values.count == rows * cols, "matrixCSV: \(values.count) values for \(rows)×\(cols)")
    func field(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
    var out = "layer"
    for c in 0..<cols { out += ",\(c)" }
    out += "\n"
    for r in 0..<rows {
        out += field(rowLabels.count == rows ? rowLabels[r] : String(r))
        for c in 0..<cols { out += ",\(values[r * cols + c])" }
        out += "\n"
    }
    return out
}

public func writeMatrixCSV(values: [Float], rows: Int, cols: Int, rowLabels: [String] = [], path: String) throws {
    guard values.count == rows * cols else {
        throw FileError(path, "matrix needs rows × cols = \(rows) × \(cols) values, got \(values.count)")
    }
    try writeTextAtomically(path, matrixCSV(values: values, rows: rows, cols: cols, rowLabels: rowLabels))
}

/// A matrix read back from `matrixCSV`'s format: row labels, column count, values row-major.
public struct LabelledMatrix: Sendable {
    public var rowLabels: [String]
    public var cols: Int
    public var values: [Float]
    public var rows: Int { rowLabels.count }
}

/// Parses `matrixCSV`'s output: header `layer,0,1,…`, then one line per row (its label, possibly quoted,
/// then one finite number per column). At most `maxValues` values; every problem names the line.
public func parseMatrixCSV(_ text: String, path: String, maxValues: Int = 1 << 26) throws -> LabelledMatrix {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
        $0.hasSuffix("\r") ? $0.dropLast() : $0
    }
    if lines.last?.isEmpty == true { lines.removeLast() }
    guard let header = lines.first, header.hasPrefix("layer,") else {
        throw FileError(path, "line 1: expected the header 'layer,0,1,…'")
    }
    let cols = header.split(separator: ",", omittingEmptySubsequences: false).count - 1
    guard cols >= 1, (lines.count - 1) * cols <= maxValues else {
        throw FileError(path, "a \(lines.count - 1) × \(cols) matrix is larger than \(maxValues) values")
    }
    var m = LabelledMatrix(rowLabels: [], cols: cols, values: [])
    m.values.reserveCapacity((lines.count - 1) * cols)
    for (k, line) in lines.enumerated().dropFirst() {
        var rest = Substring(line), label = ""
        if rest.hasPrefix("\"") {
            // A quoted label: "" inside stands for one quote.
            var i = rest.index(after: rest.startIndex), closed = false
            while i < rest.endIndex {
                if rest[i] == "\"" {
                    let n = rest.index(after: i)
                    if n < rest.endIndex && rest[n] == "\"" { label.append("\""); i = rest.index(after: n); continue }
                    closed = true; i = n; break
                }
                label.append(rest[i]); i = rest.index(after: i)
            }
            guard closed else { throw FileError(path, "line \(k + 1): unterminated quoted label") }
            rest = rest[i...]
        } else {
            let end = rest.firstIndex(of: ",") ?? rest.endIndex
            label = String(rest[..<end]); rest = rest[end...]
        }
        let fields = rest.split(separator: ",", omittingEmptySubsequences: false).dropFirst()
        guard rest.hasPrefix(","), fields.count == cols else {
            throw FileError(path, "line \(k + 1): expected \(cols) values after the label")
        }
        for f in fields {
            guard let v = Float(f), v.isFinite else {
                throw FileError(path, "line \(k + 1): '\(f)' is not a finite number")
            }
            m.values.append(v)
        }
        m.rowLabels.append(label)
    }
    guard m.rows > 0 else { throw FileError(path, "no rows after the header") }
    return m
}
