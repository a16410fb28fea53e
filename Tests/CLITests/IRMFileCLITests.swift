import XCTest
import Foundation

/// `irm generate --irm FILE` with IRM files that are wrong in one way each: one line naming the file and the
/// problem, a non-zero exit, never a signal — and nothing allocated from an unchecked size.
final class IRMFileCLITests: XCTestCase {
    /// SmolLM2-135M: hidden 576, 30 layers.
    let h = 576

    /// An IRM safetensors file: `config` as its irm_config (nil: none), tensors as (name, shape, bytes of data,
    /// value of every f32) — by hand, as the file may be anything a user is sent.
    func irmFile(_ name: String, config: String?, tensors: [(String, [Int], Int?)], fill: Float = 0.01) throws -> String
    {
        var header = "{"
        if let c = config {
            let escaped = c.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            header += "\"__metadata__\":{\"irm_config\":\"\(escaped)\"},"
        }
        var offset = 0
        var parts: [String] = []
        for (n, shape, bytes) in tensors {
            let size = bytes ?? shape.reduce(4, *)
            parts.append(
                "\"\(n)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}"
            )
            offset += size
        }
        header += parts.joined(separator: ",") + "}"
        var hb = Array(header.utf8)
        while hb.count % 8 != 0 { hb.append(0x20) }
        var data = Data()
        withUnsafeBytes(of: UInt64(hb.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: hb)
        var body = [Float](repeating: fill, count: offset / 4)
        body.withUnsafeMutableBytes { data.append(contentsOf: $0) }
        data.append(contentsOf: [UInt8](repeating: 0, count: offset % 4))
        let path = try tempDir("irmfile") + "/\(name).safetensors"
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    func config(hidden: Int? = nil, width: Int = 1, depth: Int = 1, layers: String = "[0]", tap: Int = 0) -> String {
        "{\"hidden\":\(hidden ?? h),\"widthMultiplier\":\(width),\"depth\":\(depth),\"layers\":\(layers),\"tapLayer\":\(tap),"
            + "\"l1\":0,\"initialization\":\"pytorch\"}"
    }

    /// Linear(h, h) for a depth-1 IRM on one layer: the tensors a valid file holds.
    var depth1: [(String, [Int], Int?)] {
        [("basic_forward.0.weight", [h, h], nil), ("basic_forward.0.bias", [h], nil)]
    }

    func generate(_ irm: String) throws -> ProcessResult {
        try runIRM([
            "generate", "--model", smolPath, "--irm", irm, "--prompt", "hi", "--max-tokens", "1", "--threads", "2"
        ])
    }

    /// The file is refused: one line naming it and saying `what`.
    func assertRefused(
        _ name: String, _ config: String?, tensors: [(String, [Int], Int?)]? = nil, fill: Float = 0.01,
        _ what: String, line: UInt = #line
    ) throws {
        let f = try irmFile(name, config: config, tensors: tensors ?? depth1, fill: fill)
        assertOneLineError(try generate(f), contains: [f, what], line: line)
    }

    func testValidFileGenerates() throws {
        let r = try generate(try irmFile("ok", config: config(), tensors: depth1))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.isEmpty)
    }

    func testDepthZero() throws { try assertRefused("depth0", config(depth: 0), "depth 0 must be at least 1") }

    func testWidthBeyondAnyIRM() throws {
        try assertRefused(
            "wide", config(width: 100_000, depth: 5), "width 576 × 100000 = 57600000 is above the supported 16777216")
    }

    /// 11.52M·577 + 3·11.52M·(11.52M+1) + 576·(11.52M+1) weights and biases: 3.98e14 parameters, 4 bytes each (a
    /// loaded IRM has no gradients).
    func testSizeBeyondMemoryIsRefusedWithTheNumber() throws {
        try assertRefused(
            "huge", config(width: 20_000, depth: 5),
            "irm_config describes an IRM of 398144517120576 parameters, 1592578.07 GB for its weights")
    }

    func testEmptyLayerList() throws {
        try assertRefused(
            "nolayers", config(layers: "[]"),
            tensors: [("basic_forward.0.weight", [0, h], nil), ("basic_forward.0.bias", [0], nil)],
            "no injection layers")
    }

    func testDuplicateLayers() throws {
        try assertRefused("dup", config(layers: "[3,3]"), "injection layer 3 is listed twice")
    }

    func testLayerOutsideTheModel() throws {
        try assertRefused("range", config(layers: "[30]"), "injection layer 30 is outside the model's layers 0...29")
    }

    func testNegativeLayer() throws {
        try assertRefused("negative", config(layers: "[-1]"), "injection layer -1 is negative")
    }

    func testTapAfterInjection() throws {
        try assertRefused("tap", config(layers: "[2]", tap: 5), "injection layer 2 comes before the tap layer 5")
    }

    func testHiddenSizeOfAnotherModel() throws {
        try assertRefused(
            "hidden", config(hidden: 64),
            tensors: [("basic_forward.0.weight", [64, 64], nil), ("basic_forward.0.bias", [64], nil)],
            "hidden size of 64 but the model's is 576")
    }

    func testZeroWidth() throws {
        try assertRefused("width0", config(width: 0), "width multiplier 0 must be at least 1")
    }

    func testWidthBeyondInt() throws {
        try assertRefused(
            "overflow", config(width: Int.max / 2, depth: 3), "width 576 × 4611686018427387903 = more than Int holds")
    }

    func testTensorShapeAgainstConfig() throws {
        try assertRefused(
            "shape", config(),
            tensors: [("basic_forward.0.weight", [h - 1, h], nil), ("basic_forward.0.bias", [h], nil)],
            "tensor 'basic_forward.0.weight' has shape [575, 576], the IRM config needs [576, 576]")
    }

    func testTensorByteSizeAgainstShape() throws {
        try assertRefused(
            "bytes", config(), tensors: [("basic_forward.0.weight", [h, h], 100), ("basic_forward.0.bias", [h], nil)],
            "tensor 'basic_forward.0.weight' F32 [576, 576] needs 1327104 bytes but data_offsets [0, 100] hold 100")
    }

    func testMissingTensor() throws {
        try assertRefused(
            "missing", config(depth: 2), "missing tensor 'basic_forward.2.weight' (irm_config has depth 2)")
    }

    func testTensorBeyondTheDepth() throws {
        try assertRefused(
            "extra", config(), tensors: depth1 + [("basic_forward.2.weight", [h, h], nil)],
            "tensor 'basic_forward.2.weight' is not part of the IRM that irm_config describes (depth 1)")
    }

    func testNoConfig() throws {
        try assertRefused("noconfig", nil, "no IRM configuration (irm_config) in the file's metadata")
    }

    func testConfigWithoutHidden() throws {
        try assertRefused(
            "nohidden", "{\"layers\":[0]}", "irm_config is not a valid IRM configuration (missing 'hidden')")
    }

    func testNonFiniteWeights() throws {
        try assertRefused("nan", config(), fill: .nan, "weights contain NaN or infinity")
    }
}
