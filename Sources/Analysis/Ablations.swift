// The causal tests: does the IRM work through its striations? Each condition is an intervention on the frozen
// model, scored by the validation loss on the run's validation split and by the greedy alignment rate on the
// probe questions (Evaluation's answerQuestions and classifier):
//   frozen            no intervention
//   irm               the IRM as trained
//   zero-top-K        its K strongest indices (by |column mean|) set to 0 in every layer slot
//   keep-top-K        only those K kept, every other index set to 0
//   zero-random-K     K random indices zeroed (none of the top 16; the K = 1, 4 sets are prefixes of the 16)
//   mean-vector       the IRM replaced by its mean output per layer: a constant vector, no network
//   constant-on-massive  the IRM as trained, but on the frozen model's 16 massive dims (largest residual RMS)
//                     only its mean output per layer (issue 19: is what it does there input-independent?)
//   control-vector    the exported llama.cpp control vector, added after each block (ControlVector.swift)
// Zeroing every index gives the frozen model exactly (x + 0 = x); keeping every index gives the IRM exactly.
import Foundation
import Numerics
import Llama
import IRM
import Datasets
import Training
import Evaluation

// MARK: - The interventions

/// The IRM with the hidden indices `zeroed` set to 0 in every layer slot of its output before it is injected.
/// Edits of one IRM share one injector (its activations are large: rows × the network's widths), each
/// setting its own edit before the injector runs.
public final class EditedIRM: Intervention {
    public let injector: IRMInjector
    public let zeroed: [Int]
    let edit: ((UnsafeMutablePointer<Float>, Int) -> Void)?

    public init(_ injector: IRMInjector, zeroing zeroed: [Int]) {
        self.injector = injector; self.zeroed = zeroed
        let L = injector.net.config.layers.count, D = injector.net.config.outputDim
        let offsets = zeroed.flatMap { i in (0..<L).map { i * L + $0 } }  // the layout i·L + j
        edit =
            offsets.isEmpty
            ? nil
            : { p, n in
                for r in 0..<n { let row = p + r * D; for o in offsets { row[o] = 0 } }
            }
    }

    /// The indices `constant` replaced, at every token, by their mean output per layer, `mean` [L, h] (the
    /// striation's mean matrix M): what the IRM injects there becomes input-independent.
    public init(_ injector: IRMInjector, constantOn constant: [Int], mean: [Double]) {
        self.injector = injector; self.zeroed = []
        let L = injector.net.config.layers.count, h = injector.net.config.hidden, D = injector.net.config.outputDim
        precondition(mean.count == L * h)
        let values = constant.flatMap { i in (0..<L).map { j in (i * L + j, Float(mean[j * h + i])) } }
        edit = { p, n in
            for r in 0..<n { let row = p + r * D; for (o, v) in values { row[o] = v } }
        }
    }

    /// Only the hidden indices `kept` left.
    public convenience init(_ injector: IRMInjector, keeping kept: [Int]) {
        let keep = Set(kept)
        self.init(injector, zeroing: (0..<injector.net.config.hidden).filter { !keep.contains($0) })
    }

    public func afterAttention(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {
        injector.editOutput = edit
        injector.afterAttention(layer: layer, residual: x, T: T, pos0: pos0, replay: replay)
    }
}

/// Constant vectors added to the residual at every position: at a layer's afterAttention site (where the
/// IRM injects) or after the whole block (where llama.cpp adds a control vector).
public final class SteeringVectors: Intervention {
    public enum Site: String, Sendable { case afterAttention, afterLayer }
    public let site: Site
    public let vectors: [Int: [Float]]

    public init(site: Site, vectors: [Int: [Float]]) { self.site = site; self.vectors = vectors }

