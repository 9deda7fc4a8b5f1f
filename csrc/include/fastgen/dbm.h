// Per-element math of the deep Boltzmann machine kernels (fastgen.dbm), shared by the C++
// extension and the CUDA kernels. The products with the weights happen before (BLAS /
// cuBLAS); these functions are the fused mean-field epilogue. The Gibbs draws of a DBM
// are those of rbm.h's bernoulli_unit, on the DbmStream values of random.h.
#pragma once
#include "config.h"
#include "mathx.h"

namespace fastgen {

// One damped mean-field update of a unit whose neighbouring layers give it `input`:
//   mu <- (1 - damping) sigmoid(input + bias) + damping mu.
// Returns |new mu - old mu|.
template <typename T>
FG_HD T mean_field_unit(T input, T bias, T damping, T& mu) {
    const T old = mu;
    const T updated = (T(1) - damping) * sigmoid((T)(input + bias)) + damping * old;
    mu = updated;
    const T change = updated - old;
    return change < T(0) ? -change : change;
}

// Whether the layer update of sweep `slot` is skipped: `changes[s]` holds the largest
// |change| of sweep s, and the sweep before this one stayed below `tol` (tol <= 0: never).
// A skipped sweep leaves its slot 0, so every later sweep is skipped too: the device can
// run sweeps ahead without reading the convergence flag back, and they change nothing.
template <typename T>
FG_HD bool mean_field_converged(const T* changes, int64_t slot, T tol) {
    return tol > T(0) && slot > 0 && changes[slot - 1] < tol;
}

}  // namespace fastgen
