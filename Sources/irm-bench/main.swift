// irm-bench: the numbers behind `make bench` (DESIGN.md "How speed is shown"). JSON lines on stdout.
// `irm-bench GROUP` runs one group: gemm, forward.
import Foundation
import Numerics

let only = CommandLine.arguments.dropFirst().first
func want(_ group: String) -> Bool { only == nil || only == group }

if want("gemm") { benchGEMM() }
if want("forward") { benchForward() }
if want("neurons") { benchNeurons() }
