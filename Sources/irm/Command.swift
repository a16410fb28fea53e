// The command table: every command and subcommand is a value type that declares its name, summary, options
// and positional; help texts, usage lines and the dispatch are generated from those declarations.
import Foundation
import ModelIO  // singleLine
import Training  // LayerSpecError: a flag's value, so a usage error

/// A value type made of options: an option group several commands include, or a command.
protocol OptionGroup {
    static var options: [Opt<Self>] { get }
}

extension OptionGroup {
    /// The options of the group at `path` (default: all of them), filling that group.
    static func including<G: OptionGroup>(_ path: WritableKeyPath<Self, G>, _ options: [Opt<G>] = G.options) -> [Opt<
        Self
    >] {
        options.map { $0.lifted(path) }
    }
}

protocol Command: OptionGroup {
    static var name: String { get }
    static var summary: String { get }
    /// The usage after "irm ... NAME"; nil = generated from the required options and the positional.
    static var usage: String? { get }
    /// The one positional argument a command may take: its placeholder and where it goes.
    static var positional: (name: String, path: WritableKeyPath<Self, String>)? { get }
    init()
    func run() throws
}

extension Command {
    static var usage: String? { nil }
    static var positional: (name: String, path: WritableKeyPath<Self, String>)? { nil }
}

/// One row of the command table: a command, or a group of subcommands (the root `irm` is one too).
struct CommandEntry {
    let name: String
    let summary: String
    let optionNames: Set<String>
    let subcommands: [CommandEntry]
    /// The help text, given the words that lead to the entry ("irm neurons map").
    let help: (_ path: String) -> String
    let run: (_ argv: [String]) throws -> Void

    static func command<C: Command>(_ c: C.Type) -> CommandEntry {
        let names = C.options.map(\.name)
        precondition(
            Set(names).count == names.count && !names.contains("help"), "irm \(C.name): an option is declared twice")
        return CommandEntry(
            name: C.name, summary: C.summary, optionNames: Set(names), subcommands: [],
            help: { commandHelp(C.self, path: $0) }, run: { try runCommand(C.self, $0) })
    }

    static func group(_ name: String, _ summary: String, _ subcommands: [CommandEntry]) -> CommandEntry {
        CommandEntry(
            name: name, summary: summary, optionNames: [], subcommands: subcommands,
            help: { groupHelp(summary, subcommands, path: $0) }, run: { _ in })
    }

    func subcommand(_ name: String) -> CommandEntry? { subcommands.first { $0.name == name } }
}

private func runCommand<C: Command>(_ c: C.Type, _ argv: [String]) throws {
    let args = try Arguments(argv, options: C.options, defaults: C())
    if let (name, path) = C.positional {
        guard args.positionals.count == 1 else {
            throw CLIError("give exactly one \(name) argument (quote it if it has spaces)")
        }
        var values = args.values
        values[keyPath: path] = args.positionals[0]
        try values.run()
        return
    }
    if let extra = args.positionals.first { throw CLIError("unexpected argument '\(extra)'") }
    try args.values.run()
}

// MARK: help

/// Two aligned columns; the right one wraps at 110 characters, under itself, never inside `nonBreaking`.
private let nonBreaking = "\u{00A0}"
func columns(_ rows: [(String, String)]) -> String {
    let width = (rows.map(\.0.count).max() ?? 0) + 2
    return rows.map { left, right in
        var lines = [""], words = right.split(separator: " ")
        while !words.isEmpty {
            let w = words.removeFirst()
            if !lines[lines.count - 1].isEmpty, 2 + width + lines[lines.count - 1].count + 1 + w.count > 110 {
                lines.append("")
            }
            lines[lines.count - 1] += (lines[lines.count - 1].isEmpty ? "" : " ") + w
        }
        let indent = String(repeating: " ", count: 2 + width)
        return "  " + left.padding(toLength: width, withPad: " ", startingAt: 0)
            + lines.joined(separator: "\n" + indent).replacingOccurrences(of: nonBreaking, with: " ") + "\n"
    }.joined()
}

