// How much memory the machine can give: memory plans and file loaders compare what they would allocate
// against it and refuse, naming both numbers, instead of dying in the allocator.
import Foundation

/// MemAvailable from /proc/meminfo (what can be used without swapping), else physical memory.
public func availableMemory() -> Int {
    if let b = procBytes("/proc/meminfo", "MemAvailable:"), b > 0 { return b }
    return Int(ProcessInfo.processInfo.physicalMemory)
}

/// The "KEY:  N kB" line of a /proc file, in bytes (nil where there is no such file or line). The kernel
/// right-aligns N in 8 columns after a tab in /proc/PID/status, so from 10 GB on nothing but the tab precedes it.
public func procBytes(_ file: String, _ key: String) -> Int? {
    guard let s = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
    for line in s.split(separator: "\n") where line.hasPrefix(key) {
        return line.dropFirst(key.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }.first
            .map { $0 * 1024 }
    }
    return nil
}

public func formatBytes(_ b: Int) -> String {
    let d = Double(b)
    if d >= 1e9 { return String(format: "%.2f GB", d / 1e9) }
    if d >= 1e6 { return String(format: "%.1f MB", d / 1e6) }
    return String(format: "%.1f kB", d / 1e3)
}
