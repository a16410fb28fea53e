// irm-bench: the numbers behind `make bench` (ARCHITECTURE.md "How speed is shown"). JSON lines on stdout.
// `irm-bench GROUP` runs one group: gemm, forward, quant, neurons, gemv-cold, train (or gemm-tune).
import Foundation
import Numerics

let only = CommandLine.arguments.dropFirst().first
func want(_ group: String) -> Bool { only == nil || only == group }

if want("gemm") { benchGEMM() }
if want("forward") { benchForward() }
if want("quant") { benchQuant(); benchQuantCrossover() }
if want("neurons") { benchNeurons() }
if want("train") { benchTrain() }
if want("gemv-cold") { benchGEMVCold() }
if only == "gemm-tune" { tuneGEMM() }   // not part of the default run: single-core tuning sweep
