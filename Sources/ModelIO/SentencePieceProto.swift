// A minimal protobuf reader for sentencepiece's `tokenizer.model` (sentencepiece_model.proto, proto2):
//   ModelProto      { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
//                     NormalizerSpec normalizer_spec = 3; ... }
//   SentencePiece   { string piece = 1; float score = 2; Type type = 3 [default NORMAL]; }
//   TrainerSpec     { ModelType model_type = 3 (UNIGRAM 1, BPE 2, WORD 3, CHAR 4); int32 vocab_size = 4;
//                     bool byte_fallback = 35; int32 unk_id = 40, bos_id = 41, eos_id = 42, pad_id = 43; }
//   NormalizerSpec  { string name = 1; bool add_dummy_prefix = 3 [default true];
//                     bool remove_extra_whitespaces = 4 [default true]; bool escape_whitespaces = 5; }
// Wire format: key = varint(field << 3 | wire type); 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
// Every length is checked against the end of its enclosing message; unknown fields are skipped.

struct ProtoReader {
    let bytes: UnsafeRawBufferPointer
    var pos: Int
    let end: Int
    let file: String

    init(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, file: String) {
        self.bytes = bytes; pos = range.lowerBound; end = range.upperBound; self.file = file
    }

    var atEnd: Bool { pos >= end }

    func fail(_ what: String) -> FileError {
        FileError(file, "truncated or malformed protobuf at byte \(pos): \(what)")
    }

    mutating func varint() throws -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < end else { throw fail("varint runs past the end") }
            let b = bytes[pos]; pos += 1
            guard shift < 64 else { throw fail("varint longer than 10 bytes") }
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
    }

    /// (field number, wire type)
    mutating func key() throws -> (Int, Int) {
        let k = try varint()
        let field = Int(truncatingIfNeeded: k >> 3), wire = Int(k & 7)
        guard field > 0 else { throw fail("field number 0") }
        return (field, wire)
    }

    mutating func lengthDelimited() throws -> Range<Int> {
        let n = try varint()
        guard n <= UInt64(end - pos) else { throw fail("length \(n) runs past the end") }
        let r = pos..<(pos + Int(n))
        pos += Int(n)
        return r
    }

    mutating func fixed32() throws -> UInt32 {
        guard end - pos >= 4 else { throw fail("fixed32 runs past the end") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[pos + i]) << (8 * UInt32(i)) }
        pos += 4
        return v
    }

    mutating func skip(wire: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1: guard end - pos >= 8 else { throw fail("fixed64 runs past the end") }; pos += 8
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw fail("unsupported wire type \(wire)")
        }
    }

    func string(_ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self)
    }
}

struct SentencePieceModelProto {
    var pieces: [String] = []
    var scores: [Float] = []
    var kinds: [TokenKind] = []
    var modelType = 1  // UNIGRAM unless stated
    var byteFallback = false
    var unkId: Int32 = 0, bosId: Int32 = 1, eosId: Int32 = 2, padId: Int32 = -1
    var normalizerName = ""
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true

    init(bytes: UnsafeRawBufferPointer, file: String) throws {
        var r = ProtoReader(bytes, 0..<bytes.count, file: file)
        while !r.atEnd {
            let (field, wire) = try r.key()
            switch (field, wire) {
            case (1, 2): try parsePiece(&r, try r.lengthDelimited())
            case (2, 2): try parseTrainer(&r, try r.lengthDelimited())
            case (3, 2): try parseNormalizer(&r, try r.lengthDelimited())
            default: try r.skip(wire: wire)
            }
        }
    }

    private mutating func parsePiece(_ outer: inout ProtoReader, _ range: Range<Int>) throws {
        var r = ProtoReader(outer.bytes, range, file: outer.file)
        var piece: String?
        var score: Float = 0
        var type = 1
        while !r.atEnd {
            let (field, wire) = try r.key()
            switch (field, wire) {
            case (1, 2): piece = r.string(try r.lengthDelimited())
            case (2, 5): score = Float(bitPattern: try r.fixed32())
            case (3, 0): type = Int(truncatingIfNeeded: try r.varint())
            default: try r.skip(wire: wire)
            }
        }
        guard let p = piece, !p.isEmpty else {
            throw FileError(outer.file, "piece \(pieces.count) has no text")
        }
        pieces.append(p)
        scores.append(score)
        kinds.append(TokenKind(rawValue: UInt8(clamping: type)) ?? .normal)
    }

    private mutating func parseTrainer(_ outer: inout ProtoReader, _ range: Range<Int>) throws {
        var r = ProtoReader(outer.bytes, range, file: outer.file)
        while !r.atEnd {
            let (field, wire) = try r.key()
            if wire == 0 {
                let v = try r.varint()
                let i32 = Int32(truncatingIfNeeded: v)  // negative int32 are 10-byte varints
                switch field {
                case 3: modelType = Int(i32)
                case 35: byteFallback = v != 0
                case 40: unkId = i32
                case 41: bosId = i32
                case 42: eosId = i32
                case 43: padId = i32
                default: break
                }
            } else {
                try r.skip(wire: wire)
            }
        }
    }

    private mutating func parseNormalizer(_ outer: inout ProtoReader, _ range: Range<Int>) throws {
        var r = ProtoReader(outer.bytes, range, file: outer.file)
        while !r.atEnd {
            let (field, wire) = try r.key()
            switch (field, wire) {
            case (1, 2): normalizerName = r.string(try r.lengthDelimited())
            case (3, 0): addDummyPrefix = try r.varint() != 0
            case (4, 0): removeExtraWhitespaces = try r.varint() != 0
            case (5, 0): escapeWhitespaces = try r.varint() != 0
            default: try r.skip(wire: wire)
            }
        }
    }
}
