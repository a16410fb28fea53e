// The generation loop: prefill the prompt, then decode one token at a time until a stop token or the limit.

extension LlamaModel {
    /// Generates up to `maxTokens` tokens after `prompt`. `isStop(id)` ends generation (the stop id is
    /// included in the result, as llama.cpp reports it); `onToken` sees each new id and may return false to stop.
    /// `state` defaults to a fresh one sized for prompt + maxTokens.
    public func generate(
        prompt: [Int32], maxTokens: Int, sampler: inout Sampler, state: InferenceState? = nil,
        intervention: Intervention? = nil, isStop: (Int32) -> Bool = { _ in false },
        onToken: (Int32) -> Bool = { _ in true }
    ) throws -> [Int32] {
        let s = state ?? makeState(capacity: prompt.count + maxTokens)
        var logits = try forward(prompt, state: s, intervention: intervention)
        var out: [Int32] = []
        while out.count < maxTokens {
            let id = sampler.sample(logits)
            out.append(id)
            if isStop(id) || !onToken(id) || out.count == maxTokens { break }
            logits = try forward([id], state: s, intervention: intervention)
        }
        return out
    }
}
