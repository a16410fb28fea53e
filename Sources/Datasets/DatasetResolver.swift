// `--dataset NAME` -> `Datasets/NAME.csv`; `--dataset PATH` -> that file.
import Foundation
import ModelIO

/// A path to an existing file is returned as given. Otherwise a bare name (no '/') resolves to
/// `datasetsDir/NAME.csv` (a trailing ".csv" on the name is allowed). An unknown name is an error that lists
/// the names available in `datasetsDir`.
public func resolveDataset(_ nameOrPath: String, datasetsDir: String) throws -> String {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    if fm.fileExists(atPath: nameOrPath, isDirectory: &isDir) {
        guard !isDir.boolValue else { throw FileError(nameOrPath, "is a directory, not a dataset file") }
        return nameOrPath
    }
    if nameOrPath.contains("/") { throw FileError(nameOrPath, "no such file") }
    var name = nameOrPath
    if name.lowercased().hasSuffix(".csv") { name = String(name.dropLast(4)) }
    let candidate = (datasetsDir as NSString).appendingPathComponent(name + ".csv")
    if fm.fileExists(atPath: candidate) { return candidate }
    let names = availableDatasets(datasetsDir: datasetsDir)
    let list = names.isEmpty ? "none found in \(datasetsDir)" : names.joined(separator: ", ")
    throw FileError(nameOrPath, "no such dataset or file (datasets in \(datasetsDir): \(list))")
}

/// The names of the CSV datasets in `datasetsDir`, sorted.
public func availableDatasets(datasetsDir: String) -> [String] {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: datasetsDir)) ?? []
    return files.filter { $0.lowercased().hasSuffix(".csv") }.map { String($0.dropLast(4)) }.sorted()
}
