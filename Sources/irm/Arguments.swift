// Command-line options as declarations. Each option names itself, its value's placeholder, its help line and
// the property of a value type it fills (a key path); the parser fills a fresh value from the command line.
// A command's code reads typed fields, never names, so it cannot ask for an option it did not declare, and a
// name on the command line that no declaration has is an error naming the flag.
//   irm COMMAND [--flag VALUE | --flag=VALUE | --switch]... [POSITIONAL]...   ("--" ends the options)
import Foundation

/// A user mistake on the command line: one line on stderr, exit status 2. The dispatcher prefixes the
/// command ("irm train: ..."); `unknownOption` lets it say which sibling command has that option.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    var unknownOption: String? = nil
    init(_ m: String) { description = m }
}

/// One declared option of the value type `Root`.
struct Opt<Root> {
    let name: String  // without the leading "--"
    let placeholder: String?  // the value in the help ("N", "PATH"); nil for a switch
    let help: String
    var repeatable = false
    var required = false
    /// Parses one value (a switch gets "") into the root; throws a CLIError without the command prefix.
    let apply: (inout Root, String) throws -> Void
    /// The default the help shows, read from a fresh root; nil where there is none to show.
    let shownDefault: (Root) -> String?

    /// The same option on a type holding a `Root` at `path`: how a command includes an option group.
    func lifted<Outer>(_ path: WritableKeyPath<Outer, Root>) -> Opt<Outer> {
        let apply = self.apply, shown = self.shownDefault
        return Opt<Outer>(
            name: name, placeholder: placeholder, help: help, repeatable: repeatable, required: required,
            apply: { try apply(&$0[keyPath: path], $1) }, shownDefault: { shown($0[keyPath: path]) })
    }
}

// MARK: declarations, one per value type (a `T?` property: no default, absent stays nil)

extension Opt {
    private static func field<T>(
        _ name: String, _ placeholder: String, _ path: WritableKeyPath<Root, T>, _ help: String,
        required: Bool = false, parse: @escaping (String) throws -> T,
        show: @escaping (T) -> String?
    ) -> Opt {
        Opt(
            name: name, placeholder: placeholder, help: help, required: required,
            apply: { $0[keyPath: path] = try parse($1) }, shownDefault: { required ? nil : show($0[keyPath: path]) })
    }

    /// A switch; it sets the property to `sets` (`--no-chat` sets `chat` to false).
    static func flag(_ name: String, _ path: WritableKeyPath<Root, Bool>, _ help: String, sets: Bool = true) -> Opt {
        Opt(
            name: name, placeholder: nil, help: help, apply: { r, _ in r[keyPath: path] = sets },
            shownDefault: { _ in nil })
    }

    static func string(
        _ name: String, _ placeholder: String, _ path: WritableKeyPath<Root, String>, _ help: String,
        required: Bool = false
    ) -> Opt {
        field(
            name, placeholder, path, help, required: required, parse: { $0 },
            show: { $0.contains(" ") ? "\"\($0)\"" : $0 })
    }

    static func string(_ name: String, _ placeholder: String, _ path: WritableKeyPath<Root, String?>, _ help: String)
        -> Opt
    {
        field(name, placeholder, path, help, parse: { $0 }, show: { _ in nil })
    }

    /// Repeatable: each occurrence appends.
    static func strings(_ name: String, _ placeholder: String, _ path: WritableKeyPath<Root, [String]>, _ help: String)
        -> Opt
    {
        Opt(
            name: name, placeholder: placeholder, help: help, repeatable: true,
            apply: { $0[keyPath: path].append($1) }, shownDefault: { _ in nil })
    }

    static func int<I: FixedWidthInteger>(
        _ name: String, _ placeholder: String, _ path: WritableKeyPath<Root, I>,
        _ range: ClosedRange<Int>, _ help: String
    ) -> Opt {
        field(name, placeholder, path, help, parse: { I(try parseInt($0, name, range)) }, show: { "\($0)" })
    }

    static func int<I: FixedWidthInteger>(
        _ name: String, _ placeholder: String, _ path: WritableKeyPath<Root, I?>,
        _ range: ClosedRange<Int>, _ help: String
    ) -> Opt {
        field(name, placeholder, path, help, parse: { I(try parseInt($0, name, range)) }, show: { _ in nil })
    }

