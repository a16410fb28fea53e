// Text written with escapes, for the three places that need them: JSON string literals (the hand-written JSON
// writers), TSV cells and error messages. Names read from a file may hold any character; written out through
// one of these they cannot break a line, a cell or a string.

/// `s` with each scalar in `named` replaced by its escape, and any other scalar for which `other` gives a
/// text replaced by that.
public func escapingScalars(
    _ s: String, _ named: [Unicode.Scalar: String], other: (Unicode.Scalar) -> String? = { _ in nil }
) -> String {
    var out = String.UnicodeScalarView()
    for u in s.unicodeScalars {
        if let e = named[u] ?? other(u) { out.append(contentsOf: e.unicodeScalars) } else { out.append(u) }
    }
    return String(out)
}

private let jsonEscapes: [Unicode.Scalar: String] = ["\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"]
private let lineEscapes: [Unicode.Scalar: String] = ["\n": "\\n", "\r": "\\r", "\t": "\\t"]

/// A JSON string literal (RFC 8259 escapes; non-ASCII stays UTF-8). Used by every hand-written JSON writer.
public func jsonString(_ s: String) -> String {
    "\""
        + escapingScalars(s, jsonEscapes) { u in
            guard u.value < 0x20 else { return nil }
            let h = String(u.value, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - h.count) + h
        } + "\""
}

/// `s` on one line: control characters and line separators (which a name read from a file may hold) written as
/// escapes, so that an error message stays one line on the terminal.
public func singleLine(_ s: String) -> String {
    escapingScalars(s, lineEscapes) { u in
        [.control, .lineSeparator, .paragraphSeparator].contains(u.properties.generalCategory)
            ? "\\u{" + String(u.value, radix: 16) + "}" : nil
    }
}
