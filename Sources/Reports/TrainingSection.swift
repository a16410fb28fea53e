// The run's configuration (config.json) and its training: loss curves from metrics.csv, the trainer's final
// state, and the greedy samples of the last validation (samples.txt).
import Foundation
import Figures
import Training

// MARK: configuration

func configSection(_ r: ReportInputs) -> ReportSection {
    let c = r.config
    func row(_ k: String, _ v: HTML) -> HTML { HTML.el("tr", [:], HTML.el("th", [:], .text(k)), HTML.el("td", [:], v)) }
    func kv(_ rows: [HTML]) -> HTML { HTML.el("table", ["class": "kv"], rows) }
    let sp = c.split
    let data = kv([
        row("dataset", code(c.dataset) + (c.datasetPath != c.dataset ? " (\(c.datasetPath))" : "")),
        row("format / label", "\(c.format ?? "from the extension") / \(c.label ?? "–")"),
        row(
            "examples",
            "\(sp.count)\(c.limit.map { " (first \($0))" } ?? ""): \(sp.trainIndices.count) train, \(sp.valIndices.count) validation, \(sp.testIndices.count) test (split seed \(sp.seed))"
        ),
        row("system prompt", c.system.map { HTML.text($0) } ?? "the template's default"),
        row("model", code(c.model) + HTML.text(" (\(c.dtype); sha256 \(c.modelSHA256.prefix(12))…)")),
        row("program", "irm \(c.programVersion)")
    ])
    let irm = c.irm, a = c.adam
    let training = kv([
        row(
            "injection layers",
            "\(layerSpecName(irm.layers)) (\(irm.layers.count) layers; tap after layer \(irm.tapLayer)'s attention)"),
        row(
            "IRM", "\(irm.summary), \(formatCount(irm.parameterCount)) parameters, init \(irm.initialization.rawValue)"),
        row("L1 on the output", irm.l1 > 0 ? "\(irm.l1)" : "off"),
        row(
            "Adam",
            "lr \(a.lr), β \(a.beta1)/\(a.beta2), ε \(a.eps), StepLR γ \(a.gamma) per epoch\(a.clipNorm.map { ", clip \($0)" } ?? "")"
        ),
        row("batches", "\(c.batchSize) × at most \(c.seqLen) tokens\(c.recompute ? ", recomputed backward" : "")"),
        row(
            "length",
            "\(c.epochs) epochs\(c.maxSteps.map { ", at most \($0) steps" } ?? ""); validation \(c.evalEvery.map { "every \($0) steps" } ?? "once per epoch"), patience \(c.patience)"
        ),
        row("seed", "\(c.seed)")
    ])
    let raw = HTML.el(
        "details", [:], HTML.el("summary", [:], "config.json as written"), HTML.el("pre", [:], .text(r.configJSON)))
    return ReportSection(
        id: "config", title: "Configuration",
        body: HTML.el("div", ["class": "cols"], data, training) + raw)
}

// MARK: training

func trainingSection(_ r: ReportInputs) -> ReportSection {
    var body = rendered(r.state, missing: notComputed("no checkpoint yet", command: "irm train --resume \(r.run.path)"))
    { s in
        var line =
            "\(s.finished ? "Finished" : "Stopped") at step \(s.step) (epoch \(s.epoch + (s.batchInEpoch > 0 ? 1 : 0)))"
        if let why = s.stopReason { line += ": \(why)" }
        if let b = s.bestVal { line += String(format: ". Best validation loss %.4f (perplexity %.2f)", b, exp(b)) }
        if let step = r.best.value?.step { line += " at step \(step), kept as irm-best.safetensors" }
        return paragraph(.text(line + "."))
    }
    body += rendered(r.metrics, missing: notComputed("no metrics yet (written at every step)", command: "irm train")) {
        rows in
        rows.isEmpty ? paragraph("metrics.csv has no rows yet.") : lossChart(rows)
    }
    body += HTML.el("h3", [:], "Greedy samples at the last validation")
    body += rendered(
        r.samples, missing: notComputed("no samples.txt (written at each validation)", command: "irm train")
    ) {
        HTML.el("pre", [:], .text($0))
    }
    return ReportSection(id: "training", title: "Training", body: body)
}

/// Training loss at every step (and a running mean when the curve is long enough to be noisy), validation
/// loss at the validation steps.
func lossChart(_ rows: [MetricsRow]) -> HTML {
    let train = rows.map { (Double($0.step), $0.trainLoss) }
    let val = rows.compactMap { r in r.valLoss.map { (Double(r.step), $0) } }
    var series: [ChartSeries] = [("train loss", train)]
    let window = max(5, rows.count / 25)
    if rows.count >= 50 { series.append(("train, mean of \(window) steps", runningMean(train, window: window))) }
    if !val.isEmpty { series.append(("validation loss", val)) }
    var spec = LineChartSpec(title: "Loss (response tokens, nats)", xLabel: "step", yLabel: "cross-entropy")
    spec.plotHeight = 380
    let tps = rows.map(\.tokensPerSecond).sorted()
    let caption =
        "\(rows.count) steps, \(val.count) validations; last training loss \(num(rows.last?.trainLoss, 4))"
        + (val.last.map { ", last validation loss \(num($0.1, 4))" } ?? "")
        + "; median \(Int(tps[tps.count / 2])) tokens/s."
    return figure(renderLineChartSVG(series: series, spec: spec), caption: .text(caption))
}

/// Mean of the last `window` points at each point (fewer at the start).
func runningMean(_ p: [(Double, Double)], window: Int) -> [(Double, Double)] {
    var out: [(Double, Double)] = [], sum = 0.0
    for (k, q) in p.enumerated() {
        sum += q.1
        if k >= window { sum -= p[k - window].1 }
        out.append((q.0, sum / Double(min(k + 1, window))))
    }
    return out
}
