import XCTest
@testable import Llama

final class GreedyTests: XCTestCase {
    /// Greedy continuations of the 5 golden prompts equal llama.cpp's f32ref run (32 tokens, stop on EOG).
    /// Near-ties (plain 0.007, paragraph 0.011 logit margins) are real tests of exactness.
    func testGreedyMatchesLlamaCppF32Ref() throws {
        let model = try smolF32()
        let tokens = try json(goldenDir + "/tokens.json") as! [String: [Int]]
        let greedy = try json(goldenDir + "/greedy_f32ref.json") as! [String: [String: Any]]
        XCTAssertEqual(greedy.count, 5, "an empty or cut golden file would test nothing")
        for (id, g) in greedy {
            let expected = (g["ids"] as! [Int]).map(Int32.init)
            var sampler = Sampler(SamplingParams())
            let got = try model.generate(
                prompt: tokens[id]!.map(Int32.init), maxTokens: 32, sampler: &sampler,
                isStop: { $0 == 2 })
            XCTAssertEqual(got, expected, id)
        }
    }

    func testSamplingIsSeededAndRespectsTopK() throws {
        var logits = [Float](repeating: -10, count: 100)
        logits[7] = 3; logits[42] = 2.9; logits[5] = 2.8
        var a = Sampler(SamplingParams(temperature: 1, topK: 2, seed: 9))
        var b = Sampler(SamplingParams(temperature: 1, topK: 2, seed: 9))
        var seen = Set<Int32>()
        for _ in 0..<200 {
            let x = a.sample(logits)
            XCTAssertEqual(x, b.sample(logits))
            seen.insert(x)
        }
        XCTAssertEqual(seen, [7, 42])
        // top-p small enough keeps only the best token.
        var c = Sampler(SamplingParams(temperature: 1, topP: 0.1, seed: 1))
        for _ in 0..<50 { XCTAssertEqual(c.sample(logits), 7) }
        // Greedy picks the first maximum.
        var g = Sampler(SamplingParams())
        logits[9] = 3
        XCTAssertEqual(g.sample(logits), 7)
    }

    func testSamplingFrequenciesFollowSoftmax() {
        let logits: [Float] = [0, log(3)]  // p = 0.25, 0.75
        var s = Sampler(SamplingParams(temperature: 1, seed: 3))
        var ones = 0
        for _ in 0..<20000 where s.sample(logits) == 1 { ones += 1 }
        XCTAssertEqual(Double(ones) / 20000, 0.75, accuracy: 0.015)
    }
}
