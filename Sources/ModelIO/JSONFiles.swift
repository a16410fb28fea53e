// Every JSON irm writes is made here, with its keys sorted: files written from the same state are byte-identical
// (Swift's dictionary order changes from process to process). Indented for files people read (config.json,
// eval.json, analysis.json, summaries); compact where the JSON sits inside another file (safetensors metadata),
// in a manifest or a cache, or on one line (irm-bench).
import Foundation

public enum JSONLayout: Sendable {
    case indented, compact
}

/// `value` encoded as JSON with sorted keys.
public func encodeJSON<T: Encodable>(_ value: T, _ layout: JSONLayout = .indented) throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = layout == .indented ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
    return try e.encode(value)
}

/// An untyped object (dictionaries, arrays, strings, numbers, NSNull) as JSON with sorted keys: Hugging Face
/// config.json and index files, whose keys are other programs'.
public func encodeJSONObject(_ object: Any, _ layout: JSONLayout = .indented) throws -> Data {
    try JSONSerialization.data(
        withJSONObject: object, options: layout == .indented ? [.prettyPrinted, .sortedKeys] : [.sortedKeys])
}

/// `value` as JSON at `path`, written atomically (a temporary name, then a rename).
public func writeJSONFile<T: Encodable>(_ value: T, to path: String, _ layout: JSONLayout = .indented) throws {
    try writeFileAtomically(path, [UInt8](try encodeJSON(value, layout)))
}
