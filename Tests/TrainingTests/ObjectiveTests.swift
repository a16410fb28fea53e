import XCTest
import Foundation
@testable import Training
import Datasets
import Llama
import ModelIO
import Numerics
import TestSupport

/// `--objective reference`: the reference implementation's rows and loss, checked against its formula written
/// out directly (src/lightning/dataset.py: x = tokens[:-1], y = tokens[1:]; the model's loss: logits[:, :-1]
/// against y[:, 1:], CrossEntropyLoss over every position).
final class ObjectiveTests: XCTestCase {
    /// question + three spaces + answer, no chat template, the tokenizer's BOS rule, cut or padded with EOS.
    func testReferenceRows() throws {
        let (tok, _) = try LoadedModel.loadTokenizerOnly(path: smolPath)
        let eos = tok.eosId!
        let e = Example(prompt: "What is the capital of France?", response: "Paris, obviously.", source: "t:1")
        let text = tok.encode(
            "What is the capital of France?   Paris, obviously.", addSpecial: true, parseSpecial: false)
        XCTAssertFalse(tok.decode(text).contains("<|im_start|>"))
        let (row, cut) = try XCTUnwrap(referenceTokenize(e, tokenizer: tok, maxLength: 32))
        XCTAssertFalse(cut)
        XCTAssertEqual(row.ids, text + [Int32](repeating: eos, count: 32 - text.count))
        XCTAssertEqual(row.responseStart, 2)
        let (short, cutShort) = try XCTUnwrap(referenceTokenize(e, tokenizer: tok, maxLength: 5))
        XCTAssertTrue(cutShort)
        XCTAssertEqual(short.ids, Array(text.prefix(5)))
        // Llama 2's SentencePiece tokenizer adds BOS, as the reference's Hugging Face tokenizer does.
        let sp = try loadSentencePieceModel(path: llama2TokenizerModel)
        let (r2, _) = try XCTUnwrap(referenceTokenize(e, tokenizer: sp, maxLength: 128))
        XCTAssertEqual(r2.ids.first, sp.bosId)
        XCTAssertEqual(r2.ids.count, 128)
        XCTAssertEqual(r2.ids.last, sp.eosId)

        // The batch: inputs ids[0..<31]; position t's target is ids[t+2]; every position is a real input.
        let b = makeBatch([row], padId: eos, objective: .reference)
        XCTAssertEqual(b.T, 31)
        XCTAssertEqual(b.tokens, Array(row.ids[0..<31]))
        XCTAssertEqual(Array(b.targets[0..<30]), Array(row.ids[2..<32]))
        XCTAssertEqual(b.targets[30], -1)
        XCTAssertEqual(b.lossTokens, 30)
        XCTAssertTrue(b.rowMask.allSatisfy { $0 })
    }

    /// On a hand-made batch the training loss equals the reference's formula computed directly from the model's
    /// logits (inference forward, every position): double shift, padding counted, mean over all positions.
    func testReferenceLossIsTheReferenceFormula() throws {
        let c = LlamaConfig(dim: 32, hiddenDim: 64, nLayers: 2, nHeads: 4, nKVHeads: 2, vocabSize: 50, maxSeqLen: 64)
        let model = LlamaModel.random(c, seed: 5)
        let pad: Int32 = 2
        let rows: [[Int32]] = [
            [1, 17, 33, 4, 9, 41, 12, 2, 2, 2, 2, 2],
            [1, 8, 8, 30, 2, 2, 2, 2, 2, 2, 2, 2],
            [1, 45, 3, 19, 27, 6, 11, 38, 22, 7, 14, 49]
        ]  // a row cut at the length, no padding
        let examples = rows.map { TokenizedExample(ids: $0, responseStart: 2) }

        // The reference, literally: x = tokens[:-1], y = tokens[1:]; logits = model(x); loss over logits[:, :-1] vs y[:, 1:].
        var sum = 0.0, count = 0
        for tokens in rows {
            let x = Array(tokens.dropLast()), y = Array(tokens.dropFirst())
            let logits = try model.forward(x, state: model.makeState(capacity: 64), allLogits: true)
            let labels = Array(y.dropFirst())
            for t in 0..<(x.count - 1) {
                let l = logits[(t * c.vocabSize)..<((t + 1) * c.vocabSize)].map(Double.init)
                let m = l.max()!
                let logZ = m + log(l.reduce(0) { $0 + exp($1 - m) })
                sum += logZ - l[Int(labels[t])]
                count += 1
            }
        }
        let expected = sum / Double(count)
        XCTAssertEqual(count, 3 * 10)

        let b = makeBatch(examples, padId: pad, objective: .reference)
        // Sized for the longest batch below (our objective's rows are one token longer than the reference's).
        let arena = TrainingArena(config: c, B: 3, T: 12)
        arena.setShape(B: b.B, T: b.T)
        try model.trainingForward(b.tokens, arena: arena)
        let loss = model.trainingLoss(targets: b.targets, arena: arena)
        XCTAssertEqual(loss.count, 30)
        assertClose(loss.mean, expected, rel: 1e-5, abs: 1e-6, "reference loss")
        // The same through the backward pass (what a training step reports), and through Trainer's validation loss.
        let back = model.trainingBackward(targets: b.targets, arena: arena, receiver: nil)
        assertClose(back.mean, expected, rel: 1e-5, abs: 1e-6, "backward's loss")
        let val = try responseLoss(
            model: model, examples: examples, batchSize: 2, padId: pad, arena: arena, intervention: nil,
            objective: .reference)
        assertClose(val.mean, expected, rel: 1e-5, abs: 1e-6, "validation loss in batches of 2")
        // Our objective on the same rows is another number (a single shift).
        let ours = try responseLoss(
            model: model, examples: examples, batchSize: 3, padId: pad, arena: arena, intervention: nil)
        XCTAssertEqual(ours.count, 3 * 10)
        XCTAssertGreaterThan(abs(ours.mean - expected), 1e-3)
    }
}
