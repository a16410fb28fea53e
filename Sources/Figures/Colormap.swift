// Colormaps. The heatmaps use a diverging blue–white–red map centred at 0 (in the spirit of matplotlib's
// "RdBu_r"; the control points are our own): white at 0, lighter to darker blue for negative values, lighter
// to darker red for positive, so sign and magnitude read at a glance and 0 stays neutral.

public struct DivergingColormap: Sendable {
    /// Control points at t = −1, −0.75, …, +1 (9 colours, evenly spaced), piecewise-linear in between.
    /// Each side gets steadily darker away from the centre (channel sums strictly decrease), so |v| is
    /// monotone in lightness.
    public let stops: [RGB]

    public static let blueWhiteRed = DivergingColormap(stops: [
        RGB(10, 40, 110),  // −1.00 deep blue
        RGB(30, 90, 170),  // −0.75
        RGB(70, 140, 205),  // −0.50
        RGB(160, 200, 232),  // −0.25
        RGB(255, 255, 255),  //  0    white
        RGB(250, 195, 170),  // +0.25
        RGB(235, 120, 90),  // +0.50
        RGB(195, 35, 40),  // +0.75
        RGB(110, 5, 20)  // +1.00 deep red
    ])

    public init(stops: [RGB]) {
        precondition(stops.count >= 2 && stops.count % 2 == 1, "DivergingColormap: need an odd number of stops")
        self.stops = stops
    }

    /// Colour for t in [−1, 1] (clamped); NaN gives mid grey.
    public func color(t: Float) -> RGB {
        guard !t.isNaN else { return RGB(150, 150, 150) }
        let tc = min(1, max(-1, t))
        let pos = (tc + 1) / 2 * Float(stops.count - 1)
        let i = min(stops.count - 2, Int(pos))
        let f = pos - Float(i)
        let a = stops[i], b = stops[i + 1]
        func mix(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8((Float(x) + (Float(y) - Float(x)) * f).rounded()) }
        return RGB(mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b))
    }

    /// Colour for `v` with symmetric limit `limit`: v/limit ∈ [−1, 1], so 0 is white, +limit the deepest
    /// red and −limit the deepest blue; values beyond ±limit are clamped.
    public func color(_ v: Float, limit: Float) -> RGB {
        guard limit > 0 && limit.isFinite else { return color(t: v.isNaN ? .nan : 0) }
        return color(t: v / limit)
    }
}

/// The symmetric limit max |v| over the finite values (1 when there are none or all are 0, so a blank
/// matrix still renders as white instead of dividing by zero).
public func symmetricLimit(_ values: [Float]) -> Float {
    var m: Float = 0
    for v in values where v.isFinite { m = max(m, abs(v)) }
    return m > 0 ? m : 1
}

/// Distinct colours for line series (our own picks, readable on white, distinguishable in greyscale order).
public let seriesPalette: [RGB] = [
    RGB(31, 100, 180),  // blue
    RGB(230, 110, 20),  // orange
    RGB(40, 150, 60),  // green
    RGB(200, 30, 40),  // red
    RGB(130, 80, 180),  // purple
    RGB(130, 85, 60),  // brown
    RGB(220, 100, 180),  // pink
    RGB(90, 90, 90),  // grey
    RGB(170, 170, 20),  // olive
    RGB(20, 175, 200)  // cyan
]
