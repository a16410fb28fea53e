// What `irm analyze --run R` writes to R/analysis.json: the run's striations measured on a fixed probe set,
// the causal tests (ablations), the dominant indices explained through the frozen model, the stripes over
// training and the llama.cpp control-vector measurement. These types are the file's schema: the HTML
// report renders them, so fields are only ever added (as optionals), never renamed or re-typed.
//
// Conventions used throughout:
// - A "hidden index" i is a coordinate of the residual stream (0 ..< hidden); an "injection slot" j is the
//   j-th entry of the IRM's layer list, `injectionLayers[j]` the model layer it injects into. The IRM's
//   output for (i, j) sits at flat position i·L + j of a token's output row (the reference's layout).
// - The "mean matrix" M[j, i] is the IRM's output averaged over every probe token (prompts and their
//   greedy continuations under the IRM); the "magnitude matrix" is the average of |output|.
// - Shares are fractions in [0, 1]; ranks count from 1 (= the largest value among all hidden indices).
// - Losses are the training loss (mean next-token cross-entropy over the response tokens), in nats.
import Foundation
import Evaluation

/// The whole analysis.json.
public struct AnalysisReport: Codable, Sendable {
    public var programVersion: String
    /// The run folder as given, its name, the model file and the IRM weights analysed (irm-best when present;
    /// irm.safetensors with --last).
    public var run: String
    public var runName: String
    public var model: String
    public var weights: String
    /// The training step of those weights (from the safetensors metadata), when recorded.
    public var weightsStep: String?
    /// The emotion the alignment rates measure (the run's label or dataset name, or --emotion), nil when the run
    /// has none (e.g. neutral): the rates are then absent and only label shares are reported.
    public var targetEmotion: String?
    public var targetSource: String
    /// The model's residual width h and the IRM's injection layers (slot j → model layer).
    public var hidden: Int
    public var injectionLayers: [Int]
    public var probe: ProbeSet
    public var striation: StriationReport
    /// Stripes over training: one point per validation, read from R/striation.csv (empty for runs trained
    /// before the trainer recorded them). The curve is drawn to `trainingChart` when there are points.
    public var training: [StriationPoint]
    public var trainingChart: String?
    public var ablations: AblationReport
    public var explanation: IndexExplanation
    public var controlVector: ControlVectorReport
    /// Files written beside analysis.json (paths relative to the run folder), e.g. "analysis_mean.csv".
    public var files: [String]

    public init(
        programVersion: String, run: String, runName: String, model: String, weights: String, weightsStep: String?,
        targetEmotion: String?, targetSource: String, hidden: Int, injectionLayers: [Int], probe: ProbeSet,
        striation: StriationReport, training: [StriationPoint], trainingChart: String?, ablations: AblationReport,
        explanation: IndexExplanation, controlVector: ControlVectorReport, files: [String]
    ) {
        self.programVersion = programVersion; self.run = run; self.runName = runName; self.model = model
        self.weights = weights; self.weightsStep = weightsStep; self.targetEmotion = targetEmotion
        self.targetSource = targetSource; self.hidden = hidden; self.injectionLayers = injectionLayers;
        self.probe = probe
        self.striation = striation; self.training = training; self.trainingChart = trainingChart
        self.ablations = ablations; self.explanation = explanation; self.controlVector = controlVector;
        self.files = files
    }
}

// MARK: - 1. The probe set

/// The fixed questions every analysis of every run uses, so runs on different datasets are compared on the
/// same prompts. See ProbeSet.swift for how they are chosen.
public struct ProbeSet: Codable, Sendable {
    /// The seed that picks the questions, and how many were asked for.
    public var seed: UInt64
    public var requested: Int
    /// How the questions were chosen, in words (also says which runs may have trained on them).
    public var selection: String
    /// Chat-formatted with this system prompt (the run's), nil = the template's default.
    public var system: String?
    /// Tokens per greedy continuation at most.
    public var maxTokens: Int
    /// Probe tokens the IRM's output was recorded over (prompt tokens + continuation tokens, all questions).
    public var tokens: Int
    /// How many of the questions are in this run's training split (0 for runs on the full shared datasets
    /// with the default seed).
    public var inTrainingSplit: Int
    public var questions: [ProbeQuestion]

    public init(
        seed: UInt64, requested: Int, selection: String, system: String?, maxTokens: Int, tokens: Int,
        inTrainingSplit: Int, questions: [ProbeQuestion]
    ) {
        self.seed = seed; self.requested = requested; self.selection = selection; self.system = system
        self.maxTokens = maxTokens; self.tokens = tokens; self.inTrainingSplit = inTrainingSplit;
        self.questions = questions
    }
}

