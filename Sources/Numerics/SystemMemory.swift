// How much memory the machine can give: memory plans and file loaders compare what they would allocate
// against it and refuse, naming both numbers, instead of dying in the allocator.
import Foundation

/// MemAvailable from /proc/meminfo (what can be used without swapping), else physical memory.
public func availableMemory() -> Int {
    if let s = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
        for line in s.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            if kb > 0 { return kb * 1024 }
        }
    }
    return Int(ProcessInfo.processInfo.physicalMemory)
}

public func formatBytes(_ b: Int) -> String {
    let d = Double(b)
    if d >= 1e9 { return String(format: "%.2f GB", d / 1e9) }
    if d >= 1e6 { return String(format: "%.1f MB", d / 1e6) }
    return String(format: "%.1f kB", d / 1e3)
}
