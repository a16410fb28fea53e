// An RGB raster to draw figures on: pixels, rectangles, lines, text (BitmapFont.swift). Coordinates are
// integer pixels, origin at the top-left, y down; everything is clipped to the canvas.

/// An 8-bit sRGB colour.
public struct RGB: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    public static let white = RGB(255, 255, 255)
    public static let black = RGB(0, 0, 0)
    public static let gray = RGB(128, 128, 128)
    public static let lightGray = RGB(225, 225, 225)
    public var description: String { "RGB(\(r), \(g), \(b))" }
}

public struct Canvas {
    public let width: Int
    public let height: Int
    /// Row-major RGB bytes, 3 per pixel.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width > 0 && height > 0, "Canvas: empty size \(width)×\(height)")
        self.width = width; self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fillRect(x: 0, y: 0, width: width, height: height, background)
    }

    public func pixel(x: Int, y: Int) -> RGB {
        let o = (y * width + x) * 3
        return RGB(pixels[o], pixels[o + 1], pixels[o + 2])
    }

    @inline(__always) public mutating func setPixel(x: Int, y: Int, _ c: RGB) {
        guard x >= 0 && y >= 0 && x < width && y < height else { return }
        let o = (y * width + x) * 3
        pixels[o] = c.r; pixels[o + 1] = c.g; pixels[o + 2] = c.b
    }

    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, _ c: RGB) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1 && y0 < y1 else { return }
        let W = width
        pixels.withUnsafeMutableBufferPointer { p in
            for yy in y0..<y1 {
                var o = (yy * W + x0) * 3
                for _ in x0..<x1 { p[o] = c.r; p[o + 1] = c.g; p[o + 2] = c.b; o += 3 }
            }
        }
    }

    /// 1-pixel outline just inside the rectangle.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, _ c: RGB) {
        fillRect(x: x, y: y, width: w, height: 1, c)
        fillRect(x: x, y: y + h - 1, width: w, height: 1, c)
        fillRect(x: x, y: y, width: 1, height: h, c)
        fillRect(x: x + w - 1, y: y, width: 1, height: h, c)
    }

    /// Bresenham line from (x0, y0) to (x1, y1), both ends included; `thickness` > 1 stamps a square of that
    /// side centred on each point.
    public mutating func drawLine(x0: Int, y0: Int, x1: Int, y1: Int, _ c: RGB, thickness: Int = 1) {
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy, x = x0, y = y0
        let lo = (thickness - 1) / 2
        // Points off the canvas are clipped one by one (a line far outside still walks every point).
        while true {
            if thickness <= 1 {
                setPixel(x: x, y: y, c)
            } else {
                fillRect(x: x - lo, y: y - lo, width: thickness, height: thickness, c)
            }
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// Text with its top-left corner at (x, y), each font pixel drawn as a scale×scale square.
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, _ c: RGB = .black) {
        var cx = x
        for ch in text {
            let rows = BitmapFont.rows(ch)
            for (ry, bits) in rows.enumerated() where bits != 0 {
                for col in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(col)) != 0 {
                    fillRect(x: cx + col * scale, y: y + ry * scale, width: scale, height: scale, c)
                }
            }
            cx += BitmapFont.advance * scale
        }
    }

    /// Text rotated 90° counter-clockwise (reading bottom to top, as a y-axis label). Its bounding box has
    /// its top-left corner at (x, y), is `textHeight(scale)` wide and `textWidth(text, scale)` tall.
    public mutating func drawTextVertical(_ text: String, x: Int, y: Int, scale: Int = 1, _ c: RGB = .black) {
        let w = BitmapFont.textWidth(text, scale: scale)
        var along = 0  // distance from the start of the text, in pixels, before rotation
        for ch in text {
            let rows = BitmapFont.rows(ch)
            for (ry, bits) in rows.enumerated() where bits != 0 {
                for col in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(col)) != 0 {
                    // Unrotated (u, v) = (along + col·s, ry·s) → rotated (v, w − 1 − u) for each sub-pixel.
                    let u = along + col * scale
                    fillRect(x: x + ry * scale, y: y + w - u - scale, width: scale, height: scale, c)
                }
            }
            along += BitmapFont.advance * scale
        }
    }

    /// Horizontal text centred on `cx`.
    public mutating func drawTextCentered(_ text: String, cx: Int, y: Int, scale: Int = 1, _ c: RGB = .black) {
        drawText(text, x: cx - BitmapFont.textWidth(text, scale: scale) / 2, y: y, scale: scale, c)
    }

    /// Horizontal text whose right edge is at `right`.
    public mutating func drawTextRight(_ text: String, right: Int, y: Int, scale: Int = 1, _ c: RGB = .black) {
        drawText(text, x: right - BitmapFont.textWidth(text, scale: scale), y: y, scale: scale, c)
    }

    /// Copies `c` onto this canvas with its top-left corner at (x, y), clipped to this canvas.
    public mutating func draw(_ c: Canvas, x: Int, y: Int) {
        let x0 = max(0, x), x1 = min(width, x + c.width), y0 = max(0, y), y1 = min(height, y + c.height)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            let src = ((yy - y) * c.width + (x0 - x)) * 3, dst = (yy * width + x0) * 3, n = (x1 - x0) * 3
            pixels.replaceSubrange(dst..<dst + n, with: c.pixels[src..<src + n])
        }
    }

    public var image: PNGImage { PNGImage(width: width, height: height, channels: 3, pixels: pixels) }

    /// Writes the canvas as an RGB PNG, atomically.
    public func writePNG(to path: String) throws { try image.write(to: path) }
}