public struct ProbeQuestion: Codable, Sendable {
    /// Row of the question in each Datasets/*.csv (0-based, header not counted).
    public var row: Int
    public var question: String
    /// The question is in the default split's test part (seed 0 over all rows): held out by every run trained
    /// with the default seed on a full shared dataset.
    public var heldOutByDefault: Bool
    /// The question is in this run's training split.
    public var inTrainingSplit: Bool
    /// The greedy continuation under the IRM (what the striations were recorded over, after the prompt).
    public var continuation: String
    /// Prompt and continuation tokens.
    public var promptTokens: Int
    public var continuationTokens: Int

    public init(
        row: Int, question: String, heldOutByDefault: Bool, inTrainingSplit: Bool, continuation: String,
        promptTokens: Int, continuationTokens: Int
    ) {
        self.row = row; self.question = question; self.heldOutByDefault = heldOutByDefault
        self.inTrainingSplit = inTrainingSplit; self.continuation = continuation; self.promptTokens = promptTokens
        self.continuationTokens = continuationTokens
    }
}

// MARK: - 2. Striation statistics

/// Two-way decomposition of a [layers × hidden] matrix M: M[j,i] = μ + r_j + c_i + e_ji with r the layer
/// (row) effects, c the hidden-index (column) effects and e what is left. The sums of squares about μ split
/// exactly: total = L·Σc² + h·Σr² + Σe². Vertical stripes (the same index strong in every layer) give
/// `index` ≈ 1; bands (a whole layer shifted) give `layer` ≈ 1.
public struct VarianceShares: Codable, Sendable, Equatable {
    public var index: Double
    public var layer: Double
    public var residual: Double
    /// Σ (M − μ)², the total the shares divide.
    public var total: Double
    public var grandMean: Double

    public init(index: Double, layer: Double, residual: Double, total: Double, grandMean: Double) {
        self.index = index; self.layer = layer; self.residual = residual; self.total = total; self.grandMean = grandMean
    }
}

/// One of the IRM's strongest hidden indices (by |column mean| of the mean matrix).
public struct TopIndex: Codable, Sendable, Equatable {
    public var index: Int
    /// Mean over layers of M[·, i] (signed) and of the magnitude matrix.
    public var columnMean: Double
    public var columnMeanAbs: Double
    /// |columnMean| / Σ over all indices of |columnMean| (the measure the heatmap summary calls "share").
    public var share: Double
    /// L·columnMean² / Σ M²: the index's share of the mean matrix's energy.
    public var energyShare: Double
    /// In how many injection layers the index is among the top 1 % of indices by |M[j, ·]|.
    public var layersInTopPercent: Int
    /// The input-independent part (issue 19): Σ_j M[j,i]² / Σ_j mean_t o[t,j,i]², the share of the index's mean
    /// square output over the probe tokens that its per-layer mean (a constant vector) accounts for; 1 = the same
    /// value at every token. Absent in analysis.json files written before it existed.
    public var constantShare: Double?

    public init(
        index: Int, columnMean: Double, columnMeanAbs: Double, share: Double, energyShare: Double,
        layersInTopPercent: Int
    ) {
        self.index = index; self.columnMean = columnMean; self.columnMeanAbs = columnMeanAbs; self.share = share
        self.energyShare = energyShare; self.layersInTopPercent = layersInTopPercent
    }
}

public struct StriationReport: Codable, Sendable {
    /// Probe tokens averaged over.
    public var tokens: Int
    /// Decomposition of the mean matrix (signed) and of the magnitude matrix (mean |value|).
    public var signed: VarianceShares
    public var magnitude: VarianceShares
    /// The run's dominant index (largest |column mean|) and its `share` (see TopIndex).
    public var dominantIndex: Int
    public var dominantShare: Double
    /// "Top 1 %" means the top `topPercentCount` = ⌈h/100⌉ indices of a layer.
    public var topPercentCount: Int
    /// The strongest indices, strongest first (16 of them, or h when smaller).
    public var topIndices: [TopIndex]
    /// Share of probe tokens whose own strongest index (largest |mean over layers| of that token's output) is
    /// the dominant index.
    public var dominantTokenShare: Double
    /// The mean matrix as CSV (rows = injection layers, columns = hidden index; relative to the run folder).
    public var meanMatrixCSV: String

    public init(
        tokens: Int, signed: VarianceShares, magnitude: VarianceShares, dominantIndex: Int, dominantShare: Double,
        topPercentCount: Int, topIndices: [TopIndex], dominantTokenShare: Double, meanMatrixCSV: String
    ) {
        self.tokens = tokens; self.signed = signed; self.magnitude = magnitude; self.dominantIndex = dominantIndex
        self.dominantShare = dominantShare; self.topPercentCount = topPercentCount; self.topIndices = topIndices
        self.dominantTokenShare = dominantTokenShare; self.meanMatrixCSV = meanMatrixCSV
    }
}

// MARK: - 3. Stripes over training

