// `make bench` prints one JSON object per line: name, unit, value and (where one exists) the figure
// it is compared with. Benchmarks never assert; they report the best of several repetitions.
import Foundation
import ModelIO

func emit(_ name: String, _ value: Double, unit: String, extra: [String: Any] = [:]) {
    var obj: [String: Any] = ["name": name, "unit": unit, "value": (value * 1000).rounded() / 1000]
    for (k, v) in extra { obj[k] = v }
    let data = try! encodeJSONObject(obj, .compact)
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

/// Best (minimum) wall time in seconds of `reps` runs of `body`, after one warm-up run.
func bestTime(reps: Int, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<reps {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return best
}
