// The CLI tests run the built `irm` binary through TestSupport's runner (runIRM, startIRM, assertOneLineError),
// which refuses a binary older than the sources.
@_exported import TestSupport
import Foundation

/// The committed checkpoint of a run (what checkpoint.json names): its step and the bytes of its weights
/// and optimiser files.
func committedCheckpoint(_ run: String) throws -> (step: Int, weights: Data, optimizer: Data) {
    let m =
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: run + "/checkpoint.json")))
        as! [String: Any]
    let g = String(format: "%06d", m["generation"] as! Int)
    return (
        m["step"] as! Int, try Data(contentsOf: URL(fileURLWithPath: run + "/checkpoint-\(g).irm.safetensors")),
        try Data(contentsOf: URL(fileURLWithPath: run + "/checkpoint-\(g).optimizer.safetensors"))
    )
}

/// Names of temporary files (".NAME.tmp-PID-N") left in `dir`.
func temporaryFiles(in dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter {
        $0.hasPrefix(".") && $0.contains(".tmp-")
    }
}
