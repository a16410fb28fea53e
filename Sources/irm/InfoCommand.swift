// irm info — the config, parameter count, tensor types and memory a model needs.
import Foundation
import Llama
import ModelIO
import Numerics

struct InfoCommand: Command {
    static let name = "info", summary = "describe a model: config, parameters, tensor types, memory"

    var model = ModelOptions(), threads = ThreadOptions()
    static var options: [Opt<Self>] { including(\.model) + including(\.threads) }

    func run() throws {
        threads.apply()
        let lm = try model.load()
        let m = lm.model, c = m.config
        func gb(_ b: Int) -> String { String(format: "%.2f GB", Double(b) / 1e9) }
        let kvPerToken = 2 * c.nLayers * c.kvDim * 4
        let ropeScalingText: String = c.ropeScaling.map { ", scaling " + $0.description } ?? ""
        var lines = [
            "model        \(m.path) (\(m.format.rawValue))",
            "layers       \(c.nLayers)",
            "hidden       \(c.dim)   (MLP \(c.hiddenDim))",
            "heads        \(c.nHeads) query / \(c.nKVHeads) key-value, head dim \(c.headDim)",
            "vocab        \(c.vocabSize)   (tokenizer: \(lm.tokenizer.vocabSize) tokens)",
            "rope theta   \(c.ropeTheta)\(ropeScalingText)",
            "norm eps     \(c.normEps)",
            "context      \(c.maxSeqLen)",
            "embeddings   \(c.tiedEmbeddings ? "tied (LM head = token embedding)" : "untied LM head")",
            "parameters   \(c.parameterCount) (" + String(format: "%.1f M)", Double(c.parameterCount) / 1e6),
            "file types   "
                + m.sourceTypes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "),
            "in memory    \(gb(m.weights.byteCount)) weights (matrices: "
                + Dictionary(grouping: m.weights.matrices, by: \.type.rawValue).sorted { $0.key < $1.key }
                .map { "\($0.key) ×\($0.value.count)" }.joined(separator: ", ") + ")",
            "KV cache     \(kvPerToken / 1024) KiB per token, \(gb(kvPerToken * c.maxSeqLen)) at full context",
            "chat         " + templateName(lm.template),
            "kernels      " + kernelPathDescription
        ]
        if let bos = lm.tokenizer.bosId {
            lines.append("bos/eos      \(bos) / \(lm.tokenizer.eosId.map(String.init) ?? "-")")
        }
        print(lines.joined(separator: "\n"))
    }
}

func templateName(_ t: ChatTemplate) -> String {
    switch t {
    case .chatml(let sys): "ChatML" + (sys.map { " (default system prompt: \"\($0)\")" } ?? "")
    case .llama2: "Llama-2-chat ([INST] <<SYS>> … [/INST])"
    case .llama3(let prefix):
        "Llama 3 (<|start_header_id|> … <|eot_id|>)"
            + (prefix == nil ? "" : ", with the 3.1 knowledge-date system text")
    }
}
