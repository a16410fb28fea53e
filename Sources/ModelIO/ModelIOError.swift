// Errors a user can cause by pointing the program at a bad file. Printed as one line: "<file>: <problem>".
import Foundation

public struct ModelIOError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String
    public init(_ file: String, _ message: String) { self.file = file; self.message = message }
    public var description: String { singleLine("\(file): \(message)") }
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
