// The one error for "this file is wrong" (or cannot be read or written): a model, a tokenizer, a dataset, an IRM
// file, a run's files, an image, a neuron map, a sweep plan. Printed as one line, "<file>: <problem>", or
// "<file>:<line>: <problem>" when the problem is on a line of a text file.
//
// The other error types say something a file error cannot: `RunError` (Training) the state of a run folder
// (its lock is held, its split does not match its data), `LayerSpecError` a --layers value (a usage error, exit
// status 2), `KernelPathError` a kernel path this CPU cannot run, `NeuronCompareError` two valid maps that do not
// match each other.
import Foundation

public struct FileError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var message: String
    public init(_ file: String, line: Int? = nil, _ message: String) {
        self.file = file; self.line = line; self.message = message
    }
    public var description: String { singleLine("\(file)\(line.map { ":\($0)" } ?? ""): \(message)") }
}

/// An error as one line: a JSON decoding error names the key or path it failed at; any other error prints
/// itself through `singleLine`.
public func oneLineDescription(_ e: Error) -> String {
    if let d = e as? DecodingError {
        switch d {
        case .keyNotFound(let k, _): return "missing '\(k.stringValue)'"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            let at = c.codingPath.map(\.stringValue).joined(separator: ".")
            return singleLine((at.isEmpty ? "" : at + ": ") + c.debugDescription)
        @unknown default: return singleLine("\(d)")
        }
    }
    return singleLine("\(e)")
}
