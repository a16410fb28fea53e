// Numeric comparisons shared by the tests.
import XCTest

/// |a − b| ≤ abs + rel·max(|a|, |b|).
public func assertClose(
    _ a: Double, _ b: Double, rel: Double = 3e-3, abs absTol: Double = 1e-4, _ what: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertLessThanOrEqual(
        Swift.abs(a - b), absTol + rel * max(Swift.abs(a), Swift.abs(b)),
        "\(what): \(a) vs \(b)", file: file, line: line)
}

/// Largest |a[i] − b[i]|; the arrays must have the same length.
public func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxAbsDiff of \(a.count) and \(b.count) values")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}

/// Every element within `tol` (absolute); names the first index that is not.
public func assertClose(
    _ a: [Float], _ b: [Float], tol: Float, _ what: String = "", file: StaticString = #filePath, line: UInt = #line
) {
    guard a.count == b.count else { return XCTFail("\(what): \(a.count) vs \(b.count) values", file: file, line: line) }
    for i in 0..<a.count where !(abs(a[i] - b[i]) <= tol) {
        return XCTFail(
            "\(what): [\(i)] \(a[i]) vs \(b[i]) (tolerance \(tol); max |Δ| \(maxAbsDiff(a, b)))", file: file, line: line
        )
    }
}

/// The error of type E that `body` throws; fails the test (and returns nil) if it throws nothing or something else.
public func thrown<E: Error>(_: E.Type, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Any)
    -> E?
{
    do {
        _ = try body()
        XCTFail("expected a \(E.self)", file: file, line: line)
    } catch let e as E {
        return e
    } catch {
        XCTFail("expected a \(E.self), got \(error)", file: file, line: line)
    }
    return nil
}
