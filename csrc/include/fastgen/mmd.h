// Per-pair math of the maximum mean discrepancy (MMD) kernels, shared by the C++ (OpenMP)
// extension and the CUDA kernels. A pair (x, y) reaches it as its dot product g = x.y and
// the squared norms of x and y (float64), from which d2 = |x|^2 + |y|^2 - 2g: the tiled
// passes get g from a GEMM tile, so the N x M kernel matrix is never stored. How tiles are
// walked and reduced is up to each backend (csrc/cpu/mmd.h, csrc/cuda/mmd.cu,
// fastgen/mmd/_loops.py).
//
// Kernels and their float64 parameters `params` (n_params values):
//   MMD_GAUSSIAN    k = sum_s exp(-d2 params[s]),     params[s] = 1 / (2 sigma_s^2)
//   MMD_LAPLACIAN   k = sum_s exp(-|x - y| params[s]), params[s] = 1 / sigma_s (Euclidean |x - y|)
//   MMD_POLYNOMIAL  k = (gamma g + coef0)^degree,      params = {gamma, coef0, degree}
// Several bandwidths are summed, as in generative moment matching networks (Li et al. 2015).
#pragma once
#include "config.h"

namespace fastgen {

enum MmdKernel : int { MMD_GAUSSIAN = 0, MMD_LAPLACIAN = 1, MMD_POLYNOMIAL = 2 };

// How a tile meets the diagonal of a block of pairs: a tile of two different sets (or off
// the diagonal of a symmetric block) has none; a diagonal tile of a symmetric block pairs
// point i with itself at (i, i), where d2 is exactly 0, and the biased estimator counts
// that pair while the unbiased one leaves it out.
enum MmdDiagonal : int { MMD_DIAGONAL_NONE = 0, MMD_DIAGONAL_INCLUDE = 1, MMD_DIAGONAL_EXCLUDE = 2 };

// x^n for an integer n >= 0, by squaring (the polynomial kernel's degree).
FG_HD double integer_power(double x, int64_t n) {
    double result = 1.0;
    while (n > 0) {
        if (n & 1) result *= x;
        x *= x;
        n >>= 1;
    }
    return result;
}

// The squared distance of a pair from its dot product and squared norms; rounding can make
// it slightly negative for (near-)equal points, so it is clamped at 0.
FG_HD double squared_distance(double g, double x_norm, double y_norm) {
    const double d2 = x_norm + y_norm - 2.0 * g;
    return d2 > 0.0 ? d2 : 0.0;
}

// k(x, y) of kernel `Kind` (a template argument, so that the tile loops hold no branch on it).
template <int Kind>
FG_HD double kernel_value(const double* params, int64_t n_params, double g, double d2) {
    if (Kind == MMD_POLYNOMIAL) return integer_power(params[0] * g + params[1], (int64_t)params[2]);
    const double r = Kind == MMD_GAUSSIAN ? d2 : sqrt(d2);
    double total = 0.0;
    for (int64_t s = 0; s < n_params; ++s) total += exp(-r * params[s]);
    return total;
}

// The gradient weight w of a pair: dk/dx = w (y - x) for the distance kernels (Gaussian,
// Laplacian: w = -2 dk/dd2) and dk/dx = w y for the polynomial kernel (w = dk/dg), and the
// same with x and y swapped for dk/dy. The Laplacian kernel has no derivative at x = y
// (a cone): its weight there is 0, the symmetric subgradient (for x near y, w ~ 1 / |x - y|
// but w (y - x) stays bounded).
template <int Kind>
FG_HD double kernel_weight(const double* params, int64_t n_params, double g, double d2) {
    if (Kind == MMD_POLYNOMIAL) {
        const int64_t degree = (int64_t)params[2];
        return (double)degree * params[0] * integer_power(params[0] * g + params[1], degree - 1);
    }
    double total = 0.0;
    if (Kind == MMD_GAUSSIAN) {
        for (int64_t s = 0; s < n_params; ++s) total += 2.0 * params[s] * exp(-d2 * params[s]);
        return total;
    }
    if (d2 == 0.0) return 0.0;
    const double d = sqrt(d2);
    for (int64_t s = 0; s < n_params; ++s) total += params[s] * exp(-d * params[s]);
    return total / d;
}

// Whether kernel `kind` is a function of the distance (dk/dx = w (y - x)) rather than of
// the dot product (dk/dx = w y).
FG_HD bool kernel_of_distance(int kind) { return kind != MMD_POLYNOMIAL; }

}  // namespace fastgen
