// An IRM as a llama.cpp control vector: its mean output per injection layer, a constant steering vector
// that llama.cpp can add without running any network.
//
// What llama.cpp reads (common_control_vector_load_one, llama_adapter_cvec in llama.cpp; the layout its
// cvector-generator writes): a GGUF file with general.architecture = "controlvector",
// controlvector.model_hint (the model's architecture) and controlvector.layer_count (i32, the number of
// direction tensors), and 1-D F32 tensors direction.N of n_embd values, N = 1 ..< n_layer. direction.N is
// added to the output of block N (0-based: after its MLP residual add) at every position; direction.0 is
// refused, so nothing can be added before block 1's input.
//
// The IRM adds its slice v_l after layer l's attention instead, before that layer's MLP. Mapping:
// direction.N = v_N, the same vector one sublayer later. Every attention block from layer N+1 on then sees
// exactly the IRM's cumulative injection; only layer N's own MLP misses v_N. Layer 0's slice would need
// direction.0, which llama.cpp refuses, so it is folded into direction.1: from layer 2's attention on the
// cumulative injection is exact again. Directions of layers the IRM does not touch are written as zeros, as
// llama.cpp's own generator writes every layer. `irm analyze` measures what this costs: its
// "control-vector" row adds exactly these vectors at llama.cpp's site (SteeringVectors, .afterLayer).
import Foundation
import ModelIO
import Llama
import Training

public let controlVectorMapping =
    "direction.N = the IRM's mean output for injection layer N (added after block N's MLP "
    + "instead of after its attention); layer 0's slice is folded into direction.1 (llama.cpp refuses direction.0); "
    + "layers without an injection get zeros"

/// direction.N (N = 1 ..< nLayers) from the mean matrix `mean` [L, h] of an IRM injecting into `layers`.
public func controlVectorDirections(mean: [Double], layers: [Int], nLayers: Int, hidden h: Int) throws -> [Int: [Float]]
{
    precondition(mean.count == layers.count * h)
    guard nLayers >= 2 else {
        throw RunError("a llama.cpp control vector needs a model with at least 2 layers (direction.0 is not allowed)")
    }
    var d: [Int: [Double]] = [:]
    for n in 1..<nLayers { d[n] = [Double](repeating: 0, count: h) }
    for (j, l) in layers.enumerated() {
        precondition(l >= 0 && l < nLayers)
        let n = max(l, 1)
        for i in 0..<h { d[n]![i] += mean[j * h + i] }
    }
    return d.mapValues { $0.map { Float($0) } }
}

/// Writes `directions` (N = 1 ..< nLayers, each `dim` long) as a llama.cpp control-vector GGUF, atomically.
public func writeControlVector(_ directions: [Int: [Float]], nLayers: Int, dim: Int, modelHint: String, path: String)
    throws
{
    let w = try GGUFWriter(path: path)
    try w.set("general.architecture", .string("controlvector"))
    try w.set("controlvector.model_hint", .string(modelHint))
    try w.set("controlvector.layer_count", .int32(Int32(nLayers - 1)))
    for n in 1..<nLayers {
        guard let v = directions[n], v.count == dim else {
            throw FileError(path, "direction.\(n) is missing or not \(dim) long")
        }
        try w.addTensor(name: "direction.\(n)", floats: v, shape: [dim])
    }
    try w.write()
}

// MARK: - A run's control vector

public struct ControlVectorExport: Sendable {
    public var path: String
    public var layerCount: Int, length: Int
    public var probeTokens: Int
    /// The largest direction's layer and norm.
    public var strongestLayer: Int, strongestNorm: Double
}

/// `irm export --run R --control-vector FILE`: the IRM's mean output over the probe pass (the same questions and
/// continuations `irm analyze` uses, so the file holds the vectors its "control-vector" row measured).
public func exportControlVector(
    _ run: RunFolder, to path: String, options o: AnalysisOptions,
    progress: ((String) -> Void)? = nil
) throws -> ControlVectorExport {
    let config = try run.readConfig()
    let sel = try selectProbeQuestions(datasetsDir: o.datasetsDir, count: o.questions)
    let lm = try config.loadModel()
    let net = try loadIRM(o.weightsPath(run), for: lm.model.config)
    let mc = lm.model.config, h = net.config.hidden
    let questions = fittingQuestions(sel, lm: lm, system: config.system).map { sel.questions[$0] }
    let rec = try recordProbe(
        lm: lm, net: net, questions: questions, system: config.system, maxTokens: o.maxTokens,
        progress: progress)
    let d = try controlVectorDirections(
        mean: rec.recorder.mean, layers: net.config.layers, nLayers: mc.nLayers, hidden: h)
    let hint = lm.model.ggufMetadata["general.architecture"]?.string ?? "llama"
    try writeControlVector(d, nLayers: mc.nLayers, dim: h, modelHint: hint, path: path)
    let norms = d.mapValues { $0.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
    let best = norms.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }!
    return ControlVectorExport(
        path: path, layerCount: mc.nLayers - 1, length: h, probeTokens: rec.recorder.tokens,
        strongestLayer: best.key, strongestNorm: best.value)
}
