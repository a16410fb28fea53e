// irm — Injectable Realignment Models on frozen Llama-family models. Argument parsing and commands only;
// the numerics live in the library targets.
import Foundation
import ModelIO
import Llama

let commands: [(spec: CommandSpec, run: (Arguments) throws -> Void)] = [
    (TokenizeCommand.spec, TokenizeCommand.run),
    (GenerateCommand.spec, GenerateCommand.run),
    (LogitsCommand.spec, LogitsCommand.run),
    (InfoCommand.spec, InfoCommand.run),
    (TrainCommand.spec, TrainCommand.run),
    (HeatmapCommand.spec, HeatmapCommand.run),
    (NeuronsCommand.spec, NeuronsCommand.run),
    (EvalCommand.spec, EvalCommand.run),
]

@MainActor func usage() -> String {
    var s = "irm — train and inspect Injectable Realignment Models on frozen Llama-family models\n\nusage: irm COMMAND [OPTIONS]\n\ncommands:\n"
    for c in commands { s += "  " + c.spec.name.padding(toLength: 10, withPad: " ", startingAt: 0) + c.spec.summary + "\n" }
    s += "  help      this text; `irm COMMAND --help` describes a command\n"
    return s
}

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("irm: \(message)\n".utf8))
    exit(code)
}

let argv = Array(CommandLine.arguments.dropFirst())
guard let name = argv.first, !["help", "--help", "-h"].contains(name) else {
    if argv.count >= 2, let c = commands.first(where: { $0.spec.name == argv[1] }) { print(c.spec.helpText, terminator: "") }
    else { print(usage(), terminator: "") }
    exit(0)
}
guard let command = commands.first(where: { $0.spec.name == name }) else {
    fail("unknown command '\(name)' (see irm help)", code: 2)
}
do {
    let args = try Arguments(Array(argv.dropFirst()), spec: command.spec)
    if args.wantsHelp { print(command.spec.helpText, terminator: ""); exit(0) }
    try command.run(args)
} catch let e as CLIError {
    fail(e.description.hasPrefix("irm ") ? String(e.description.dropFirst(4)) : e.description, code: 2)
} catch {
    fail("\(error)", code: 1)
}
