// Shared helpers for the ModelIO tests: hex fixtures, ModelIO error assertions, tensor infos.
import Foundation
import XCTest
@testable import ModelIO
import Numerics

@_exported import TestSupport

func hexBytes(_ s: String) -> [UInt8] {
    var out = [UInt8](); out.reserveCapacity(s.utf8.count / 2)
    var it = s.utf8.makeIterator()
    func nib(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
    while let a = it.next(), let b = it.next() { out.append(nib(a) << 4 | nib(b)) }
    return out
}

/// Little-endian fp32 bit patterns → floats.
func hexFloats(_ s: String) -> [Float] {
    let b = hexBytes(s)
    return stride(from: 0, to: b.count, by: 4).map { i in
        Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
    }
}

/// Asserts that `body` throws a FileError whose file ends with `file` and whose message contains
/// every fragment.
func assertModelIOError(
    _ body: () throws -> Void, file: String, contains fragments: [String],
    _ sourceFile: StaticString = #filePath, line: UInt = #line
) {
    do {
        try body()
        XCTFail("expected a FileError", file: sourceFile, line: line)
    } catch let e as FileError {
        XCTAssertTrue(
            e.file.hasSuffix(file), "error names '\(e.file)', expected '\(file)': \(e)",
            file: sourceFile, line: line)
        for f in fragments {
            XCTAssertTrue(e.message.contains(f), "message lacks '\(f)': \(e)", file: sourceFile, line: line)
        }
    } catch {
        XCTFail("expected a FileError, got \(error)", file: sourceFile, line: line)
    }
}

/// A TensorInfo over bytes owned by a ByteBuffer.
func tensorInfo(_ name: String, _ type: TensorType, _ shape: [Int], _ bytes: [UInt8], file: String = "test.gguf")
    -> TensorInfo
{
    let buf = ByteBuffer(byteCount: bytes.count)
    bytes.withUnsafeBytes { buf.ptr.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    return TensorInfo(
        name: name, type: type, shape: shape, data: UnsafeRawPointer(buf.ptr),
        byteCount: bytes.count, owner: buf, file: file)
}
