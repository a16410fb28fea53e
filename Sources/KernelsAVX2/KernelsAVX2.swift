// The kernels of Kernels (written once, generic over the path) compiled for AVX2 + FMA + F16C (-target-cpu haswell).
// Numerics' KernelPath.swift calls these when this path is chosen; nothing else belongs here.
import Kernels

/// This path: its vector register. A type of this module, so that its specialisations of the generic kernels
/// are symbols of their own (GEMMKernel.swift, KernelISA).
public enum ISA: KernelISA { public typealias V = SIMD8<Float> }

/// Task t of a GEMM plan made with this path's blocking (NR = 2 · SIMD8<Float>.scalarCount).
public func gemmTask(_ plan: GEMMPlan, _ t: Int) { plan.run(ISA.self, t) }

/// Task t of the region that packs a plan's A once for all its tasks (GEMMPlan.sharesPackedA).
public func gemmPackATask(_ plan: GEMMPlan, _ t: Int, _ out: UnsafeMutablePointer<Float>) {
    plan.packATask(ISA.self, t, into: out)
}

/// The FMA peak loop in this path's registers: 24 · SIMD8<Float>.scalarCount · iters FLOPs.
public func fmaPeak(iters: Int, seed: Float) -> (value: Float, flops: Double) {
    (fmaPeakLoop(ISA.self, iters: iters, seed: seed), 24 * Double(ISA.V.scalarCount) * Double(iters))
}
