#!/usr/bin/env python3
"""Checks a browser's screenshot of a run report (Python standard library only).

usage: check_screenshot.py REPORT.html SCREENSHOT.png [WIDTH HEIGHT]

Passes when the PNG has the expected size, is not blank (many colours, most of the page not the background)
and contains each colour of the heatmaps' colormap, which the report names in
<meta name="irm-heatmap-colours" content="r,g,b r,g,b ...">. Prints one line and exits 0, or names what failed
and exits 1.
"""
import re, sys, struct, zlib
from collections import Counter

TOLERANCE = 6          # per channel: the browser scales images, so colours between two stops may mix slightly
MIN_PIXELS = 20        # of each colormap colour
MIN_COLOURS = 300      # distinct colours on a page with heatmaps and charts
MIN_INK = 0.05         # share of pixels that are not the background


def fail(msg):
    print('report-check: FAILED: ' + msg)
    sys.exit(1)


def read_png(path):
    """(width, height, channels, rows of bytes): 8-bit RGB or RGBA, non-interlaced (what Chromium writes)."""
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        fail('%s is not a PNG' % path)
    pos, idat, ihdr = 8, b'', None
    while pos < len(data):
        n, t = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if t == b'IHDR':
            ihdr = struct.unpack('>IIBBBBB', body)
        elif t == b'IDAT':
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        fail('%s: unsupported PNG (depth %d, colour type %d, interlace %d)' % (path, depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride): line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride): line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 255
        elif f != 0:
            fail('bad PNG filter %d' % f)
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    if len(sys.argv) not in (3, 5):
        fail(__doc__.strip().splitlines()[2])
    page = open(sys.argv[1], encoding='utf-8').read()
    m = re.search(r'<meta name="irm-heatmap-colours" content="([0-9, ]+)">', page)
    if not m:
        fail('%s does not name its heatmap colours' % sys.argv[1])
    stops = [tuple(int(v) for v in c.split(',')) for c in m.group(1).split()]
    w, h, bpp, rows = read_png(sys.argv[2])
    if len(sys.argv) == 5 and (w, h) != (int(sys.argv[3]), int(sys.argv[4])):
        fail('screenshot is %dx%d, expected %sx%s' % (w, h, sys.argv[3], sys.argv[4]))
    counts = Counter()
    for r in rows:
        counts.update(zip(r[0::bpp], r[1::bpp], r[2::bpp]))
    total = w * h
    background, bg_count = counts.most_common(1)[0]
    ink = 1 - bg_count / total
    if len(counts) < MIN_COLOURS or ink < MIN_INK:
        fail('the page looks blank: %d colours, %.1f %% not background %s' % (len(counts), 100 * ink, background))
    found = []
    for s in stops:
        if s == (255, 255, 255):
            continue
        n = sum(k for c, k in counts.items() if max(abs(c[0] - s[0]), abs(c[1] - s[1]), abs(c[2] - s[2])) <= TOLERANCE)
        found.append((s, n))
    missing = [s for s, n in found if n < MIN_PIXELS]
    if missing:
        fail('heatmap colours missing from the screenshot: %s (found %s)' % (missing, found))
    print('report-check: ok: %dx%d screenshot, %d colours, %.1f %% ink; heatmap colours found (pixels within ±%d): %s'
          % (w, h, len(counts), 100 * ink, TOLERANCE, ', '.join('%s:%d' % ('%d,%d,%d' % s, n) for s, n in found)))


main()
