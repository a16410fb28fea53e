// irm logits --prompt TEXT --out FILE — the final-position logits as little-endian f32.
import Foundation
import ModelIO
import Llama

enum LogitsCommand {
    static let spec = CommandSpec(
        name: "logits", summary: "write the logits after the prompt's last token (little-endian f32)",
        usage: "[--model M] --prompt TEXT --out FILE [--chat] [--all-positions]",
        options: modelOptions + [
            Option(name: "prompt", value: "TEXT", help: "the prompt (required)"),
            Option(name: "out", value: "FILE", help: "output file (required); [vocab] floats, or [tokens, vocab] with --all-positions"),
            Option(name: "chat", value: nil, help: "format the prompt with the chat template"),
            Option(name: "system", value: "TEXT", help: "system prompt for --chat"),
            Option(name: "all-positions", value: nil, help: "write the logits of every prompt position"),
        ])

    static func run(_ args: Arguments) throws {
        let prompt = try args.required("prompt"), outPath = try args.required("out")
        let lm = try loadModel(args)
        let ids = lm.promptTokens(prompt, chat: args.flag("chat"), system: args.string("system"))
        guard !ids.isEmpty else { throw CLIError("irm logits: the prompt encodes to no tokens") }
        let state = lm.model.makeState(capacity: ids.count)
        let logits = try lm.model.forward(ids, state: state, allLogits: args.flag("all-positions"))
        let data = logits.withUnsafeBufferPointer { Data(buffer: $0) }   // x86-64 and arm64 are little-endian
        try writeFileAtomically(data, to: outPath)
        FileHandle.standardError.write(Data("irm logits: \(ids.count) tokens, wrote \(logits.count) floats to \(outPath)\n".utf8))
    }
}
