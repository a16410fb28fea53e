import XCTest
import Foundation
@testable import Analysis
import Llama
import Numerics
import TestSupport

/// The screened decoder (LMHeadDecoder's `.screened`: an 8-bit screen with proven bounds, then exact rescoring)
/// against the exact one: the same tokens and the same logits bit for bit, probabilities close.
final class NeuronScreenTests: XCTestCase {
    static var kernels: [Int8ScreenKernel] {
        CPUInfo.current.features.contains("avx512_vnni") && CPUInfo.current.paths.contains(.avx512)
            ? [.portable, .vnni] : [.portable]
    }

    /// Asserts that `b` lists the same tokens with the same logits as `a` and probabilities within `probTol`
    /// (relative); returns the largest relative probability difference.
    @discardableResult
    func assertSameTokens(
        _ a: DecodedTokens, _ b: DecodedTokens, probTol: Float, _ what: String, file: StaticString = #filePath,
        line: UInt = #line
    ) -> Float {
        XCTAssertEqual(a.topIds, b.topIds, "\(what): top ids", file: file, line: line)
        XCTAssertEqual(a.bottomIds, b.bottomIds, "\(what): bottom ids", file: file, line: line)
        XCTAssertEqual(
            a.topLogits.map(\.bitPattern), b.topLogits.map(\.bitPattern), "\(what): top logits", file: file, line: line)
        XCTAssertEqual(
            a.bottomLogits.map(\.bitPattern), b.bottomLogits.map(\.bitPattern), "\(what): bottom logits", file: file,
            line: line)
        var worst: Float = 0
        for (p, q) in zip(a.topProbs + a.bottomProbs, b.topProbs + b.bottomProbs) where p > 0 {
            worst = max(worst, abs(p - q) / p)
        }
        XCTAssertLessThanOrEqual(worst, probTol, "\(what): probabilities", file: file, line: line)
        return worst
    }

    /// A random fp16 head at Llama 2's width (4096) with two equal rows, against vectors that include a zero
    /// vector (every logit 0: all ties), a head row (one token far ahead) and random ones; on every kernel path
    /// and with each screen kernel.
    func testScreenedEqualsExactOnRandomHead() {
        let V = 6000, K = 4096, M = 20
        var rng = Rng(seed: 5)
        let buf = ByteBuffer(byteCount: V * K * 2)
        for i in 0..<V * K {
            buf.ptr.storeBytes(of: Float16((rng.uniform() * 2 - 1) * 0.03), toByteOffset: 2 * i, as: Float16.self)
        }
        (buf.ptr + 2 * 77 * K).copyMemory(from: buf.ptr + 2 * 1234 * K, byteCount: 2 * K)
        let head = Weight(rows: V, cols: K, type: .f16, base: UnsafeRawPointer(buf.ptr), owner: buf)
        let gain = (0..<K).map { _ in 1 + (rng.uniform() - 0.5) * 0.2 }
        var x = (0..<M * K).map { _ in (rng.uniform() * 2 - 1) * 0.03 }
        for k in 0..<K { x[k] = 0; x[K + k] = head.value(1234, k) / gain[k] }
        let saved = kernelPath
        defer { kernelPath = saved }
        for path in CPUInfo.current.paths {
            kernelPath = path
            let exact = LMHeadDecoder(head: head, gain: gain)
            exact.method = .exact
            let a = x.withUnsafeBufferPointer {
                exact.decode(vectors: $0.baseAddress!, count: M, topK: 10, bottomK: 10)
            }
            XCTAssertEqual(
                Array(a.topIds[0..<10]), (0..<10).map { Int32($0) }, "a zero vector ties every token: ids in order")
            XCTAssertEqual(Array(a.topIds[10..<12]), [77, 1234], "equal rows: the lower id first")
            for kernel in Self.kernels {
                let screened = LMHeadDecoder(head: head, gain: gain)
                screened.method = .screened(kernel)
                screened.blockRows = 7  // several blocks, the last one short
                let b = x.withUnsafeBufferPointer {
                    screened.decode(vectors: $0.baseAddress!, count: M, topK: 10, bottomK: 10)
                }
                let worst = assertSameTokens(a, b, probTol: 0.05, "\(path) \(kernel)")
                let f = screened.screenStats.fractions(vocab: V)
                print("screen \(path) \(kernel): stage 2 \(f.stage2), exact \(f.exact), worst prob rel diff \(worst)")
                XCTAssertEqual(screened.screenStats.vectors, M)
                // The zero vector sends every token to exact rescoring; the others must leave almost all out.
                XCTAssertLessThan(f.exact, 1.0 / Double(M) + 0.01)
            }
        }
    }

    /// SmolLM2's map (up and down neurons of three layers) screened equals the exact map: tokens and logits bit
    /// for bit.
    func testScreenedMapEqualsExactOnSmolLM2() throws {
        let path = smolPath  // TestSupport: the file `make model` fetches
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("SmolLM2 not present: make model") }
        let m = try LlamaModel.load(path: path)
        for kind in [NeuronKind.up, .down] {
            let layers = kind == .up ? [0, 15, 29] : [29]
            let exact = NeuronMap.build(model: m, tokens: [], kind: kind, layers: layers, method: .exact)
            for kernel in Self.kernels where kernel == .vnni || kind == .down {
                let screened = NeuronMap.build(
                    model: m, tokens: [], kind: kind, layers: layers, method: .screened(kernel))
                let worst = assertSameTokens(
                    exact.decoded, screened.decoded, probTol: 0.05, "SmolLM2 \(kind) \(kernel)")
                let f = screened.screenStats!.fractions(vocab: m.config.vocabSize)
                print("SmolLM2 \(kind) \(kernel): stage 2 \(f.stage2), exact \(f.exact), worst prob rel diff \(worst)")
            }
        }
    }
}
