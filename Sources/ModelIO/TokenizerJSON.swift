// A small JSON reader for tokenizer.json. Foundation's JSONSerialization cannot be used: it returns
// dictionaries keyed by String, and Swift String equality is canonical equivalence, so distinct vocabulary
// pieces such as "ά" (U+03AC) and "ά" (U+1F71) would collapse into one key. Objects here keep every
// member in file order.

enum JSONValue {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([(String, JSONValue)])

    subscript(_ key: String) -> JSONValue? {
        guard case .object(let m) = self else { return nil }
        // Keys we look up are ASCII, so comparing UTF-8 bytes is exact.
        return m.first { $0.0.utf8.elementsEqual(key.utf8) }?.1
    }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    var int: Int? {
        if case .number(let d) = self, d.rounded() == d, abs(d) < 1e15 { Int(d) } else { nil }
    }
    var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    var members: [(String, JSONValue)]? { if case .object(let m) = self { m } else { nil } }
    var isNull: Bool { if case .null = self { true } else { false } }

    /// Compact JSON text (used to look for markers such as "ByteLevel" anywhere in a sub-tree).
    var compact: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let d): return d.rounded() == d && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .string(let s):
            return "\""
                + s.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .array(let a): return "[" + a.map(\.compact).joined(separator: ",") + "]"
        case .object(let m):
            return "{"
                + m.map { JSONValue.string($0.0).compact + ":" + $0.1.compact }
                .joined(separator: ",") + "}"
        }
    }
}

struct JSONParser {
    let b: UnsafeRawBufferPointer
    var i = 0
    let file: String

    static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> JSONValue {
        var p = JSONParser(b: bytes, file: file)
        let v = try p.value(depth: 0)
        p.ws()
        guard p.i == bytes.count else { throw p.fail("trailing characters") }
        return v
    }

    func fail(_ m: String) -> FileError { FileError(file, "not valid JSON at byte \(i): \(m)") }

    mutating func ws() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func literal(_ s: String, _ v: JSONValue) throws -> JSONValue {
        let u = Array(s.utf8)
        guard b.count - i >= u.count, (0..<u.count).allSatisfy({ b[i + $0] == u[$0] }) else {
            throw fail("bad literal")
        }
        i += u.count
        return v
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard depth < 256 else { throw fail("nested too deeply") }
        ws()
        guard i < b.count else { throw fail("unexpected end") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var m: [(String, JSONValue)] = []
            ws()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(m) }
            while true {
                ws()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let k = try string()
                ws()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                m.append((k, try value(depth: depth + 1)))
                ws()
                guard i < b.count else { throw fail("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(m) }
                throw fail("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var a: [JSONValue] = []
            ws()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
            while true {
                a.append(try value(depth: depth + 1))
                ws()
                guard i < b.count else { throw fail("unexpected end") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
                throw fail("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default:
            let s = i
            while i < b.count, let c = Optional(b[i]),
                (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2B || c == 0x2E || c == 0x65 || c == 0x45
            { i += 1 }
            guard i > s, let d = Double(String(decoding: UnsafeRawBufferPointer(rebasing: b[s..<i]), as: UTF8.self))
            else { throw fail("unexpected character") }
            return .number(d)
        }
    }

    mutating func hex4() throws -> UInt32 {
        guard b.count - i >= 4 else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]; i += 1
            let h: UInt32
            switch c {
            case 0x30...0x39: h = UInt32(c - 0x30)
            case 0x41...0x46: h = UInt32(c - 0x41 + 10)
            case 0x61...0x66: h = UInt32(c - 0x61 + 10)
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | h
        }
        return v
    }

    mutating func string() throws -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard i < b.count else { throw fail("unterminated string") }
            let c = b[i]; i += 1
            if c == UInt8(ascii: "\"") { break }
            if c != UInt8(ascii: "\\") { out.append(c); continue }
            guard i < b.count else { throw fail("unterminated escape") }
            let e = b[i]; i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var u = try hex4()
                if (0xD800..<0xDC00).contains(u), b.count - i >= 6, b[i] == UInt8(ascii: "\\"),
                    b[i + 1] == UInt8(ascii: "u")
                {
                    let save = i
                    i += 2
                    let lo = try hex4()
                    if (0xDC00..<0xE000).contains(lo) {
                        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        i = save
                    }
                }
                let scalar = Unicode.Scalar(u) ?? "\u{FFFD}"
                out += Array(String(Character(scalar)).utf8)
            default: throw fail("bad escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
