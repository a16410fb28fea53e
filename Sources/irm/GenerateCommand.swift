// irm generate --prompt TEXT [...] — stream a continuation to stdout.
import Foundation
import Llama
import ModelIO
import IRM
import Datasets
import Training
import Evaluation

enum GenerateCommand {
    static let spec = CommandSpec(
        name: "generate", summary: "generate a continuation of a prompt (streamed to stdout)",
        usage: "[--model M] --prompt TEXT [--chat] [--system S] [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]",
        options: modelOptions + [
            Option(name: "prompt", value: "TEXT", help: "the prompt (required)"),
            Option(name: "chat", value: nil, help: "format the prompt as a user turn with the model's chat template"),
            Option(name: "system", value: "TEXT", help: "system prompt for --chat (default: the template's own)"),
            Option(name: "max-tokens", value: "N", help: "tokens to generate at most (default 128)"),
            Option(name: "temperature", value: "T", help: "sampling temperature; 0 = greedy (default 0)"),
            Option(name: "top-k", value: "K", help: "sample among the K most likely tokens (default 0 = all)"),
            Option(name: "top-p", value: "P", help: "nucleus sampling mass (default 1 = off)"),
            Option(name: "seed", value: "S", help: "random seed (default 0)"),
            Option(name: "stats", value: nil, help: "print prefill/decode speed to stderr"),
            Option(name: "irm", value: "RUN", help: "inject a trained IRM (a run folder or an .safetensors file)"),
            Option(name: "compare", value: nil, help: "with --irm: print the continuation without and with the IRM"),
            Option(name: "strength", value: "S", help: "with --irm: scale the injection (default 1)"),
        ])

    static func sampling(_ args: Arguments) throws -> SamplingParams {
        SamplingParams(temperature: try args.float("temperature", default: 0, range: 0...100),
                       topK: try args.int("top-k", default: 0, range: 0...Int(Int32.max)),
                       topP: try args.float("top-p", default: 1, range: 0...1),
                       seed: UInt64(try args.int("seed", default: 0, range: 0...Int.max)))
    }

    static func run(_ args: Arguments) throws {
        if args.flag("compare") && args.string("irm") == nil { throw CLIError("irm generate: --compare needs --irm RUN") }
        let prompt = try args.required("prompt")
        let maxTokens = try args.int("max-tokens", default: 128, range: 1...1_000_000)
        let params = try sampling(args)
        let lm = try loadModel(args)
        let ids = lm.promptTokens(prompt, chat: args.flag("chat"), system: args.string("system"))
        guard !ids.isEmpty else { throw CLIError("irm generate: the prompt encodes to no tokens") }
        let capacity = min(ids.count + maxTokens, lm.model.config.maxSeqLen)
        guard ids.count < capacity else {
            throw CLIError("irm generate: the prompt has \(ids.count) tokens; the model's context is \(lm.model.config.maxSeqLen)")
        }
        var injector: IRMInjector? = nil
        if let r = args.string("irm") {
            injector = IRMInjector(net: try loadIRM(r, for: lm.model.config))
            injector!.strength = try args.float("strength", default: 1, range: -1000...1000)
        }
        if args.flag("compare"), let inj = injector {
            for (label, intervention) in [("without IRM", nil), ("with IRM", inj)] as [(String, IRMInjector?)] {
                var s = Sampler(params)
                let ids2 = try lm.model.generate(prompt: ids, maxTokens: capacity - ids.count, sampler: &s,
                                                 intervention: intervention, isStop: { lm.tokenizer.isEndOfGeneration($0) })
                let text = lm.tokenizer.decode(ids2.filter { !lm.tokenizer.isEndOfGeneration($0) }, skipSpecial: true)
                print("[\(label)]\n\(text)\n")
            }
            return
        }
        var sampler = Sampler(params)
        var decoder = StreamingDecoder(lm.tokenizer)
        let out = FileHandle.standardOutput
        let t0 = Date()
        var firstTokenAt: Date?
        let generated = try lm.model.generate(
            prompt: ids, maxTokens: capacity - ids.count, sampler: &sampler, intervention: injector,
            isStop: { lm.tokenizer.isEndOfGeneration($0) },
            onToken: { id in
                if firstTokenAt == nil { firstTokenAt = Date() }
                if !lm.tokenizer.isEndOfGeneration(id) { out.write(Data(decoder.push(id).utf8)) }
                return true
            })
        out.write(Data((decoder.flush() + "\n").utf8))
        if args.flag("stats"), let ft = firstTokenAt {
            let prefill = ft.timeIntervalSince(t0), decode = Date().timeIntervalSince(ft)
            let line = String(format: "[prompt %d tokens, %.1f tok/s; generated %d tokens, %.1f tok/s]\n",
                              ids.count, Double(ids.count) / prefill, generated.count,
                              Double(max(generated.count - 1, 0)) / max(decode, 1e-9))
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