/// One row of R/striation.csv, written by the trainer at every validation from a few fixed probe prompts
/// (prefill only, no generation; StriationLog.swift). Columns: step, index_share, layer_share,
/// abs_index_share, dominant_index, dominant_share, tokens.
public struct StriationPoint: Codable, Sendable, Equatable {
    public var step: Int
    /// `signed.index` and `signed.layer` of that probe's mean matrix, and `magnitude.index`.
    public var indexShare: Double
    public var layerShare: Double
    public var absIndexShare: Double
    public var dominantIndex: Int
    public var dominantShare: Double
    public var tokens: Int

    public init(
        step: Int, indexShare: Double, layerShare: Double, absIndexShare: Double, dominantIndex: Int,
        dominantShare: Double, tokens: Int
    ) {
        self.step = step; self.indexShare = indexShare; self.layerShare = layerShare; self.absIndexShare = absIndexShare
        self.dominantIndex = dominantIndex; self.dominantShare = dominantShare; self.tokens = tokens
    }
}

// MARK: - 4. Causal tests

/// Every condition answered the probe questions greedily and was scored on the run's validation split.
public struct AblationReport: Codable, Sendable {
    /// Validation examples and response tokens the losses average over.
    public var validationExamples: Int
    public var validationTokens: Int
    /// Seed of the random-index control.
    public var randomSeed: UInt64
    public var rows: [AblationRow]

    public init(validationExamples: Int, validationTokens: Int, randomSeed: UInt64, rows: [AblationRow]) {
        self.validationExamples = validationExamples; self.validationTokens = validationTokens
        self.randomSeed = randomSeed; self.rows = rows
    }

    public func row(_ name: String) -> AblationRow? { rows.first { $0.name == name } }
}

/// One condition. Names: "frozen" (no IRM), "irm", "zero-top-K" (the K strongest indices zeroed in every
/// layer slot), "keep-top-K" (only they kept), "zero-random-K" (K random indices, none of the top 16,
/// zeroed; the smaller sets are prefixes of the larger), "mean-vector" (the IRM replaced by its mean output
/// per layer, added at the IRM's sites, no network), "control-vector" (the exported llama.cpp control
/// vector, added where llama.cpp adds it: after each block's MLP; see ControlVectorReport).
public struct AblationRow: Codable, Sendable {
    public var name: String
    public var description: String
    /// The hidden indices zeroed or kept (nil for conditions that do not select indices).
    public var indices: [Int]?
    public var validationLoss: Double
    public var validationPerplexity: Double
    /// Greedy answers to the probe questions, scored by the emotion classifier (alignment rate etc.).
    public var greedy: ConditionMetrics
    /// The answers, in probe order.
    public var answers: [String]

    public init(
        name: String, description: String, indices: [Int]?, validationLoss: Double, validationPerplexity: Double,
        greedy: ConditionMetrics, answers: [String]
    ) {
        self.name = name; self.description = description; self.indices = indices; self.validationLoss = validationLoss
        self.validationPerplexity = validationPerplexity; self.greedy = greedy; self.answers = answers
    }
}

// MARK: - 5. The dominant indices through the model

/// Where each of the IRM's top indices stands in the frozen model, and what its direction and the IRM's
/// mean injection say through the LM head.
public struct IndexExplanation: Codable, Sendable {
    /// The per-model statistics used (also printed by `irm analyze --model M`), and where they are cached.
    public var residual: ResidualSummary
    /// One entry per index of `striation.topIndices`, same order.
    public var indices: [IndexProfile]
    /// Each injection slot's mean injected vector M[j, ·] decoded through the final norm and the LM head,
    /// and their sum over slots (the total shift the last layer sees), labelled "sum".
    public var meanInjection: [DecodedVector]

    public init(residual: ResidualSummary, indices: [IndexProfile], meanInjection: [DecodedVector]) {
        self.residual = residual; self.indices = indices; self.meanInjection = meanInjection
    }
}

/// The frozen model's residual stream at the IRM's injection point (after each layer's attention add)
/// over the probe prompts (prefill, no IRM), and its RMSNorm gains.
public struct ResidualSummary: Codable, Sendable {
    public var model: String
    public var modelSHA256: String
    public var cacheFile: String
    /// Probe prompt tokens measured, and how many were first positions (left out of `rmsNoFirst`).
    public var tokens: Int
    public var firstTokens: Int
    /// The model's strongest dimensions by RMS averaged over layers, with and without the first token
    /// (massive-activation dimensions stand out in the first), strongest first (16 of them).
    public var topRMS: [Int]
    public var topRMSNoFirst: [Int]

