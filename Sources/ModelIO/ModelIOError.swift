// Errors a user can cause by pointing the program at a bad file. Printed as one line: "<file>: <problem>".

public struct ModelIOError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String
    public init(_ file: String, _ message: String) { self.file = file; self.message = message }
    public var description: String { "\(file): \(message)" }
}
