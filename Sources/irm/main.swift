// irm — Injectable Realignment Models on frozen Llama-family models. Argument parsing and commands only;
// the numerics live in the library targets. The table below is every command there is (Command.swift).
import ModelIO

let irm = CommandEntry.group(
    "irm", "train and inspect Injectable Realignment Models on frozen Llama-family models",
    [
        .command(TokenizeCommand.self),
        .command(GenerateCommand.self),
        .command(LogitsCommand.self),
        .command(InfoCommand.self),
        .command(TrainCommand.self),
        .command(SweepCommand.self),
        .command(SweepReportCommand.self),
        .command(HeatmapCommand.self),
        neuronsCommand,
        .command(EvalCommand.self),
        .command(AnalyzeCommand.self),
        .command(ExportCommand.self),
        .command(ReportCommand.self)
    ])

ignoreFileSizeSignal()  // a file-size limit becomes a write error naming the file, not a silent kill
runCommandLine(Array(CommandLine.arguments.dropFirst()), root: irm)
