// An example as token ids, under one of two objectives (config.json `objective`):
//
// - response (ours, the default): rendered with the model's chat template; the prompt is the user turn (and
//   the header of the assistant turn), the response is the assistant's answer followed by the end-of-turn
//   token. Loss is next-token cross-entropy on the response tokens only: position t-1 predicts ids[t] for
//   every t >= responseStart (README "Where this differs from the reference").
// - reference: the reference implementation's objective, reproduced exactly (its src/tokenize_data.py,
//   src/lightning/dataset.py, src/llama_models/injected_llama_for_causal.py): question + three spaces + answer
//   as plain text (no chat template), cut or padded to the sequence length with the end-of-sequence token; its
//   dataset feeds x = ids[:-1] with y = ids[1:] and its model shifts once more, so position t predicts ids[t+2],
//   on every position (question, answer, padding).
import Foundation
import ModelIO

/// What a run learns; see the file comment.
public enum Objective: String, Codable, Sendable, CaseIterable {
    case response, reference
}

public struct TokenizedExample: Codable, Sendable, Equatable {
    public var ids: [Int32]
    /// Index of the first token that is a target: loss is on ids[responseStart...]. Always ≥ 1 and < ids.count.
    /// The response's first token for our objective; 2 for the reference's (its padded row, shifted twice).
    public var responseStart: Int
    public init(ids: [Int32], responseStart: Int) { self.ids = ids; self.responseStart = responseStart }
    public var responseCount: Int { ids.count - responseStart }
}

/// The token that ends an assistant turn: `<|im_end|>` for ChatML, EOS (`</s>`) for Llama 2, `<|eot_id|>` for Llama 3.
public func endOfTurnToken(tokenizer: Tokenizer, template: ChatTemplate) -> Int32? {
    switch template {
    case .chatml: tokenizer.tokenId("<|im_end|>") ?? tokenizer.eosId
    case .llama2: tokenizer.eosId
    case .llama3: tokenizer.tokenId("<|eot_id|>") ?? tokenizer.eosId
    }
}

/// The prompt's ids: `template.render(system:, turns: [user], addGenerationPrompt: true)` encoded with
/// specials parsed and no BOS added (the template writes it where the format has one).
public func promptIds(_ prompt: String, tokenizer: Tokenizer, template: ChatTemplate, system: String?) -> [Int32] {
    let text = template.render(system: system, turns: [(role: "user", content: prompt)], addGenerationPrompt: true)
    return tokenizer.encode(text, addSpecial: false, parseSpecial: true)
}

/// The response's ids: the answer encoded as plain text (specials not parsed, so an answer cannot inject
/// control tokens) plus the end-of-turn token. The text is what the full conversation's rendering puts
/// between the prompt and the end token, so that prompt ids + response ids equal the ids of the rendered
/// conversation: ChatML `answer`; Llama 3 the answer trimmed; Llama 2 ` answer ` (Meta's chat_completion writes `[/INST] {answer} </s>`),
/// where a SentencePiece tokenizer's dummy prefix already supplies the leading space.
public func responseIds(_ response: String, tokenizer: Tokenizer, template: ChatTemplate) -> [Int32] {
    var text = response
    switch template {
    case .llama2:
        let dummyPrefix = (tokenizer as? SentencePieceBPETokenizer)?.addSpacePrefix ?? false
        text = (dummyPrefix ? "" : " ") + response + " "
    case .llama3:
        text = response.trimmingCharacters(in: .whitespacesAndNewlines)  // the template trims every message
    case .chatml:
        break
    }
    var ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
    if let end = endOfTurnToken(tokenizer: tokenizer, template: template) { ids.append(end) }
    return ids
}

/// Prompt ids followed by response ids, truncated to `maxLength` tokens (the response is cut, the prompt
/// kept). Nil when the prompt alone leaves no room for a response token (prompt count > maxLength - 1).
public func tokenize(
    _ e: Example, tokenizer: Tokenizer, template: ChatTemplate, system: String?,
    maxLength: Int
) -> TokenizedExample? {
    tokenizeCounting(e, tokenizer: tokenizer, template: template, system: system, maxLength: maxLength)?.0
}

func tokenizeCounting(
    _ e: Example, tokenizer: Tokenizer, template: ChatTemplate, system: String?,
    maxLength: Int
) -> (TokenizedExample, truncated: Bool)? {
    let p = promptIds(e.prompt, tokenizer: tokenizer, template: template, system: system)
    guard p.count >= 1, p.count <= maxLength - 1 else { return nil }
    var ids = p + responseIds(e.response, tokenizer: tokenizer, template: template)
    let cut = ids.count > maxLength
    if cut { ids.removeLast(ids.count - maxLength) }
    guard ids.count > p.count else { return nil }
    return (TokenizedExample(ids: ids, responseStart: p.count), cut)
}

/// The reference's row (src/tokenize_data.py, src/lightning/dataset.py): `question + "   " + answer` encoded as
/// plain text with the tokenizer's own BOS rule (as Hugging Face's `add_special_tokens`), cut to `maxLength`
/// and padded to exactly `maxLength` with the end-of-sequence token. Nil only when maxLength < 3 (the double
/// shift needs three tokens).
public func referenceTokenize(_ e: Example, tokenizer: Tokenizer, maxLength: Int) -> (
    TokenizedExample, truncated: Bool
)? {
    guard maxLength >= 3 else { return nil }
    var ids = tokenizer.encode(e.prompt + "   " + e.response, addSpecial: true, parseSpecial: false)
    let cut = ids.count > maxLength
    if cut { ids.removeLast(ids.count - maxLength) }
    ids += [Int32](repeating: tokenizer.eosId ?? 0, count: maxLength - ids.count)
    return (TokenizedExample(ids: ids, responseStart: 2), cut)
}

/// Every example under `objective`: the kept examples, the source index of each, the indices of the dropped
/// ones (prompt longer than maxLength) and how many were cut.
public func tokenizeDataset(
    _ examples: [Example], tokenizer: Tokenizer, template: ChatTemplate, system: String?,
    maxLength: Int, objective: Objective = .response
) -> TokenizedDataset {
    var ds = TokenizedDataset(examples: [], sourceIndices: [], dropped: [], truncated: 0)
    ds.examples.reserveCapacity(examples.count)
    for (i, e) in examples.enumerated() {
        let r =
            switch objective {
            case .response:
                tokenizeCounting(e, tokenizer: tokenizer, template: template, system: system, maxLength: maxLength)
            case .reference: referenceTokenize(e, tokenizer: tokenizer, maxLength: maxLength)
            }
        guard let (t, cut) = r else { ds.dropped.append(i); continue }
        ds.examples.append(t); ds.sourceIndices.append(i)
        if cut { ds.truncated += 1 }
    }
    return ds
}

/// Tokenizes every example; `dropped` lists the indices of the examples whose prompt did not fit, and
/// `truncated` counts those whose response was cut.
public func tokenizeAll(
    _ examples: [Example], tokenizer: Tokenizer, template: ChatTemplate, system: String?,
    maxLength: Int
) -> (examples: [TokenizedExample], dropped: [Int], truncated: Int) {
    let ds = tokenizeDataset(examples, tokenizer: tokenizer, template: template, system: system, maxLength: maxLength)
    return (ds.examples, ds.dropped, ds.truncated)
}
