import Numerics

func benchGEMM() {
    // Filled in with the fast kernels.
}
