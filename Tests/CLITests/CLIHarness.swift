import XCTest
import Foundation

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let sharedDir = packageRoot + "/../shared"
let irmBinary = packageRoot + "/.build/release/irm"

struct RunResult { let status: Int32; let stdout: String; let stderr: String; let signalled: Bool }

/// Runs the built `irm` binary (make test builds it first) and captures its output.
func runIRM(_ args: [String], stdin: String? = nil) throws -> RunResult {
    guard FileManager.default.isExecutableFile(atPath: irmBinary) else {
        throw XCTSkip("\(irmBinary) not built: run `swift build -c release` (make test does)")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: irmBinary)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return RunResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                     stderr: String(decoding: e, as: UTF8.self), signalled: p.terminationReason == .uncaughtSignal)
}

/// Starts `irm` without waiting (for kill tests).
func startIRM(_ args: [String]) throws -> Process {
    guard FileManager.default.isExecutableFile(atPath: irmBinary) else { throw XCTSkip("\(irmBinary) not built") }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: irmBinary)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
}

/// A user mistake: exit status non-zero (not a crash), exactly one line on stderr containing `parts`.
func assertOneLineError(_ r: RunResult, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(r.signalled, "crashed: \(r.stderr)", file: file, line: line)
    XCTAssertNotEqual(r.status, 0, file: file, line: line)
    let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
    XCTAssertEqual(lines.count, 1, "stderr: \(r.stderr)", file: file, line: line)
    for p in parts { XCTAssertTrue(r.stderr.contains(p), "'\(p)' not in: \(r.stderr)", file: file, line: line) }
}

func tempDir(_ name: String) throws -> String {
    let d = NSTemporaryDirectory() + "irm-cli-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: d)
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

/// Runs a Python script (standard library only) and returns its stdout.
func runPython(_ script: String, args: [String] = []) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script] + args
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: o, as: UTF8.self)
}
