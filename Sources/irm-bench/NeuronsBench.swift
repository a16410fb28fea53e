// LM-head neuron decoding speed (`irm neurons map`), the exact method (every logit by the fp32 GEMM) and the
// screened one (8-bit screen, exact rescoring: Analysis/LMHeadDecoder.swift) side by side in one process,
// interleaved, with the screened map checked equal to the exact one (tokens and logits bit for bit):
//   smollm2    the full up-projection map of SmolLM2 (30 × 1536 rows, vocab 49152, dim 576)
//   llama7b    one Llama-2-7B-shaped layer (random fp16 11008 × 4096 up rows, a 32000 × 4096 head), × 32
//   llama3-8b  6144 Llama-3.1-8B-shaped rows (random fp16 up rows, a 128256 × 4096 head), × 32 × 14336 / 6144
// (Gaussian random weights: a harder case for the screen than check-8b's uniform ones, and than SmolLM2's real ones)
// The screened method runs only where the CPU has AVX-512 VNNI (the exact figures alone elsewhere).
import Foundation
import Numerics
import Llama
import Figures
import Analysis

func benchNeurons(_ o: BenchOptions) {
    let quick = ProcessInfo.processInfo.environment["IRM_BENCH_QUICK"] != nil
    let screen = DecodeMethod.best
    print(
        "{\"note\": \"neurons: exact = \(DecodeMethod.exact.summary); screened = \(screen == .exact ? "not on this CPU (no AVX-512 VNNI)" : screen.summary)\"}"
    )

    /// Times decoding by each method, alternating (exact, screened, exact, screened …), best of `rounds`; checks
    /// that the two give the same tokens and logits. Returns (exact s, screened s or nil).
    func sideBySide(_ rounds: Int, _ decode: (DecodeMethod) -> DecodedTokens) -> (Double, Double?, Bool) {
        var tE = Double.infinity, tS = Double.infinity, a: DecodedTokens? = nil, b: DecodedTokens? = nil
        for _ in 0..<rounds {
            var r: DecodedTokens? = nil
            tE = min(tE, timeOnce { r = decode(.exact) }); a = r
            if screen != .exact { tS = min(tS, timeOnce { r = decode(screen) }); b = r }
        }
        guard let a, let b else { return (tE, nil, true) }
        let same =
            a.topIds == b.topIds && a.bottomIds == b.bottomIds
            && a.topLogits.map(\.bitPattern) == b.topLogits.map(\.bitPattern)
            && a.bottomLogits.map(\.bitPattern) == b.bottomLogits.map(\.bitPattern)
        return (tE, tS, same)
    }

    func report(
        _ name: String, rows: Int, vocab: Int, dim: Int, times: (Double, Double?, Bool), scale: Double,
        unit: String, extra: [String: Any]
    ) {
        let (tE, tS, same) = times
        let gf = { (t: Double) in (2 * Double(rows) * Double(vocab) * Double(dim) / t / 1e8).rounded() / 10 }
        var e = extra
        e["exact_rows_per_s"] = (Double(rows) / tE).rounded()
        e["exact_gflops"] = gf(tE)
        e["exact"] = (tE * scale * 100).rounded() / 100
        if let tS {
            e["screened_rows_per_s"] = (Double(rows) / tS).rounded()
            e["speedup"] = (tE / tS * 100).rounded() / 100
            e["same_tokens_and_logits"] = same
        }
        emit(name, (tS ?? tE) * scale, unit: unit, extra: e)
    }

    if o.wants("smollm2"), let model = try? LlamaModel.load(path: o.smolPath, storage: .auto) {
        let c = model.config
        if !quick {
            let times = sideBySide(2) { m in
                NeuronMap.build(model: model, tokens: [], kind: .up, norm: .final, topK: 10, bottomK: 10, method: m)
                    .decoded
            }
            report(
                "smollm2_neuron_map_up", rows: c.nLayers * c.hiddenDim, vocab: c.vocabSize, dim: c.dim, times: times,
                scale: 1, unit: "s",
                extra: [
                    "compare": "best of 2, interleaved", "note": "30 layers × 1536 up rows, vocab 49152, top/bottom-10"
                ])
        }
    } else if o.wants("smollm2") {
        print("{\"error\": \"cannot load \(o.smolPath): run make model\"}")
    }

    // One layer of random fp16 up rows against a random fp16 head, extrapolated to the model's layers.
    func randomLayer(_ name: String, vocab: Int, hidden: Int, measured: Int, layers: Int, target: Double) {
        var rng = Rng(seed: 9)
        let head = randomWeight(rows: vocab, cols: 4096, type: .f16, rng: &rng, scale: 1 / 64)
        let up = randomWeight(rows: measured, cols: 4096, type: .f16, rng: &rng)
        let gain = [Float](repeating: 1, count: 4096)
        // One decoder per method, so that the screened one keeps its 8-bit head.
        let exactDecoder = LMHeadDecoder(head: head, gain: gain), screenDecoder = LMHeadDecoder(head: head, gain: gain)
        exactDecoder.method = .exact
        screenDecoder.method = screen
        func decode(_ m: DecodeMethod, _ count: Int) -> DecodedTokens {
            let d = m == .exact ? exactDecoder : screenDecoder
            return d.decode(count: count, topK: 10, bottomK: 10) { s, n, dst in
                for r in 0..<n { up.copyRow(s + r, into: dst + r * 4096) }
            }
        }
        // The 8-bit head is made once per map (a few seconds): made here before the timing, reported apart.
        let tHead = screen == .exact ? 0 : timeOnce { _ = decode(screen, 6) }
        let times = sideBySide(1) { decode($0, measured) }
        report(
            name, rows: measured, vocab: vocab, dim: 4096, times: times,
            scale: Double(hidden * layers) / Double(measured) / 60, unit: "min",
            extra: [
                "target": target, "head_8bit_s": (tHead * 10).rounded() / 10,
                "note": "\(measured) random fp16 up rows measured, × \(hidden) × \(layers) layers; minutes"
            ])
    }
    if o.wants("llama7b") {
        randomLayer(
            "llama2_7b_neuron_map_up_extrapolated", vocab: 32000, hidden: 11008, measured: quick ? 1024 : 4096,
            layers: 32, target: 12)
    }
    if o.wants("llama3-8b") {
        randomLayer(
            "llama3_8b_neuron_map_up_extrapolated", vocab: 128256, hidden: 14336, measured: quick ? 512 : 6144,
            layers: 32, target: 15)
    }
}

/// Wall time of one run (for runs too long to repeat).
func timeOnce(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}
