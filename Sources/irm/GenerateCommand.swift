// irm generate --prompt TEXT [...] — stream a continuation to stdout.
import Foundation
import Llama
import Numerics
import ModelIO
import IRM
import Datasets
import Training
import Evaluation

struct GenerateCommand: Command {
    static let name = "generate", summary = "generate a continuation of a prompt (streamed to stdout)"

    var model = ModelOptions(), threads = ThreadOptions(), decode = DecodeOptions(), prompt = PromptOptions()
    var sampling = SamplingOptions()
    var maxTokens = 128, stats = false
    var irm: String?, compare = false, strength: Float = 1

    static var options: [Opt<Self>] {
        including(\.model) + including(\.threads) + including(\.decode) + including(\.prompt) + including(\.sampling)
            + [
                .int("max-tokens", "N", \.maxTokens, 1...1_000_000, "tokens to generate at most"),
                .flag("stats", \.stats, "print prefill/decode speed to stderr"),
                .string("irm", "RUN", \.irm, "inject a trained IRM (a run folder or an .safetensors file)"),
                .flag("compare", \.compare, "with --irm: print the continuation without and with the IRM"),
                .float("strength", "S", \.strength, -1000...1000, "with --irm: scale the injection")
            ]
    }

    func run() throws {
        if compare && irm == nil { throw CLIError("--compare needs --irm RUN") }
        let params = sampling.params
        threads.apply()
        try decode.apply()
        let lm = try model.load()
        let ids = try prompt.tokens(lm)
        let capacity = min(ids.count + maxTokens, lm.model.config.maxSeqLen)
        guard ids.count < capacity else {
            throw CLIError("the prompt has \(ids.count) tokens; the model's context is \(lm.model.config.maxSeqLen)")
        }
        var injector: IRMInjector? = nil
        if let irm {
            injector = IRMInjector(net: try loadIRM(irm, for: lm.model.config))
            injector!.strength = strength
        }
        if compare, let inj = injector {
            for (label, intervention) in [("without IRM", nil), ("with IRM", inj)] as [(String, IRMInjector?)] {
                var s = Sampler(params)
                let ids2 = try lm.model.generate(
                    prompt: ids, maxTokens: capacity - ids.count, sampler: &s,
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
        if stats, let ft = firstTokenAt, !ids.isEmpty {
            let prefill = ft.timeIntervalSince(t0), decode = Date().timeIntervalSince(ft)
            // A prompt of a few tokens says little about prefill speed: time a 128-token one as well (the
            // prompt's tokens repeated), in a fresh cache.
            let n = min(128, lm.model.config.maxSeqLen)
            let long = (0..<n).map { ids[$0 % ids.count] }
            let t1 = Date()
            try lm.model.forward(long, state: lm.model.makeState(capacity: n), intervention: injector)
            let prefill128 = Date().timeIntervalSince(t1)
            let line = String(
                format:
                    "[prompt %d tokens, %.1f tok/s; generated %d tokens, %.1f tok/s; prefill of %d tokens, %.1f tok/s; kernels %@]\n",
                ids.count, Double(ids.count) / prefill, generated.count,
                Double(max(generated.count - 1, 0)) / max(decode, 1e-9), n, Double(n) / prefill128,
                kernelPath.rawValue)
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