    public init(
        model: String, modelSHA256: String, cacheFile: String, tokens: Int, firstTokens: Int, topRMS: [Int],
        topRMSNoFirst: [Int]
    ) {
        self.model = model; self.modelSHA256 = modelSHA256; self.cacheFile = cacheFile; self.tokens = tokens
        self.firstTokens = firstTokens; self.topRMS = topRMS; self.topRMSNoFirst = topRMSNoFirst
    }
}

/// A hidden index measured on one statistic: its value averaged over layers, its rank by that average
/// (1 = largest of the h indices), and its rank within each model layer (empty for the final norm).
public struct IndexRank: Codable, Sendable, Equatable {
    public var value: Double
    public var rank: Int
    public var perLayerRank: [Int]

    public init(value: Double, rank: Int, perLayerRank: [Int]) {
        self.value = value; self.rank = rank; self.perLayerRank = perLayerRank
    }
}

public struct IndexProfile: Codable, Sendable {
    public var index: Int
    /// Residual RMS at the injection point over all probe tokens, and without each prompt's first token.
    public var rms: IndexRank
    public var rmsNoFirst: IndexRank
    /// |mean of sign(x)| over the probe tokens other than each prompt's first: 1 = the coordinate always has
    /// the same sign.
    public var signConsistency: IndexRank
    /// The coordinate's mean value over the probe tokens without the first (its usual sign and size).
    public var meanNoFirst: Double
    /// RMSNorm gains g[i]: attn_norm and ffn_norm of every layer, the final norm (ranked by value).
    public var attnNorm: IndexRank
    public var ffnNorm: IndexRank
    public var finalNorm: IndexRank
    /// sign(columnMean)·e_i scaled by |Σ_j M[j, i]| (the IRM's total push along i) through the final norm and
    /// the LM head: the tokens that push promotes and suppresses.
    public var decoded: DecodedVector

    public init(
        index: Int, rms: IndexRank, rmsNoFirst: IndexRank, signConsistency: IndexRank, meanNoFirst: Double,
        attnNorm: IndexRank, ffnNorm: IndexRank, finalNorm: IndexRank, decoded: DecodedVector
    ) {
        self.index = index; self.rms = rms; self.rmsNoFirst = rmsNoFirst; self.signConsistency = signConsistency
        self.meanNoFirst = meanNoFirst; self.attnNorm = attnNorm; self.ffnNorm = ffnNorm; self.finalNorm = finalNorm
        self.decoded = decoded
    }
}

public struct DecodedToken: Codable, Sendable, Equatable {
    public var id: Int
    public var text: String
    public var probability: Double

    public init(id: Int, text: String, probability: Double) {
        self.id = id; self.text = text; self.probability = probability
    }
}

/// A residual-space vector read as tokens: softmax(W_U·(g ⊙ v)) (LMHeadDecoder.swift), most promoted first
/// and most suppressed first.
public struct DecodedVector: Codable, Sendable {
    /// "index 123", "layer 7" (an injection slot's model layer) or "sum".
    public var label: String
    public var norm: Double
    public var promoted: [DecodedToken]
    public var suppressed: [DecodedToken]

    public init(label: String, norm: Double, promoted: [DecodedToken], suppressed: [DecodedToken]) {
        self.label = label; self.norm = norm; self.promoted = promoted; self.suppressed = suppressed
    }
}

// MARK: - 7. The llama.cpp control vector

/// How the IRM's mean output becomes a llama.cpp control vector (`irm export --control-vector`) and how much
/// of the IRM's effect it keeps, measured with our own intervention at llama.cpp's site.
public struct ControlVectorReport: Codable, Sendable {
    /// The mapping in words (ControlVector.swift): direction.N = the mean slice of injection layer N, added
    /// after block N's MLP instead of after its attention; layer 0's slice (llama.cpp has no site before
    /// block 1's input) is folded into direction.1.
    public var mapping: String
    /// direction.N tensors written (N = 1 ..< model layers) and their length (n_embd).
    public var layerCount: Int
    public var length: Int
    /// The "control-vector" ablation row's alignment rate and validation loss, and the share of the IRM's
    /// effect it keeps: (x − frozen) / (irm − frozen), nil when the IRM changes nothing (or no target).
    public var alignmentKept: Double?
    public var lossKept: Double?
    /// The same shares for the constant vector at the IRM's own sites ("mean-vector"): the difference between
    /// the two is what moving to llama.cpp's site costs.
    public var meanVectorAlignmentKept: Double?
    public var meanVectorLossKept: Double?

    public init(
        mapping: String, layerCount: Int, length: Int, alignmentKept: Double?, lossKept: Double?,
        meanVectorAlignmentKept: Double?, meanVectorLossKept: Double?
    ) {
        self.mapping = mapping; self.layerCount = layerCount; self.length = length; self.alignmentKept = alignmentKept
        self.lossKept = lossKept; self.meanVectorAlignmentKept = meanVectorAlignmentKept
        self.meanVectorLossKept = meanVectorLossKept
    }
}
