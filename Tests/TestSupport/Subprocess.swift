// One way to run a program from a test: stdout and stderr are drained concurrently (a child that fills one
// pipe while we wait on the other would otherwise block forever), and the result says whether it was a signal.
import Foundation
import XCTest

public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    /// Ended by a signal (a trap, an abort, a kill), not by exit().
    public let signalled: Bool
}

/// Runs `executable` with `args` (in `cwd`, default the package root), feeding `stdin` if given.
public func runProcess(
    _ executable: String, _ args: [String], cwd: String = packageRoot, stdin: String? = nil,
    environment: [String: String]? = nil
) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: cwd)
    if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = stdin == nil ? FileHandle.nullDevice : inp
    try p.run()
    if let stdin {
        inp.fileHandleForWriting.write(Data(stdin.utf8))
        try? inp.fileHandleForWriting.close()
    }
    // stderr on a second thread while this one reads stdout.
    nonisolated(unsafe) var errData = Data()
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        done.signal()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    p.waitUntilExit()
    return ProcessResult(
        status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self), signalled: p.terminationReason == .uncaughtSignal)
}

/// python3 from the system, or the test is skipped.
public func python3() throws -> String {
    for p in ["/usr/bin/python3", "/usr/local/bin/python3"] where FileManager.default.isExecutableFile(atPath: p) {
        return p
    }
    let r = try runProcess("/usr/bin/env", ["which", "python3"])
    let p = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    guard r.status == 0, !p.isEmpty else { throw XCTSkip("python3 not installed") }
    return p
}

/// Runs a Python script (standard library only) and returns its stdout; a failing script fails the test.
public func runPython(_ script: String, args: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws
    -> String
{
    let r = try runProcess(try python3(), ["-c", script] + args)
    if r.status != 0 { XCTFail("python3 failed (\(r.status)): \(r.stderr)", file: file, line: line) }
    return r.stdout
}

// MARK: the irm binary

public let irmBinary = packageRoot + "/.build/release/irm"
public let irmBenchBinary = packageRoot + "/.build/release/irm-bench"

/// The newest modification time among the package's sources (Sources/ and Package.swift).
func newestSourceDate() -> Date {
    var newest = Date.distantPast
    let fm = FileManager.default
    func consider(_ path: String) {
        if let d = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date, d > newest { newest = d }
    }
    consider(packageRoot + "/Package.swift")
    if let e = fm.enumerator(atPath: packageRoot + "/Sources") {
        for case let rel as String in e where rel.hasSuffix(".swift") { consider(packageRoot + "/Sources/" + rel) }
    }
    return newest
}

struct StaleBinary: Error, CustomStringConvertible { let description: String }

/// Checked once per binary and test process: the CLI tests must exercise the code as it is, not an old build.
nonisolated(unsafe) private var binariesChecked: [String: Result<Void, Error>] = [:]

/// Throws XCTSkip when the binary is missing and a failure when it is older than any source file.
public func requireFreshBinary(_ binary: String) throws {
    if let r = binariesChecked[binary] { return try r.get() }
    let fm = FileManager.default
    guard fm.isExecutableFile(atPath: binary) else {
        throw XCTSkip("\(binary) not built: run `swift build -c release` (make test does)")
    }
    let built = (try? fm.attributesOfItem(atPath: binary))?[.modificationDate] as? Date ?? .distantPast
    let newest = newestSourceDate()
    let r: Result<Void, Error> =
        built >= newest
        ? .success(())
        : .failure(
            StaleBinary(
                description:
                    "\(binary) is older than the sources (built \(built), newest source \(newest)): run `swift build -c release` (make test does)"
            ))
    binariesChecked[binary] = r
    try r.get()
}

public func requireFreshIRMBinary() throws { try requireFreshBinary(irmBinary) }

/// Runs the built `irm` binary in the package root and captures its output; `fileSizeLimitKB` runs it under
/// `ulimit -f` (bash: 1024-byte blocks).
public func runIRM(
    _ args: [String], stdin: String? = nil, environment: [String: String]? = nil,
    fileSizeLimitKB: Int? = nil
) throws -> ProcessResult {
    try requireFreshIRMBinary()
    if let kb = fileSizeLimitKB {
        return try runProcess(
            "/bin/bash", ["-c", "ulimit -f \(kb) && exec \"$0\" \"$@\"", irmBinary] + args, stdin: stdin,
            environment: environment)
    }
    return try runProcess(irmBinary, args, stdin: stdin, environment: environment)
}

/// Starts `irm` without waiting (for kill tests); its output is discarded.
public func startIRM(_ args: [String]) throws -> Process {
    try requireFreshIRMBinary()
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
public func assertOneLineError(
    _ r: ProcessResult, contains parts: [String], file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertFalse(r.signalled, "crashed: \(r.stderr)", file: file, line: line)
    XCTAssertNotEqual(r.status, 0, file: file, line: line)
    let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
    XCTAssertEqual(lines.count, 1, "stderr: \(r.stderr)", file: file, line: line)
    for p in parts { XCTAssertTrue(r.stderr.contains(p), "'\(p)' not in: \(r.stderr)", file: file, line: line) }
}

/// A failure in the middle of a run: non-zero exit (not a crash), and after whatever progress it printed,
/// stderr ends with the error: one line ("irm COMMAND: ...") that contains `parts` and is not said twice.
public func assertEndsWithOneErrorLine(
    _ r: ProcessResult, contains parts: [String], file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertFalse(r.signalled, "crashed: \(r.stderr)", file: file, line: line)
    XCTAssertNotEqual(r.status, 0, file: file, line: line)
    let lines = r.stderr.split(separator: "\n").map(String.init)
    let last = lines.last ?? ""
    XCTAssertTrue(last.hasPrefix("irm "), "stderr: \(r.stderr)", file: file, line: line)
    for p in parts { XCTAssertTrue(last.contains(p), "'\(p)' not in: \(last)", file: file, line: line) }
    XCTAssertFalse(
        lines.dropLast().contains { l in parts.allSatisfy { l.contains($0) } }, "stderr: \(r.stderr)", file: file,
        line: line)
}