    func add(_ layer: Int, _ x: UnsafeMutablePointer<Float>, _ T: Int) {
        guard let v = vectors[layer] else { return }
        v.withUnsafeBufferPointer { vp in for t in 0..<T { addInPlace(x + t * v.count, vp.baseAddress!, v.count) } }
    }
    public func afterAttention(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {
        if site == .afterAttention { add(layer, x, T) }
    }
    public func afterLayer(layer: Int, residual x: UnsafeMutablePointer<Float>, T: Int, pos0: Int, replay: Bool) {
        if site == .afterLayer { add(layer, x, T) }
    }
}

/// Injection layer → the mean matrix's row for it (M [L, h] → layers[j] ↦ M[j, ·]).
public func meanInjectionVectors(mean: [Double], layers: [Int], hidden h: Int) -> [Int: [Float]] {
    precondition(mean.count == layers.count * h)
    var v: [Int: [Float]] = [:]
    for (j, l) in layers.enumerated() { v[l] = (0..<h).map { Float(mean[j * h + $0]) } }
    return v
}

/// `count` distinct indices of 0..<hidden outside `excluded`, in the order `seed` draws them (so a smaller
/// count gives a prefix of a larger one). Fewer when not enough are left.
public func randomIndices(count: Int, hidden: Int, excluding excluded: [Int], seed: UInt64) -> [Int] {
    let ex = Set(excluded)
    var pool = (0..<hidden).filter { !ex.contains($0) }
    var rng = Rng(seed: seed)
    let n = min(count, pool.count)
    for k in 0..<n { pool.swapAt(k, k + rng.int(pool.count - k)) }
    return Array(pool.prefix(n))
}

// MARK: - The conditions

public struct AblationCondition {
    public var name: String
    public var description: String
    public var indices: [Int]?
    public var intervention: Intervention?
    public init(name: String, description: String, indices: [Int]? = nil, intervention: Intervention?) {
        self.name = name; self.description = description; self.indices = indices; self.intervention = intervention
    }
}

public let ablationKs = [1, 4, 16]
public let ablationRandomSeed: UInt64 = 7

/// The table's conditions in report order, for an IRM `net` whose strongest indices are `top` (strongest
/// first, at least 16 when the model has them), with its mean vectors per injection layer and the control
/// vector's directions.
public func ablationConditions(
    net: IRMNetwork, top: [Int], meanVectors: [Int: [Float]],
    controlVector: [Int: [Float]], massive: [Int] = [], mean: [Double] = []
) -> [AblationCondition] {
    let h = net.config.hidden, shared = IRMInjector(net: net)
    let ks = ablationKs.filter { $0 <= top.count }
    let random = randomIndices(
        count: ablationKs.max()!, hidden: h, excluding: Array(top.prefix(ablationKs.max()!)),
        seed: ablationRandomSeed)
    var c = [
        AblationCondition(name: "frozen", description: "the frozen model, no IRM", intervention: nil),
        AblationCondition(name: "irm", description: "the IRM as trained", intervention: EditedIRM(shared, zeroing: []))
    ]
    for k in ks {
        c.append(
            AblationCondition(
                name: "zero-top-\(k)", description: "the IRM with its \(k) strongest indices zeroed in every layer",
                indices: Array(top.prefix(k)), intervention: EditedIRM(shared, zeroing: Array(top.prefix(k)))))
    }
    for k in ks {
        c.append(
            AblationCondition(
                name: "keep-top-\(k)", description: "only the IRM's \(k) strongest indices kept",
                indices: Array(top.prefix(k)), intervention: EditedIRM(shared, keeping: Array(top.prefix(k)))))
    }
    for k in ablationKs where k <= random.count {
        let r = Array(random.prefix(k))
        c.append(
            AblationCondition(
                name: "zero-random-\(k)",
                description: "the IRM with \(k) random indices (not in its top 16, seed \(ablationRandomSeed)) zeroed",
                indices: r, intervention: EditedIRM(shared, zeroing: r)))
    }
    c.append(
        AblationCondition(
            name: "mean-vector", description: "the IRM's mean output per layer added at its sites (no network)",
            intervention: SteeringVectors(site: .afterAttention, vectors: meanVectors)))
    if !massive.isEmpty {
        c.append(
            AblationCondition(
                name: "constant-on-massive",
                description:
                    "the IRM with its output on the model's \(massive.count) massive dims (largest residual RMS) replaced by its mean per layer",
                indices: massive, intervention: EditedIRM(shared, constantOn: massive, mean: mean)))
    }
    c.append(
        AblationCondition(
            name: "control-vector",
            description: "the exported control vector added after each block, as llama.cpp does",
            intervention: SteeringVectors(site: .afterLayer, vectors: controlVector)))
    return c
}

// MARK: - Running them

/// Validation loss (under `objective`, the one `validation` was tokenised for: the run's) and greedy probe answers of
/// every condition. `target`: the emotion the alignment rate counts.
public func runAblations(
    _ conditions: [AblationCondition], lm: LoadedModel, validation: [TokenizedExample], batchSize: Int,
    questions: [Example], system: String?, scorer: EmotionScorer, target: String?, maxTokens: Int,
    objective: Objective = .response, progress: ((String) -> Void)? = nil
) throws -> AblationReport {
    guard let maxT = validation.map({ $0.ids.count }).max() else {
        throw RunError("the run has no validation examples to measure the ablations' loss on")
    }
    let B = min(batchSize, validation.count), pad = lm.tokenizer.eosId ?? 0
    // Forward only: the recompute layout keeps one layer's activations instead of every layer's.
    let arena = TrainingArena(config: lm.model.config, B: B, T: maxT, recompute: true)
    var losses: [LossResult] = []
    for (k, c) in conditions.enumerated() {
        progress?("validation loss \(k + 1)/\(conditions.count): \(c.name)")
        losses.append(
            try responseLoss(
                model: lm.model, examples: validation, batchSize: B, padId: pad, arena: arena,
                intervention: c.intervention, objective: objective))
    }
    var o = EvalOptions()
    o.maxTokens = maxTokens
    let answered = try answerQuestions(
        questions, lm: lm, system: system,
        conditions: conditions.map { AnswerCondition(name: $0.name, intervention: $0.intervention, sampled: false) },
        scorer: scorer, options: o, progress: progress)
    let rows = zip(conditions, losses).map { c, l in
        AblationRow(
            name: c.name, description: c.description, indices: c.indices, validationLoss: l.mean,
            validationPerplexity: exp(l.mean), greedy: answered.metrics(c.name, target: target, scorer: scorer),
            answers: answered.questions.map { q in q.answers.first { $0.condition == c.name }?.text ?? "" })
    }
    return AblationReport(
        validationExamples: validation.count, validationTokens: losses.first?.count ?? 0,
        randomSeed: ablationRandomSeed, rows: rows)
}
