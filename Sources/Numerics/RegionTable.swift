// One allocation carved into views by an ordered table of regions (views, float count), as llm.c does
// with fill_in_activation_sizes + malloc_and_point_activations: the same table is summed for the size
// and walked for the pointers, so the byte count a memory plan prints and the carving cannot drift apart.

public struct RegionTable<View> {
    /// Regions in order: the views one region backs (several when it is shared) and its float count.
    public private(set) var regions: [(views: [View], floats: Int)] = []

    public init() {}

    public mutating func add(_ view: View, _ floats: Int) { regions.append(([view], floats)) }
    /// One region that several views point at (e.g. one layer's worth reused by every layer).
    public mutating func add(shared views: [View], _ floats: Int) { regions.append((views, floats)) }

    /// Floats the whole table takes.
    public var floats: Int { regions.reduce(0) { $0 + $1.floats } }

    /// Walks the regions from `base`, handing each view its region's start; returns the floats walked.
    @discardableResult
    public func carve(_ base: UnsafeMutablePointer<Float>, _ point: (View, UnsafeMutablePointer<Float>) -> Void) -> Int
    {
        var offset = 0
        for r in regions {
            for v in r.views { point(v, base + offset) }
            offset += r.floats
        }
        return offset
    }
}
