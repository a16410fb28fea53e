// irm logits --prompt TEXT --out FILE — the final-position logits as little-endian f32.
import Foundation
import ModelIO
import Llama

struct LogitsCommand: Command {
    static let name = "logits", summary = "write the logits after the prompt's last token (little-endian f32)"

    var model = ModelOptions(), threads = ThreadOptions(), prompt = PromptOptions()
    var out = "", allPositions = false

    static var options: [Opt<Self>] {
        including(\.model) + including(\.threads) + including(\.prompt) + [
            .string(
                "out", "FILE", \.out, "output file: [vocab] floats, or [tokens, vocab] with --all-positions",
                required: true),
            .flag("all-positions", \.allPositions, "write the logits of every prompt position")
        ]
    }

    func run() throws {
        threads.apply()
        let lm = try model.load()
        let ids = try prompt.tokens(lm)
        let state = lm.model.makeState(capacity: ids.count)
        let logits = try lm.model.forward(ids, state: state, allLogits: allPositions)
        let data = logits.withUnsafeBufferPointer { Data(buffer: $0) }  // x86-64 and arm64 are little-endian
        try writeFileAtomically(data, to: out)
        FileHandle.standardError.write(
            Data("irm logits: \(ids.count) tokens, wrote \(logits.count) floats to \(out)\n".utf8))
    }
}
