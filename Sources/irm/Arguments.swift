// Command-line parsing: `irm COMMAND [--flag VALUE | --flag=VALUE | --switch]... [POSITIONAL]...`.
// Each command declares its options; anything else is an error naming the flag.

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ m: String) { description = m }
}

struct Option {
    let name: String          // without the leading "--"
    let value: String?        // placeholder for the value, nil for a switch
    let help: String
    var repeatable = false
}

struct CommandSpec {
    let name: String
    let summary: String
    let usage: String         // after "irm NAME "
    let options: [Option]
    var positional: String? = nil   // help for positionals; nil = none allowed

    var helpText: String {
        var s = "irm \(name) — \(summary)\n\nusage: irm \(name) \(usage)\n"
        if !options.isEmpty {
            s += "\noptions:\n"
            let width = options.map { $0.name.count + ($0.value.map { $0.count + 1 } ?? 0) }.max()! + 4
            for o in options {
                let left = "--\(o.name)" + (o.value.map { " \($0)" } ?? "")
                s += "  " + left.padding(toLength: width, withPad: " ", startingAt: 0) + o.help + "\n"
            }
            s += "  " + "--help".padding(toLength: width, withPad: " ", startingAt: 0) + "show this help\n"
        }
        return s
    }
}

struct Arguments {
    let spec: CommandSpec
    private(set) var values: [String: [String]] = [:]
    private(set) var positionals: [String] = []
    private(set) var wantsHelp = false

    init(_ argv: [String], spec: CommandSpec) throws {
        self.spec = spec
        var i = 0
        while i < argv.count {
            let a = argv[i]
            i += 1
            if a == "--" { positionals += argv[i...]; break }
            guard a.hasPrefix("--"), a.count > 2 else {
                guard spec.positional != nil else { throw CLIError("irm \(spec.name): unexpected argument '\(a)'") }
                positionals.append(a)
                continue
            }
            var name = String(a.dropFirst(2)), inline: String? = nil
            if let eq = name.firstIndex(of: "=") { inline = String(name[name.index(after: eq)...]); name = String(name[..<eq]) }
            if name == "help" { wantsHelp = true; continue }
            guard let opt = spec.options.first(where: { $0.name == name }) else {
                throw CLIError("irm \(spec.name): unknown option --\(name) (see irm \(spec.name) --help)")
            }
            if opt.value == nil {
                guard inline == nil else { throw CLIError("irm \(spec.name): --\(name) takes no value") }
                values[name, default: []].append("true")
                continue
            }
            let v: String
            if let inline { v = inline } else {
                guard i < argv.count else { throw CLIError("irm \(spec.name): --\(name) needs a value (\(opt.value!))") }
                v = argv[i]
                i += 1
            }
            if !opt.repeatable, values[name] != nil { throw CLIError("irm \(spec.name): --\(name) given twice") }
            values[name, default: []].append(v)
        }
    }

    func string(_ name: String) -> String? { values[name]?.last }
    func strings(_ name: String) -> [String] { values[name] ?? [] }
    func flag(_ name: String) -> Bool { values[name] != nil }

    func int(_ name: String, default d: Int, range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let s = string(name) else { return d }
        guard let v = Int(s) else { throw CLIError("irm \(spec.name): --\(name) expects an integer, got '\(s)'") }
        guard range.contains(v) else {
            throw CLIError("irm \(spec.name): --\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(v)")
        }
        return v
    }

    func float(_ name: String, default d: Float, range: ClosedRange<Float> = -Float.greatestFiniteMagnitude...Float.greatestFiniteMagnitude) throws -> Float {
        guard let s = string(name) else { return d }
        guard let v = Float(s), v.isFinite else { throw CLIError("irm \(spec.name): --\(name) expects a number, got '\(s)'") }
        guard range.contains(v) else {
            throw CLIError("irm \(spec.name): --\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(v)")
        }
        return v
    }

    func required(_ name: String) throws -> String {
        guard let s = string(name) else { throw CLIError("irm \(spec.name): --\(name) is required") }
        return s
    }

    func choice<T: RawRepresentable>(_ name: String, default d: T) throws -> T where T.RawValue == String {
        guard let s = string(name) else { return d }
        guard let v = T(rawValue: s) else { throw CLIError("irm \(spec.name): --\(name) '\(s)' is not one of the allowed values") }
        return v
    }
}
