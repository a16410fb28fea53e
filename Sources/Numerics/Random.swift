// Seeded random numbers: xoshiro256** seeded through splitmix64. The state is four UInt64s so a
// training checkpoint can store and restore it exactly.

public struct Rng: Sendable {
    public var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var z = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E3779B97F4A7C15
            var r = x
            r = (r ^ (r >> 30)) &* 0xBF58476D1CE4E5B9
            r = (r ^ (r >> 27)) &* 0x94D049BB133111EB
            return r ^ (r >> 31)
        }
        s = (splitmix(&z), splitmix(&z), splitmix(&z), splitmix(&z))
    }
    public init(state: [UInt64]) { s = (state[0], state[1], state[2], state[3]) }
    public var state: [UInt64] { [s.0, s.1, s.2, s.3] }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }
    /// Uniform in [0, 1) with 24 bits of precision.
    @inlinable public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16777216.0) }
    /// Uniform in [0, 1) with 53 bits.
    @inlinable public mutating func uniformDouble() -> Double { Double(next() >> 11) * (1.0 / 9007199254740992.0) }
    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        let u1 = max(uniformDouble(), 1e-300), u2 = uniformDouble()
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }
    /// Uniform integer in 0..<n.
    public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

import Foundation
@inline(__always) func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Foundation.cos(x) }
