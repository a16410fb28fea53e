// The page around the sections: header, table of contents, the style sheet, and the small pieces every
// section uses (a "not computed yet" line, a problem line, number formats). Readable without JavaScript and
// without the network: one inline style sheet, system fonts, no external resource of any kind.
import Foundation
import Figures

/// One part of the report, linked from the table of contents by `id`.
public struct ReportSection {
    public var id: String
    public var title: String
    public var body: HTML
}

/// The report says which colours its heatmaps use (the diverging map's control points), so a check of a
/// rendered page can look for them without knowing the renderer.
let heatmapColoursMeta = DivergingColormap.blueWhiteRed.stops.map { "\($0.r),\($0.g),\($0.b)" }.joined(separator: " ")

func reportPage(title: String, subtitle: HTML, glance: HTML, sections: [ReportSection]) -> String {
    let toc = HTML.el("nav", ["class": "toc"], sections.map { HTML.el("a", ["href": "#" + $0.id], .text($0.title)) })
    var body =
        HTML.el("header", [:], HTML.el("h1", [:], .text(title)), HTML.el("p", ["class": "sub"], subtitle), toc) + glance
    for s in sections {
        body += HTML.el("section", ["id": s.id], HTML.el("h2", [:], .text(s.title)), s.body)
    }
    return htmlDocument(
        title: title, style: reportStyle, meta: ["irm-heatmap-colours": heatmapColoursMeta, "generator": "irm report"],
        body: HTML.el("main", [:], body))
}

/// A section whose input is not there: which command makes it.
func notComputed(_ what: String, command: String) -> HTML {
    HTML.el("p", ["class": "missing"], .text(what + ": "), HTML.el("code", [:], .text(command)))
}

/// A section whose input is there but unreadable.
func problemLine(_ message: String) -> HTML {
    HTML.el("p", ["class": "problem"], .text("could not read " + message))
}

/// `.missing` → the "not computed" line, `.failed` → the problem line, `.ok` → `render(value)`.
func rendered<T>(_ l: Loaded<T>, missing: @autoclosure () -> HTML, _ render: (T) -> HTML) -> HTML {
    switch l {
    case .missing: missing()
    case .failed(let m): problemLine(m)
    case .ok(let v): render(v)
    }
}

/// One number at a glance: its name, its value, a line of detail.
func glanceCard(_ k: String, _ v: String, _ d: String = "") -> HTML {
    HTML.el(
        "div", ["class": "card"], HTML.el("div", ["class": "k"], .text(k)), HTML.el("div", ["class": "v"], .text(v)),
        HTML.el("div", ["class": "d"], .text(d)))
}

func paragraph(_ parts: HTML...) -> HTML { HTML.el("p", [:], parts) }
func figure(_ content: HTML, caption: HTML) -> HTML {
    HTML.el("figure", [:], content, HTML.el("figcaption", [:], caption))
}
func code(_ s: String) -> HTML { HTML.el("code", [:], .text(s)) }
func strong(_ s: String) -> HTML { HTML.el("strong", [:], .text(s)) }

/// Fixed decimals; "–" for nil or non-finite.
func num(_ x: Double?, _ digits: Int = 3) -> String {
    guard let x, x.isFinite else { return "–" }
    return String(format: "%.\(digits)f", x)
}
func percent(_ x: Double?, _ digits: Int = 1) -> String {
    guard let x, x.isFinite else { return "–" }
    return String(format: "%.\(digits)f %%", 100 * x)
}

let reportStyle = """
    :root { --fg: #1c2230; --muted: #5d6677; --line: #dde1e8; --soft: #f4f6f9; --accent: #1f64b4; }
    * { box-sizing: border-box; }
    body { margin: 0; color: var(--fg); background: #fff;
      font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
    main { max-width: 1200px; margin: 0 auto; padding: 20px 28px 64px; }
    h1 { font-size: 26px; margin: 0 0 2px; }
    h2 { font-size: 20px; margin: 0 0 10px; }
    h3 { font-size: 16px; margin: 18px 0 6px; }
    .sub { color: var(--muted); margin: 0 0 10px; }
    nav.toc { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 14px; padding: 8px 0; border-bottom: 1px solid var(--line); }
    nav.toc a, a { color: var(--accent); text-decoration: none; }
    section { margin-top: 30px; padding-top: 4px; }
    .glance { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 10px; margin-top: 16px; }
    .card { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
    .card .k { color: var(--muted); font-size: 13px; }
    .card .v { font-size: 21px; font-weight: 600; font-variant-numeric: tabular-nums; }
    .card .d { color: var(--muted); font-size: 13px; }
    table { border-collapse: collapse; margin: 6px 0 12px; font-variant-numeric: tabular-nums; }
    table.data th, table.data td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
    table.data thead th { border-bottom: 2px solid #b9c0cc; font-weight: 600; }
    table.data .num { text-align: right; white-space: nowrap; }
    table.kv th { text-align: left; font-weight: normal; color: var(--muted); padding: 2px 18px 2px 0; vertical-align: top; white-space: nowrap; }
    table.kv td { padding: 2px 0; }
    .cols { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 36px; }
    .grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
    figure { margin: 10px 0 18px; }
    figcaption { color: var(--muted); font-size: 13px; margin-top: 2px; }
    img, svg.chart { display: block; max-width: 100%; height: auto; }
    img { image-rendering: auto; border: 1px solid var(--line); }
    .missing { color: var(--muted); background: var(--soft); border-left: 3px solid #b9c0cc; padding: 7px 12px; }
    .problem { color: #8a1c1c; background: #fdf0f0; border-left: 3px solid #c33; padding: 7px 12px; }
    .note { color: var(--muted); font-size: 14px; }
    table.answers { width: 100%; }
    table.answers td:nth-child(1) { white-space: nowrap; width: 10em; }
    table.answers td:nth-child(2) { white-space: nowrap; width: 11em; color: var(--muted); }
    table.answers td:nth-child(3) { white-space: pre-wrap; }
    table.answers tr.irm td { background: #fff6f2; }
    table.data tr.unfinished td { color: var(--muted); background: var(--soft); }
    .question { margin: 16px 0 2px; font-weight: 600; }
    details { margin: 8px 0; }
    details summary { cursor: pointer; color: var(--accent); }
    pre { background: var(--soft); padding: 10px 12px; font-size: 13px; white-space: pre-wrap; word-break: break-word; }
    table.data td code { white-space: nowrap; }
    table.tokens td:first-child { white-space: nowrap; }
    code.tok { display: inline-block; white-space: pre; background: var(--soft); border: 1px solid var(--line); border-radius: 3px;
      padding: 0 3px; margin: 1px 0; }
    code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 0.92em; }
    @media (max-width: 800px) { .cols, .grid2 { grid-template-columns: 1fr; } }
    """
