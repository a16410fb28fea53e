// The layer-list grammar of every `--layers` flag (train, neurons map, neurons compare, sweeps) and its
// inverse, the compact name a run folder carries:
//   SPEC = all | ITEM[,ITEM]...     ITEM = N | A-B | A:B | A:B:S     (B inclusive, S > 0)
// "0-3,8,12:20:4" → [0, 1, 2, 3, 8, 12, 16, 20]. The result is sorted and unique.
import Foundation

/// One line naming the flag, the item and the model's layers, e.g.
/// `--layers '0-3,40', item '40': layer 40 is outside the model's layers 0-29`.
public struct LayerSpecError: Error, CustomStringConvertible, Equatable {
    public let description: String
}

/// The grammar in words, for help texts.
public let layerSpecSyntax = "all, 0-29, 0,4,8, 3:29:4 (start:stop:step, stop inclusive) or a comma list of these"

public func parseLayerSpec(_ spec: String, nLayers: Int, flag: String = "--layers") throws -> [Int] {
    let items = spec.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
    }
    let layers = "the model's layers 0-\(nLayers - 1)"
    func bad(_ item: String, _ problem: String, syntax: Bool = true) -> LayerSpecError {
        let place = items.count > 1 ? "\(flag) '\(spec)', item '\(item)'" : "\(flag) '\(spec)'"
        return LayerSpecError(
            description: "\(place): \(problem)"
                + (syntax ? "; use \(layerSpecSyntax); the model has layers 0-\(nLayers - 1)" : ""))
    }
    guard nLayers > 0 else { throw LayerSpecError(description: "\(flag) '\(spec)': the model has no layers") }
    if spec.trimmingCharacters(in: .whitespaces) == "all" { return Array(0..<nLayers) }
    var out = Set<Int>()
    for item in items {
        func int(_ s: Substring) throws -> Int {
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else {
                throw bad(item, "'\(s)' is not a layer number")
            }
            return v
        }
        guard !item.isEmpty else { throw bad(item, "empty item") }
        let a: Int, b: Int, step: Int
        if item.contains(":") {
            let f = item.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count == 2 || f.count == 3 else { throw bad(item, "use start:stop or start:stop:step") }
            a = try int(f[0]); b = try int(f[1]); step = f.count == 3 ? try int(f[2]) : 1
            guard step > 0 else { throw bad(item, "the step must be positive") }
        } else if let dash = item.dropFirst().firstIndex(of: "-") {  // dropFirst: "-3" is a (bad) number, not a range
            a = try int(item[..<dash]); b = try int(item[item.index(after: dash)...]); step = 1
        } else {
            a = try int(Substring(item)); b = a; step = 1
        }
        guard a <= b else { throw bad(item, "start \(a) is after stop \(b)") }
        // Checked before expanding, so a huge range never sizes anything.
        for l in [a, b] where l < 0 || l >= nLayers {
            throw bad(item, "layer \(l) is outside \(layers)", syntax: false)
        }
        for l in stride(from: a, through: b, by: step) { out.insert(l) }
    }
    return out.sorted()
}

/// A compact description of a sorted, unique layer list for run names: "0-29", "0,4,8", "3:27:4";
/// parseLayerSpec reads it back to the same list.
public func layerSpecName(_ layers: [Int]) -> String {
    guard let first = layers.first, let last = layers.last else { return "none" }
    if layers.count == 1 { return "\(first)" }
    let step = layers[1] - layers[0]
    if step > 0, layers == Array(stride(from: first, through: last, by: step)) {
        return step == 1 ? "\(first)-\(last)" : "\(first):\(last):\(step)"
    }
    return layers.map(String.init).joined(separator: ",")
}