private func commandHelp<C: Command>(_ c: C.Type, path: String) -> String {
    let defaults = C()
    func left(_ o: Opt<C>) -> String { "--\(o.name)" + (o.placeholder.map { " \($0)" } ?? "") }
    let generated =
        (C.options.filter(\.required).map(left) + (C.options.contains { !$0.required } ? ["[options]"] : [])
        + (C.positional.map { [$0.name] } ?? [])).joined(separator: " ")
    var rows = C.options.map { o -> (String, String) in
        let note =
            o.required ? " (required)" : o.shownDefault(defaults).map { " (default" + nonBreaking + $0 + ")" } ?? ""
        return (left(o), o.help + note + (o.repeatable ? "; repeatable" : ""))
    }
    rows.append(("--help", "show this help"))
    return "\(path) — \(C.summary)\n\nusage: \(path) \(C.usage ?? generated)\n\noptions:\n" + columns(rows)
}

private func groupHelp(_ summary: String, _ subs: [CommandEntry], path: String) -> String {
    let word = path == "irm" ? "COMMAND" : "SUBCOMMAND"
    return "\(path) — \(summary)\n\nusage: \(path) \(word) [options]\n\n\(word.lowercased())s:\n"
        + columns(
            subs.map { ($0.name, $0.summary) } + [
                ("help", "this text; `\(path) \(word) --help` describes a \(word.lowercased())")
            ])
}

// MARK: dispatch

/// One line whatever the message holds: names from files go through `singleLine` (control characters escaped).
private func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("\(singleLine(message))\n".utf8))
    exit(code)
}

/// Walks the words of `argv` down the table to a command and runs it; `help` and `--help` print the help
/// of the entry they name. Never returns: the exit status is 0, 2 for a CLIError, 1 for any other error.
func runCommandLine(_ argv: [String], root: CommandEntry) -> Never {
    var entry = root, parent = root, path = root.name, rest = argv[...]
    func unknown(_ n: String, in e: CommandEntry, _ p: String) -> Never {
        let word = p == root.name ? "command" : "subcommand"
        fail(
            "\(p): unknown \(word) '\(n)' (one of \(e.subcommands.map(\.name).joined(separator: ", ")); see \(p) --help)",
            code: 2)
    }
    while !entry.subcommands.isEmpty {
        guard let word = rest.first else {
            if path == root.name { print(root.help(path), terminator: ""); exit(0) }
            fail(
                "\(path): give a subcommand: \(entry.subcommands.map(\.name).joined(separator: ", ")) (see \(path) --help)",
                code: 2)
        }
        if ["help", "--help", "-h"].contains(word) {  // irm help [NAME...], irm neurons --help
            var target = entry, targetPath = path
            for n in rest.dropFirst() {
                guard let s = target.subcommand(n) else { unknown(n, in: target, targetPath) }
                target = s; targetPath += " " + n
            }
            print(target.help(targetPath), terminator: "")
            exit(0)
        }
        guard let next = entry.subcommand(word) else { unknown(word, in: entry, path) }
        parent = entry; entry = next; path += " " + word; rest = rest.dropFirst()
    }
    if rest.prefix(while: { $0 != "--" }).contains("--help") { print(entry.help(path), terminator: ""); exit(0) }
    do {
        try entry.run(Array(rest))
        exit(0)
    } catch let e as CLIError {
        var m = e.description
        // An option of a sibling command: say where it belongs.
        if let name = e.unknownOption {
            let owners = parent.subcommands.filter { $0.optionNames.contains(name) }.map(\.name)
            m =
                owners.isEmpty
                ? "unknown option --\(name) (see \(path) --help)"
                : "--\(name) does not apply (it is an option of \(owners.joined(separator: ", ")); see \(path) --help)"
        }
        fail("\(path): \(m)", code: 2)
    } catch let e as LayerSpecError {
        fail("\(path): \(e)", code: 2)
    } catch {
        fail("\(path): \(error)", code: 1)
    }
}
