// The kernels of Kernels (written once, generic over the path) compiled for no target CPU: plain SIMD, which lowers to NEON on arm64 (and to SSE2 with library fmaf calls on x86, where it only serves to test this path).
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

/// One task of the neuron map's 8-bit screen (Kernels' `int8ScreenChunk`) in plain integer SIMD.
public func int8ScreenChunk(
    M: Int, k4: Int, _ xu: UnsafeRawPointer, lda: Int, _ head: UnsafeRawPointer, panels: Range<Int>,
    _ out: UnsafeMutablePointer<Int32>, ldo: Int
) {
    Kernels.int8ScreenChunk(Int8DotPortable.self, M: M, k4: k4, xu, lda: lda, head, panels: panels, out, ldo: ldo)
}

/// The screen's second stage (Kernels' `int8Dots2x2`) for one token: (u·q, u·r, e·q, e·r) over n64 runs of 64 bytes.
public func int8Dots2x2(
    _ u: UnsafeRawPointer, _ e: UnsafeRawPointer, _ q: UnsafeRawPointer, _ r: UnsafeRawPointer, n64: Int
) -> (uq: Int32, ur: Int32, eq: Int32, er: Int32) {
    Kernels.int8Dots2x2(Int8DotPortable.self, u, e, q, r, n64: n64)
}
