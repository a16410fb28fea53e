// irm-bench: the numbers behind `make bench` (DESIGN.md "How speed is shown").
import Foundation
import Numerics

let only = CommandLine.arguments.dropFirst().first
func want(_ group: String) -> Bool { only == nil || only == group }

if want("gemm") { benchGEMM() }
if only == "gemm-tune" { tuneGEMM() }
