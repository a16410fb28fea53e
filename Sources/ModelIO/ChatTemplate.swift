// The chat formats the project's models use, rendered to the exact text the models were trained on.
// The rendered text contains special tokens as text: encode it with parseSpecial = true, and with
// addSpecial = false (Llama 2's and Llama 3's templates write their BOS themselves).
import Foundation

public enum ChatTemplate: Sendable, Equatable {
    /// ChatML (SmolLM2, Qwen):
    /// `<|im_start|>system\n{sys}<|im_end|>\n<|im_start|>user\n{msg}<|im_end|>\n<|im_start|>assistant\n`.
    /// `defaultSystem` is used when no system prompt is given (SmolLM2's template inserts one).
    case chatml(defaultSystem: String?)
    /// Llama-2-chat (Meta's `chat_completion` format):
    /// `<s>[INST] <<SYS>>\n{sys}\n<</SYS>>\n\n{user} [/INST]`, a completed answer adds ` {answer} </s>`,
    /// and each following user turn starts with `<s>[INST] `.
    case llama2
    /// Llama 3.x (Meta's tokenizer_config.json templates, no tools):
    /// `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{prefix}{sys}<|eot_id|>` then per turn
    /// `<|start_header_id|>{role}<|end_header_id|>\n\n{content, trimmed}<|eot_id|>`, and the generation prompt
    /// `<|start_header_id|>assistant<|end_header_id|>\n\n`. Llama 3.1/3.2's templates always write the system
    /// turn, starting with `systemPrefix` ("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
    /// Llama 3.0's (`systemPrefix` nil) writes one only when the conversation has a system message.
    case llama3(systemPrefix: String?)

    /// From GGUF `tokenizer.chat_template` (see `detect(template:tokenizer:)`).
    public static func detect(metadata: [String: GGUFValue]?, tokenizer: Tokenizer) -> ChatTemplate {
        detect(template: metadata?["tokenizer.chat_template"]?.string, tokenizer: tokenizer)
    }

    /// From a Jinja chat template's text (GGUF `tokenizer.chat_template`, tokenizer_config.json `chat_template`):
    /// "<|im_start|>" -> ChatML with the default system prompt the template writes, "<|start_header_id|>" ->
    /// Llama 3 (with 3.1/3.2's system text when it has one), "[INST]" -> Llama 2; without a template, from the
    /// vocabulary (an `<|im_start|>` or `<|start_header_id|>` piece), otherwise Llama 2.
    public static func detect(template: String?, tokenizer: Tokenizer) -> ChatTemplate {
        if let t = template {
            if t.contains("<|im_start|>") { return .chatml(defaultSystem: defaultSystemPrompt(inChatML: t)) }
            if t.contains("<|start_header_id|>") { return .llama3(systemPrefix: llama3SystemPrefix(inTemplate: t)) }
            if t.contains("[INST]") { return .llama2 }
        }
        if tokenizer.tokenId("<|im_start|>") != nil { return .chatml(defaultSystem: nil) }
        if tokenizer.tokenId("<|start_header_id|>") != nil { return .llama3(systemPrefix: nil) }
        return .llama2
    }

    /// Llama 3.1/3.2's templates open every system turn with the knowledge cut-off and a date: "26 Jul 2024"
    /// (3.1, and 3.2 where `strftime_now` is not defined) or today's date when the template asks for
    /// `strftime_now("%d %b %Y")` (3.2, as transformers renders it).
    static func llama3SystemPrefix(inTemplate t: String) -> String? {
        guard t.contains("Cutting Knowledge Date: December 2023") else { return nil }
        var date = "26 Jul 2024"
        if t.contains("strftime_now") {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.dateFormat = "dd MMM yyyy"
            date = f.string(from: Date())
        }
        return "Cutting Knowledge Date: December 2023\nToday Date: \(date)\n\n"
    }

    /// The literal system prompt a ChatML Jinja template inserts when the conversation has none, e.g.
    /// SmolLM2's `'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n'`.
    static func defaultSystemPrompt(inChatML t: String) -> String? {
        for marker in ["<|im_start|>system\n", "<|im_start|>system\\n"] {
            guard let a = t.range(of: marker) else { continue }
            guard let b = t.range(of: "<|im_end|>", range: a.upperBound..<t.endIndex) else { continue }
            let s = String(t[a.upperBound..<b.lowerBound])
            // Only a literal: anything that looks like Jinja (an expression or quotes) is not a default.
            if s.isEmpty || s.contains("{") || s.contains("'") || s.contains("\"") || s.contains("+") { continue }
            return s.replacingOccurrences(of: "\\n", with: "\n")
        }
        return nil
    }

    /// `turns`: roles "user" / "assistant" (ChatML renders any role name; a leading "system" turn
    /// replaces `system`). `addGenerationPrompt`: end with the header of an assistant turn (ChatML; the
    /// Llama 2 format already ends its user turn with `[/INST]`).
    public func render(system: String?, turns: [(role: String, content: String)], addGenerationPrompt: Bool) -> String {
        var turns = turns
        var system = system
        if let first = turns.first, first.role == "system" {
            system = first.content
            turns.removeFirst()
        }
        switch self {
        case .chatml(let defaultSystem):
            var s = ""
            if let sys = system ?? defaultSystem { s += "<|im_start|>system\n\(sys)<|im_end|>\n" }
            for t in turns { s += "<|im_start|>\(t.role)\n\(t.content)<|im_end|>\n" }
            if addGenerationPrompt { s += "<|im_start|>assistant\n" }
            return s
        case .llama2:
            var s = ""
            var first = true
            for t in turns {
                if t.role == "assistant" {
                    s += " \(t.content) </s>"
                    continue
                }
                s += "<s>[INST] "
                if first, let sys = system { s += "<<SYS>>\n\(sys)\n<</SYS>>\n\n" }
                s += "\(t.content) [/INST]"
                first = false
            }
            if turns.isEmpty, let sys = system { s += "<s>[INST] <<SYS>>\n\(sys)\n<</SYS>>\n\n [/INST]" }
            return s
        case .llama3(let prefix):
            func turn(_ role: String, _ content: String) -> String {
                "<|start_header_id|>\(role)<|end_header_id|>\n\n\(content)<|eot_id|>"
            }
            var s = "<|begin_of_text|>"
            if let p = prefix {
                s += turn("system", p + (system?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""))
            } else if let sys = system {
                s += turn("system", sys.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            for t in turns { s += turn(t.role, t.content.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if addGenerationPrompt { s += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
            return s
        }
    }
}
