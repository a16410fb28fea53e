import XCTest
@testable import Llama
import ModelIO

/// stories260K (llama2.c format, its own 512-token SentencePiece tokenizer) against llama2.c's run.c.
final class Llama2cTests: XCTestCase {
    func testGreedyFromOnceUponATimeMatchesRunC() throws {
        let g = (try json(goldenDir + "/llama2c_greedy.json") as! [String: [String: Any]])["stories260K_once_upon"]!
        let dir = sharedDir + "/models/stories260K"
        let lm = try LoadedModel.load(path: dir + "/stories260K.bin", tokenizerPath: dir + "/tok512.bin")
        XCTAssertEqual(lm.model.format, .llama2c)
        XCTAssertEqual(lm.model.config.nKVHeads, 4)
        let prompt = lm.promptTokens("Once upon a time", chat: false)
        XCTAssertEqual(prompt, (g["prompt_ids_incl_bos"] as! [Int]).map(Int32.init))
        let generated = (g["generated_ids"] as! [Int]).map(Int32.init)
        var sampler = Sampler(SamplingParams())
        let got = try lm.model.generate(prompt: prompt, maxTokens: generated.count, sampler: &sampler)
        XCTAssertEqual(got, generated)
        // The text as run.c printed it (prompt, then each piece, then a newline; BOS not shown).
        let text = lm.tokenizer.decode(prompt + got, skipSpecial: true)
        XCTAssertEqual(text + "\n", g["stdout_text"] as? String)
    }
}
