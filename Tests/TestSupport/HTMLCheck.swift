// An independent check of an HTML page the project wrote: Python's standard library parses it (html.parser:
// every element closed in order, void elements aside), decodes every <img> data URI to a file (for the PNG
// reader) and parses every inline <svg> with xml.etree, reporting each chart's series and polyline sizes.
import Foundation
import XCTest

public let pythonHTMLChecker = #"""
    import sys, json, re, base64, html.parser, xml.etree.ElementTree as ET
    page = open(sys.argv[1], encoding='utf-8').read()
    outdir = sys.argv[2]
    VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}
    class Checker(html.parser.HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.stack, self.errors, self.images, self.tags, self.text = [], [], [], {}, []
        def start(self, tag, attrs):
            self.tags[tag] = self.tags.get(tag, 0) + 1
            if tag == 'img': self.images.append(dict(attrs))
            # Nothing may be fetched: no attribute names a URL (text may mention one; it is only text).
            for k, v in attrs:
                if v and ('://' in v or v.startswith('//')): self.errors.append('<%s %s> names a URL: %s' % (tag, k, v[:60]))
        def handle_starttag(self, tag, attrs):
            self.start(tag, attrs)
            if tag not in VOID: self.stack.append((tag, self.getpos()))
        def handle_startendtag(self, tag, attrs):
            self.start(tag, attrs)
        def handle_endtag(self, tag):
            if tag in VOID: self.errors.append('end tag for void element %s at %s' % (tag, self.getpos())); return
            if not self.stack or self.stack[-1][0] != tag:
                self.errors.append('</%s> at %s closes %s' % (tag, self.getpos(), self.stack[-1] if self.stack else 'nothing'))
            else: self.stack.pop()
        def handle_data(self, d):
            if self.stack and self.stack[-1][0] in ('style', 'script'):
                for bad in ('url(', '@import', '://'):
                    if bad in d: self.errors.append('%s in <%s>' % (bad, self.stack[-1][0]))
            else: self.text.append(d)
    p = Checker(); p.feed(page); p.close()
    pngs = []
    for k, img in enumerate(p.images):
        src = img.get('src', '')
        prefix = 'data:image/png;base64,'
        if not src.startswith(prefix): p.errors.append('img %d is not a PNG data URI: %s' % (k, src[:40])); continue
        data = base64.b64decode(src[len(prefix):], validate=True)
        path = '%s/img_%03d.png' % (outdir, k)
        open(path, 'wb').write(data)
        pngs.append({'path': path, 'width': int(img.get('width', 0)), 'height': int(img.get('height', 0)), 'alt': img.get('alt', '')})
    charts = []
    for m in re.finditer(r'<svg\b.*?</svg>', page, re.S):
        root = ET.fromstring(m.group(0))
        series = [{'name': g.get('data-name'), 'polylines': [len(pl.get('points').split()) for pl in g.iter('polyline')]}
                  for g in root.iter('g') if g.get('class') == 'series']
        charts.append({'title': root.get('aria-label'), 'series': series, 'viewBox': root.get('viewBox')})
    print(json.dumps({'errors': p.errors, 'unclosed': [t for t, _ in p.stack], 'tags': p.tags, 'pngs': pngs, 'charts': charts,
                      'text': ''.join(p.text)}))
    """#

public struct HTMLCheck: Decodable {
    public struct Image: Decodable {
        public var path: String; public var width: Int; public var height: Int; public var alt: String
    }
    public struct Series: Decodable { public var name: String?; public var polylines: [Int] }
    public struct Chart: Decodable {
        public var title: String?; public var series: [Series]; public var viewBox: String?
    }
    public var errors: [String]
    public var unclosed: [String]
    public var tags: [String: Int]
    public var pngs: [Image]
    public var charts: [Chart]
    /// The page's text content, character references decoded.
    public var text: String
    public func chart(_ titlePrefix: String) -> Chart? { charts.first { $0.title?.hasPrefix(titlePrefix) == true } }
}

/// Parses the page at `path` with Python's html.parser and xml.etree; decoded images go to `imageDir`.
public func checkHTMLWithPython(_ path: String, imageDir: String, file: StaticString = #filePath, line: UInt = #line)
    throws -> HTMLCheck
{
    let out = try runPython(pythonHTMLChecker, args: [path, imageDir], file: file, line: line)
    return try JSONDecoder().decode(HTMLCheck.self, from: Data(out.utf8))
}

/// The checks every written report must pass: balanced markup, every image a PNG the independent reader
/// decodes at the size the page states, no script, no attribute or style that names a URL.
public func assertSelfContainedPage(
    _ path: String, imageDir: String, file: StaticString = #filePath, line: UInt = #line
) throws -> HTMLCheck {
    let c = try checkHTMLWithPython(path, imageDir: imageDir, file: file, line: line)
    XCTAssertEqual(c.errors, [], file: file, line: line)
    XCTAssertEqual(c.unclosed, [], "elements left open", file: file, line: line)
    for img in c.pngs {
        let d = try decodeWithPython(img.path)
        XCTAssertEqual(
            [d.width, d.height], [img.width, img.height], "\(img.alt): decoded size vs the page's", file: file,
            line: line)
        XCTAssertEqual(d.chunks.first, "IHDR", file: file, line: line)
    }
    XCTAssertEqual(c.tags["script"], nil, file: file, line: line)
    return c
}

/// For a page whose text has no URL in it: not one "http://" or "https://" anywhere.
public func assertNoURL(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let page = try String(contentsOfFile: path, encoding: .utf8)
    for bad in ["http://", "https://", "<script"] {
        XCTAssertFalse(page.contains(bad), "the page contains \(bad)", file: file, line: line)
    }
}
