// A one-line progress display on stderr: redrawn in place on a terminal, plain log lines (at most one
// every few seconds) otherwise.
import Foundation
import Datasets

public final class ProgressLine: @unchecked Sendable {
    let isTTY = isatty(2) != 0
    var lastPlain = Date.distantPast
    let plainInterval: TimeInterval
    var drawn = false

    public init(plainInterval: TimeInterval = 5) { self.plainInterval = plainInterval }

    public func update(_ text: String, force: Bool = false) {
        if isTTY {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
            drawn = true
        } else if force || Date().timeIntervalSince(lastPlain) >= plainInterval {
            FileHandle.standardError.write(Data((text + "\n").utf8))
            lastPlain = Date()
        }
    }

    /// A message on its own line (the bar is redrawn by the next update).
    public func message(_ text: String) {
        if isTTY && drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        FileHandle.standardError.write(Data((text + "\n").utf8))
        drawn = false
    }

    public func finish() {
        if isTTY && drawn { FileHandle.standardError.write(Data("\n".utf8)); drawn = false }
    }
}

public func formatDuration(_ s: Double) -> String {
    guard s.isFinite, s >= 0 else { return "?" }
    let t = Int(s.rounded())
    if t >= 3600 { return "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m" }
    if t >= 60 { return "\(t / 60)m\(String(format: "%02d", t % 60))s" }
    return "\(t)s"
}

/// Set by a SIGINT or SIGTERM handler; the training loop checkpoints and stops at the next step boundary.
/// (SIGTERM is how SLURM cancels, requeues or preempts a job.)
nonisolated(unsafe) public var interruptRequested: Int32 = 0

public func installInterruptHandler() {
    signal(SIGINT) { _ in
        if interruptRequested != 0 { _exit(130) }  // a second Ctrl-C stops at once
        interruptRequested = 1
    }
    // SLURM and a sweep may both send SIGTERM: a repeated one never skips the checkpoint (SIGKILL follows if
    // the job must end sooner).
    signal(SIGTERM) { _ in interruptRequested = 1 }
}

/// The environment variable through which `irm sweep` gives its process id to the runs it starts.
public let sweepParentVariable = "IRM_SWEEP_PID"

/// In a run started by `irm sweep`: when the sweep process goes away (even by kill -9), stop like on Ctrl-C,
/// so that no orphaned run goes on training while the sweep is started again.
public func stopWhenSweepEnds() {
    guard let s = ProcessInfo.processInfo.environment[sweepParentVariable], let parent = Int32(s) else { return }
    Thread.detachNewThread {
        while getppid() == parent { usleep(250_000) }
        interruptRequested = 1
    }
}
