// What a training run will need in memory, worked out before anything heavy is loaded, against what the
// machine has. A plan that does not fit is refused with concrete alternatives that would.
import Foundation
import Numerics
import Datasets
import Llama
import IRM

public struct MemoryPlan: Sendable {
    public var items: [(name: String, bytes: Int)]
    public var available: Int
    public var total: Int { items.reduce(0) { $0 + $1.bytes } }
    public var fits: Bool { total <= available }

    /// B sequences of up to T tokens; `weightBytes` from `LlamaModel.plan`.
    public static func make(
        model c: LlamaConfig, weightBytes: Int, irm: IRMConfig, B: Int, T: Int, recompute: Bool,
        available: Int = availableMemory()
    ) -> MemoryPlan {
        let P = irm.parameterCount, N = B * T
        let headChunk = 64 * c.vocabSize * 4 + 2 * 64 * c.dim * 4
        let sampling = 2 * c.nLayers * c.kvDim * 4 * (T + 64)
        // Measured (VmHWM before and after loading): the Swift runtime and the binary keep about 28 MB
        // resident; the tokenizer, with the GGUF metadata it is read from, about 400 bytes per token.
        let program = 30_000_000 + 400 * c.vocabSize
        return MemoryPlan(
            items: [
                ("program, tokenizer", program),
                ("model weights", weightBytes),
                ("IRM parameters (\(formatCount(P)))", 4 * P),
                ("IRM gradients", 4 * P),
                ("Adam state (m, v)", 8 * P),
                ("IRM activations (\(N) tokens)", IRMActivations.byteCount(config: irm, rows: N)),
                (
                    "model activations (\(B)×\(T)\(recompute ? ", recomputed" : ""))",
                    TrainingArena.byteCount(c, B: B, T: T, recompute: recompute)
                ),
                ("LM head chunk, sampling cache", headChunk + sampling)
            ], available: available)
    }

    public func report() -> String {
        var s = "memory plan:\n"
        for it in items {
            s += "  " + it.name.padding(toLength: 40, withPad: " ", startingAt: 0) + formatBytes(it.bytes) + "\n"
        }
        s += "  " + "total".padding(toLength: 40, withPad: " ", startingAt: 0) + formatBytes(total)
        s += "   (available: \(formatBytes(available)); \(fits ? "fits" : "does NOT fit"))\n"
        return s
    }
}

/// "6G", "800M", "1.5GB", "512k" or a plain byte count (decimal units, as formatBytes prints them).
public func parseByteSize(_ s: String) -> Int? {
    var t = s.uppercased()
    if t.hasSuffix("B") { t.removeLast() }
    let units: [Character: Double] = ["K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12]
    var scale = 1.0
    if let u = t.last, let f = units[u] { scale = f; t.removeLast() }
    guard let v = Double(t), v.isFinite, v > 0, v * scale < 9e18 else { return nil }
    return Int(v * scale)
}

public func formatCount(_ n: Int) -> String {
    let d = Double(n)
    if d >= 1e9 { return String(format: "%.2f B", d / 1e9) }
    if d >= 1e6 { return String(format: "%.1f M", d / 1e6) }
    return "\(n)"
}

/// When the plan does not fit: smaller variants (width, layers, recompute, batch) that would.
public func memorySuggestions(
    model c: LlamaConfig, weightBytes: Int, irm: IRMConfig, B: Int, T: Int, recompute: Bool,
    available: Int
) -> [String] {
    var out: [String] = []
    func tryPlan(_ i: IRMConfig, _ b: Int, _ r: Bool, _ what: String) {
        let p = MemoryPlan.make(
            model: c, weightBytes: weightBytes, irm: i, B: b, T: T, recompute: r, available: available)
        if p.fits { out.append("\(what) (needs \(formatBytes(p.total)))") }
    }
    if !recompute { tryPlan(irm, B, true, "--recompute") }
    for w in [2, 1] where w < irm.widthMultiplier {
        var i = irm; i.widthMultiplier = w
        tryPlan(i, B, recompute, "--width \(w)"); tryPlan(i, B, true, "--width \(w) --recompute")
    }
    for n in [16, 8, 4] where n < irm.layers.count {
        var i = irm; i.layers = Array(irm.layers.prefix(n))
        tryPlan(i, B, true, "--layers \(layerSpecName(i.layers)) --recompute")
        var j = i; j.widthMultiplier = 1
        tryPlan(j, B, true, "--layers \(layerSpecName(i.layers)) --width 1 --recompute")
    }
    if B > 1 { tryPlan(irm, max(1, B / 4), true, "--batch-size \(max(1, B / 4)) --recompute") }
    return Array(out.prefix(4))
}

/// The process's peak resident set (VmHWM in /proc/self/status), or nil where there is no /proc.
public func peakResidentMemory() -> Int? { procStatusBytes("VmHWM:") }
/// The process's resident set now (VmRSS; mapped file pages count once touched).
public func residentMemory() -> Int? { procStatusBytes("VmRSS:") }

private func procStatusBytes(_ key: String) -> Int? { procBytes("/proc/self/status", key) }
