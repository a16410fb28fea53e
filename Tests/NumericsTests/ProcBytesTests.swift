import XCTest
import Foundation
import Numerics
import TestSupport

/// /proc's "KEY:  N kB" lines: the kernel right-aligns N in 8 columns after a tab, so a peak of 10 GB or more
/// (a Llama-2-7B run) has no space before the number.
final class ProcBytesTests: XCTestCase {
    func testPaddedAndUnpaddedNumbers() throws {
        let path = try tempDir() + "/status"
        try "Name:\tirm\nVmHWM:\t24360948 kB\nVmRSS:\t  1816700 kB\nMemAvailable:   23995412 kB\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(procBytes(path, "VmHWM:"), 24_360_948 * 1024)
        XCTAssertEqual(procBytes(path, "VmRSS:"), 1_816_700 * 1024)
        XCTAssertEqual(procBytes(path, "MemAvailable:"), 23_995_412 * 1024)
        XCTAssertNil(procBytes(path, "VmSwap:"))
        XCTAssertNil(procBytes(path + ".missing", "VmHWM:"))
    }
}
