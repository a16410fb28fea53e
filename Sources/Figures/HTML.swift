// A small HTML builder for self-contained pages (the run report): markup is made only of escaped text,
// elements and trusted markup the project drew itself (SVG charts), so text read from a run's files
// (prompts, answers, token strings) can never open a tag or end an attribute. No scripts, no external
// resources: images are `data:` URIs (Base64.swift), charts inline SVG (SVGChart.swift).

/// A fragment of HTML. A string literal or interpolation is *text* and gets escaped; `HTML(trusted:)` is the
/// one way in for ready markup.
public struct HTML: Sendable, ExpressibleByStringInterpolation {
    public private(set) var markup: String

    public init(trusted markup: String) { self.markup = markup }
    public init(stringLiteral s: String) { markup = htmlEscape(s) }
    public init(stringInterpolation: DefaultStringInterpolation) {
        markup = htmlEscape(String(stringInterpolation: stringInterpolation))
    }
    public static func text(_ s: String) -> HTML { HTML(trusted: htmlEscape(s)) }
    public static let empty = HTML(trusted: "")

    public static func + (a: HTML, b: HTML) -> HTML { HTML(trusted: a.markup + b.markup) }
    public static func += (a: inout HTML, b: HTML) { a.markup += b.markup }

    /// `<tag a="v" …>children</tag>`; attribute values are escaped, names are the caller's literals.
    public static func el(_ tag: String, _ attributes: KeyValuePairs<String, String> = [:], _ children: HTML...) -> HTML
    {
        el(tag, attributes, children)
    }
    public static func el(_ tag: String, _ attributes: KeyValuePairs<String, String> = [:], _ children: [HTML]) -> HTML
    {
        var m = "<" + tag + attributeMarkup(attributes) + ">"
        for c in children { m += c.markup }
        return HTML(trusted: m + "</" + tag + ">")
    }
    /// A void element (`img`, `meta`, `br`): no children and no end tag.
    public static func void(_ tag: String, _ attributes: KeyValuePairs<String, String> = [:]) -> HTML {
        HTML(trusted: "<" + tag + attributeMarkup(attributes) + ">")
    }

    /// The fragments one after the other.
    public static func join(_ parts: [HTML], separator: HTML = .empty) -> HTML {
        HTML(trusted: parts.map(\.markup).joined(separator: separator.markup))
    }
}

private func attributeMarkup(_ attributes: KeyValuePairs<String, String>) -> String {
    attributes.map { " " + $0.key + "=\"" + htmlEscape($0.value) + "\"" }.joined()
}

/// The characters that would end text or an attribute, as character references.
private let htmlReferences: [Unicode.Scalar: String] = [
    "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"
]

/// Text safe inside elements and quoted attributes: & < > " ' as character references, and C0 control
/// characters (other than tab, newline and carriage return) and DEL, which HTML forbids in text, as U+FFFD.
public func htmlEscape(_ s: String) -> String {
    var out = ""
    out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
    for u in s.unicodeScalars {
        if let r = htmlReferences[u] { out += r; continue }
        let forbidden = (u.value < 0x20 && u != "\t" && u != "\n" && u != "\r") || u.value == 0x7F
        out.unicodeScalars.append(forbidden ? "\u{FFFD}" : u)
    }
    return out
}

/// A table with a header row; cells of the columns in `numeric` are right-aligned (class "num"), and row k of
/// the body gets the class `rowClasses[k]` when there is one.
public func htmlTable(
    header: [HTML], rows: [[HTML]], numeric: Set<Int> = [], class cls: String = "data",
    rowClasses: [String?] = []
) -> HTML {
    func cell(_ tag: String, _ c: HTML, _ k: Int) -> HTML {
        numeric.contains(k) ? HTML.el(tag, ["class": "num"], c) : HTML.el(tag, [:], c)
    }
    let head = HTML.el("thead", [:], HTML.el("tr", [:], header.enumerated().map { cell("th", $0.element, $0.offset) }))
    let body = HTML.el(
        "tbody", [:],
        rows.enumerated().map { k, r in
            let cells = r.enumerated().map { cell("td", $0.element, $0.offset) }
            return k < rowClasses.count && rowClasses[k] != nil
                ? HTML.el("tr", ["class": rowClasses[k]!], cells) : HTML.el("tr", [:], cells)
        })
    return HTML.el("table", ["class": cls], head, body)
}

/// PNG bytes shown as an `<img>` with a `data:` URI; width and height (the image's own, in pixels) let the
/// page lay out before decoding, and CSS may scale it down.
public func pngImage(_ png: [UInt8], alt: String, width: Int, height: Int) -> HTML {
    HTML.void(
        "img",
        [
            "src": "data:image/png;base64," + base64Encode(png), "alt": alt, "width": String(width),
            "height": String(height)
        ])
}

/// A complete UTF-8 page: doctype, head with the title, `meta` entries and an inline style sheet, and the body.
public func htmlDocument(title: String, style: String, meta: KeyValuePairs<String, String> = [:], body: HTML) -> String
{
    var head =
        HTML.void("meta", ["charset": "utf-8"])
        + HTML.void("meta", ["name": "viewport", "content": "width=device-width, initial-scale=1"])
    for (k, v) in meta { head += HTML.void("meta", ["name": k, "content": v]) }
    head += HTML.el("title", [:], .text(title)) + HTML.el("style", [:], HTML(trusted: style))
    return "<!DOCTYPE html>\n"
        + HTML.el("html", ["lang": "en"], HTML.el("head", [:], head), HTML.el("body", [:], body)).markup + "\n"
}
