// Sizes computed from numbers read in a file (dimensions, counts) must not wrap around: these return nil
// instead of overflowing, so the caller can refuse the file with a message rather than trap or allocate
// a wrapped size.

/// The product of `factors`; nil when a factor is negative or the product overflows Int.
public func checkedProduct(_ factors: [Int]) -> Int? {
    var p = 1
    for f in factors {
        guard f >= 0 else { return nil }
        let (q, o) = p.multipliedReportingOverflow(by: f)
        guard !o else { return nil }
        p = q
    }
    return p
}

/// The sum of `terms`; nil when a term is negative or the sum overflows Int.
public func checkedSum(_ terms: [Int]) -> Int? {
    var s = 0
    for t in terms {
        guard t >= 0 else { return nil }
        let (q, o) = s.addingReportingOverflow(t)
        guard !o else { return nil }
        s = q
    }
    return s
}
