// A model ready for text: weights, the tokenizer that belongs to them, and the chat template.
import Foundation
import ModelIO

public final class LoadedModel: @unchecked Sendable {
    public let model: LlamaModel
    public let tokenizer: Tokenizer
    public let template: ChatTemplate

    public init(model: LlamaModel, tokenizer: Tokenizer, template: ChatTemplate) {
        self.model = model; self.tokenizer = tokenizer; self.template = template
    }

    /// Loads `path` (GGUF file, Hugging Face folder or llama2.c .bin). The tokenizer comes from the GGUF
    /// metadata, the folder's tokenizer.json / tokenizer.model, or `tokenizerPath` (required for llama2.c
    /// unless a tokenizer.bin sits beside the checkpoint).
    public static func load(path: String, tokenizerPath: String? = nil, storage: WeightStorage = .auto) throws
        -> LoadedModel
    {
        let model = try LlamaModel.load(path: path, storage: storage)
        let tok = try resolveTokenizer(
            format: model.format, path: path, metadata: model.ggufMetadata,
            vocabSize: model.config.vocabSize, explicitPath: tokenizerPath)
        guard tok.vocabSize <= model.config.vocabSize else {
            throw FileError(
                tokenizerPath ?? path,
                "tokenizer has \(tok.vocabSize) tokens but the model only \(model.config.vocabSize)")
        }
        return LoadedModel(
            model: model, tokenizer: tok,
            template: ChatTemplate.detect(
                template: chatTemplateText(format: model.format, path: path, metadata: model.ggufMetadata),
                tokenizer: tok))
    }

    /// Only the tokenizer and chat template of a model (no weights are read).
    public static func loadTokenizerOnly(path: String, tokenizerPath: String? = nil) throws -> (Tokenizer, ChatTemplate)
    {
        let format = try LlamaModel.detectFormat(path)
        var meta: [String: GGUFValue] = [:], vocab = 0
        switch format {
        case .gguf: meta = try GGUFFile(path: path).metadata
        case .huggingFace: break
        case .llama2c: vocab = try Llama2cCheckpoint(path: path).vocabSize
        }
        let tok = try resolveTokenizer(
            format: format, path: path, metadata: meta, vocabSize: vocab, explicitPath: tokenizerPath)
        return (
            tok,
            ChatTemplate.detect(template: chatTemplateText(format: format, path: path, metadata: meta), tokenizer: tok)
        )
    }

    /// The model's Jinja chat template: GGUF `tokenizer.chat_template`; in a Hugging Face folder
    /// `chat_template.jinja` (transformers 5) or tokenizer_config.json's `chat_template` (a string, or a list of
    /// {name, template} whose "default" entry is used). Nil when there is none.
    static func chatTemplateText(format: ModelFormat, path: String, metadata: [String: GGUFValue]) -> String? {
        switch format {
        case .gguf: return metadata["tokenizer.chat_template"]?.string
        case .llama2c: return nil
        case .huggingFace:
            if let d = FileManager.default.contents(atPath: path + "/chat_template.jinja") {
                return String(decoding: d, as: UTF8.self)
            }
            guard let d = FileManager.default.contents(atPath: path + "/tokenizer_config.json"),
                let obj = (try? JSONSerialization.jsonObject(with: d)) as? [String: Any]
            else { return nil }
            if let t = obj["chat_template"] as? String { return t }
            if let list = obj["chat_template"] as? [[String: Any]] {
                return (list.first { $0["name"] as? String == "default" } ?? list.first)?["template"] as? String
            }
            return nil
        }
    }

    static func resolveTokenizer(
        format: ModelFormat, path: String, metadata: [String: GGUFValue], vocabSize: Int,
        explicitPath: String?
    ) throws -> Tokenizer {
        let fm = FileManager.default
        if let p = explicitPath {
            guard fm.fileExists(atPath: p) else { throw FileError(p, "no such file") }
            if p.hasSuffix(".json") { return try loadTokenizerJSON(path: p) }
            if p.hasSuffix(".model") { return try loadSentencePieceModel(path: p) }
            if p.hasSuffix(".gguf") { return try ModelIO.loadTokenizer(gguf: GGUFFile(path: p).metadata, file: p) }
            guard vocabSize > 0 else { throw FileError(p, "a llama2.c tokenizer needs the model's vocabulary size") }
            return try loadLlama2cTokenizer(path: p, vocabSize: vocabSize)
        }
        switch format {
        case .gguf:
            return try ModelIO.loadTokenizer(gguf: metadata, file: path)
        case .huggingFace:
            if fm.fileExists(atPath: path + "/tokenizer.json") {
                return try loadTokenizerJSON(path: path + "/tokenizer.json")
            }
            if fm.fileExists(atPath: path + "/tokenizer.model") {
                return try loadSentencePieceModel(path: path + "/tokenizer.model")
            }
            throw FileError(path, "no tokenizer.json or tokenizer.model in the folder (pass --tokenizer)")
        case .llama2c:
            let beside = (path as NSString).deletingLastPathComponent + "/tokenizer.bin"
            if fm.fileExists(atPath: beside) { return try loadLlama2cTokenizer(path: beside, vocabSize: vocabSize) }
            throw FileError(path, "a llama2.c checkpoint needs its tokenizer: pass --tokenizer PATH")
        }
    }

    public func promptTokens(_ text: String, chat: Bool, system: String? = nil) -> [Int32] {
        encodePrompt(text, tokenizer: tokenizer, template: template, chat: chat, system: system)
    }
}

/// The prompt as ids: chat-formatted with the template when `chat` is set (the template's text carries
/// any BOS, e.g. Llama 2's "<s>"), else raw text with BOS when the model's metadata asks for it.
public func encodePrompt(
    _ text: String, tokenizer: Tokenizer, template: ChatTemplate, chat: Bool, system: String? = nil
) -> [Int32] {
    if chat {
        let rendered = template.render(
            system: system, turns: [(role: "user", content: text)], addGenerationPrompt: true)
        return tokenizer.encode(rendered, addSpecial: false, parseSpecial: true)
    }
    return tokenizer.encode(text, addSpecial: true, parseSpecial: true)
}