    static func float(
        _ name: String, _ placeholder: String, _ path: WritableKeyPath<Root, Float>,
        _ range: ClosedRange<Float>, _ help: String
    ) -> Opt {
        field(
            name, placeholder, path, help, parse: { try parseFloat($0, name, range) },
            show: { String(format: "%g", $0) })
    }

    static func float(
        _ name: String, _ placeholder: String, _ path: WritableKeyPath<Root, Float?>,
        _ range: ClosedRange<Float>, _ help: String
    ) -> Opt {
        field(name, placeholder, path, help, parse: { try parseFloat($0, name, range) }, show: { _ in nil })
    }

    /// One of an enum's raw values; the placeholder and the error list them all.
    static func choice<T: RawRepresentable & CaseIterable>(
        _ name: String, _ path: WritableKeyPath<Root, T>,
        _ help: String
    ) -> Opt where T.RawValue == String {
        field(name, choices(T.self, "|"), path, help, parse: { try parseChoice($0, name) }, show: { $0.rawValue })
    }

    static func choice<T: RawRepresentable & CaseIterable>(
        _ name: String, _ path: WritableKeyPath<Root, T?>,
        _ help: String
    ) -> Opt where T.RawValue == String {
        field(name, choices(T.self, "|"), path, help, parse: { try parseChoice($0, name) as T }, show: { _ in nil })
    }
}

// MARK: values

/// The range of a float option that takes any finite number.
let finiteFloats = -Float.greatestFiniteMagnitude...Float.greatestFiniteMagnitude

private func choices<T: RawRepresentable & CaseIterable>(_ t: T.Type, _ sep: String) -> String
where T.RawValue == String {
    T.allCases.map(\.rawValue).joined(separator: sep)
}

private func parseChoice<T: RawRepresentable & CaseIterable>(_ s: String, _ name: String) throws -> T
where T.RawValue == String {
    guard let v = T(rawValue: s) else { throw CLIError("--\(name) '\(s)' is not one of \(choices(T.self, ", "))") }
    return v
}

private func parseInt(_ s: String, _ name: String, _ range: ClosedRange<Int>) throws -> Int {
    guard let v = Int(s) else { throw CLIError("--\(name) expects an integer, got '\(s)'") }
    try checkRange(name, v, range)
    return v
}

private func parseFloat(_ s: String, _ name: String, _ range: ClosedRange<Float>) throws -> Float {
    guard let v = Float(s), v.isFinite else { throw CLIError("--\(name) expects a number, got '\(s)'") }
    try checkRange(name, v, range)
    return v
}

/// "--top must be in 1...1000, got 0": at parse time, and later where the bound depends on the model.
func checkRange<T: Comparable>(_ name: String, _ v: T, _ range: ClosedRange<T>) throws {
    guard !range.contains(v) else { return }
    throw CLIError("--\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(v)")
}

// MARK: the parser

/// A command line read against a value type's declarations: the filled value and the positionals.
struct Arguments<Root> {
    private(set) var values: Root
    private(set) var positionals: [String] = []

    init(_ argv: [String], options: [Opt<Root>], defaults: Root) throws {
        values = defaults
        var given = Set<String>()
        var i = 0
        while i < argv.count {
            let a = argv[i]
            i += 1
            if a == "--" { positionals += argv[i...]; break }
            guard a.hasPrefix("--"), a.count > 2 else { positionals.append(a); continue }
            var name = String(a.dropFirst(2)), inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...]); name = String(name[..<eq])
            }
            guard let opt = options.first(where: { $0.name == name }) else {
                var e = CLIError("unknown option --\(name)")
                e.unknownOption = name
                throw e
            }
            guard opt.repeatable || !given.contains(name) else { throw CLIError("--\(name) given twice") }
            given.insert(name)
            guard let placeholder = opt.placeholder else {
                guard inline == nil else { throw CLIError("--\(name) takes no value") }
                try opt.apply(&values, "")
                continue
            }
            let v: String
            if let inline {
                v = inline
            } else {
                guard i < argv.count else { throw CLIError("--\(name) needs a value (\(placeholder))") }
                v = argv[i]
                i += 1
            }
            try opt.apply(&values, v)
        }
        for o in options where o.required && !given.contains(o.name) { throw CLIError("--\(o.name) is required") }
    }
}
