// Per-point math of the Gaussian-mixture E-step, shared by the C++ (OpenMP) extension
// and the CUDA kernels: the weighted log densities of one point under the K components
// and their log-sum-exp, turned into responsibilities in place. How points are walked
// and how the sufficient statistics are reduced is up to each backend
// (csrc/cpu/gmm.h, csrc/cuda/gmm.cu).
//
// Parameters, component index last (the per-point loops then run over contiguous
// components, which vectorises without reordering any sum):
//   means_t   (D, K)       the means, transposed
//   prec_t    (D, D, K)    full: entry (i, j) of the upper-triangular U_k with
//                          U_k U_k^T = precision_k (only j >= i is read); tied: one U
//                          repeated along K
//             (D, K)       diag: sqrt of the diagonal precisions; spherical as diag
//                          with the value repeated along D
//   bias      (K,) double  log w_k + log det U_k - D/2 log(2 pi)
// so that log(w_k N(x | mean_k, cov_k)) = bias_k - |(x - mean_k)^T U_k|^2 / 2.
#pragma once
#include "config.h"
#include "mathx.h"

namespace fastgen {

// log_p[c] = log(w_k N(x | mean_k, cov_k)) of one point x for the components k = k0 + c
// of [k0, k1). Full: y_kj = sum_{i<=j} (x_i - mean_ki) U_k,ij, row i of U at a time, and
// |y_k|^2; diagonal: sum_i ((x_i - mean_ki) p_ki)^2. `work`: scratch of (D + 1) (k1 - k0) T.
template <typename T>
FG_HD void weighted_log_prob(const T* x, const T* means_t, const T* prec_t, bool full, const double* bias, int64_t K,
                             int64_t D, int64_t k0, int64_t k1, T* work, double* log_p) {
    const int64_t w = k1 - k0;
    T* sq = work;     // (w,) the squared distances
    T* d = work + w;  // (w,) x_i - mean_ki, then (full) y as (D, w) behind it
    for (int64_t c = 0; c < w; ++c) sq[c] = T(0);
    if (full) {
        T* y = d + w;
        for (int64_t c = 0; c < D * w; ++c) y[c] = T(0);
        for (int64_t i = 0; i < D; ++i) {
            const T* mean = means_t + i * K + k0;
            for (int64_t c = 0; c < w; ++c) d[c] = x[i] - mean[c];
            for (int64_t j = i; j < D; ++j) {
                const T* u = prec_t + (i * D + j) * K + k0;
                T* yj = y + j * w;
                for (int64_t c = 0; c < w; ++c) yj[c] += d[c] * u[c];
            }
        }
        for (int64_t j = 0; j < D; ++j) {
            const T* yj = y + j * w;
            for (int64_t c = 0; c < w; ++c) sq[c] += yj[c] * yj[c];
        }
    } else {
        for (int64_t i = 0; i < D; ++i) {
            const T* mean = means_t + i * K + k0;
            const T* p = prec_t + i * K + k0;
            for (int64_t c = 0; c < w; ++c) {
                const T z = (x[i] - mean[c]) * p[c];
                sq[c] += z * z;
            }
        }
    }
    for (int64_t c = 0; c < w; ++c) log_p[c] = bias[k0 + c] - 0.5 * (double)sq[c];
}

// Scratch length (in T) that weighted_log_prob needs for `width` components.
FG_HD int64_t weighted_log_prob_work(bool full, int64_t D, int64_t width) { return (full ? D + 2 : 2) * width; }

// Responsibilities below e^kNegligibleLogResp (about 1e-217) are set to exactly 0: they
// change no sum at float64 precision, while their products with x - mean would go
// subnormal, and subnormal arithmetic is up to 100x slower on x86 CPUs.
constexpr double kNegligibleLogResp = -500.0;

// The shift of a point's log-sum-exp: its largest log density, or 0 when that is -inf (a
// point of zero density under every component, whose log_p - top would be NaN: shifted by
// 0, every term is 0, the total 0 and log p(x) = -inf, as scipy's logsumexp gives it).
FG_HD double lse_shift(double top) { return top < -1.7976931348623157e308 ? 0.0 : top; }

// In place: log_p[0..K) (one point's weighted log densities) become exp(log_p[k] - top)
// (0 below kNegligibleLogResp), top = lse_shift of their maximum; returns their sum.
FG_HD double shifted_exp(double* log_p, int64_t K, double* top_out) {
    double top = log_p[0];
    for (int64_t k = 1; k < K; ++k) top = log_p[k] > top ? log_p[k] : top;
    top = lse_shift(top);
    double total = 0.0;
    for (int64_t k = 0; k < K; ++k) {
        const double shifted = log_p[k] - top;
        log_p[k] = shifted < kNegligibleLogResp ? 0.0 : exp_nonpositive(shifted);
        total += log_p[k];
    }
    *top_out = top;
    return total;
}

// In place: log_p[0..K) (one point's weighted log densities) become its responsibilities
// exp(log_p[k] - lse); returns lse = log sum_k exp(log_p[k]), taken around the maximum
// (-inf for a point of zero density, whose responsibilities are then NaN).
FG_HD double responsibilities(double* log_p, int64_t K) {
    double top;
    const double total = shifted_exp(log_p, K, &top);
    const double inverse = 1.0 / total;
    for (int64_t k = 0; k < K; ++k) log_p[k] *= inverse;
    return top + log(total);
}

// The first k of the largest log_p[k] (NumPy's argmax; 0 when all are -inf).
FG_HD int64_t first_max(const double* log_p, int64_t K) {
    int64_t best = 0;
    for (int64_t k = 1; k < K; ++k) best = log_p[k] > log_p[best] ? k : best;
    return best;
}

// One point's scores (GaussianMixture's score_samples, predict, predict_proba) from its
// weighted log densities log_p[0..K), which become scratch: returns log p(x), as
// responsibilities computes it; *label = first_max (when label is not null); proba (when
// not null) = the responsibilities, as responsibilities computes them, rounded to P.
template <typename P>
FG_HD double score_point(double* log_p, int64_t K, int64_t* label, P* proba) {
    if (label) *label = first_max(log_p, K);
    double top;
    const double total = shifted_exp(log_p, K, &top);
    if (proba) {
        const double inverse = 1.0 / total;
        for (int64_t k = 0; k < K; ++k) proba[k] = (P)(log_p[k] * inverse);
    }
    return top + log(total);
}

// A point of weight w (sample_weight) counts as w copies of itself: in place, log_p[0..K)
// become its responsibilities times w, and the return value is w log p(x), its share of
// the log-likelihood. w = 1 is the unweighted pass, bit for bit; a point of weight 0 adds
// exact zeros whatever its log densities (even all -inf, where the responsibilities of an
// unweighted point would be NaN).
FG_HD double weighted_responsibilities(double* log_p, int64_t K, double w) {
    if (w == 0.0) {
        for (int64_t k = 0; k < K; ++k) log_p[k] = 0.0;
        return 0.0;
    }
    const double lse = responsibilities(log_p, K);
    if (w == 1.0) return lse;
    for (int64_t k = 0; k < K; ++k) log_p[k] *= w;
    return w * lse;
}

// k-means (the "kmeans" initialisation of the mixture: fastgen/gmm/_kmeans.py). The squared
// Euclidean distance of a point x (D values of T) to a centre c (D doubles), in double
// whatever T (the seeding's potentials and the Lloyd labels then match a float64
// reference), summed i ascending. CPU and Numba evaluate it for many points at once with
// the same operations in the same order.
template <typename T>
FG_HD double squared_distance(const T* x, const double* c, int64_t D) {
    double total = 0.0;
    for (int64_t i = 0; i < D; ++i) {
        const double d = (double)x[i] - c[i];
        total += d * d;
    }
    return total;
}

// The nearest of K centres (K, D) to x: the first of the smallest distances (NumPy's argmin),
// returned with that distance in *distance.
template <typename T>
FG_HD int64_t nearest_centre(const T* x, const double* centres, int64_t K, int64_t D, double* distance) {
    int64_t best = 0;
    double best_d = squared_distance<T>(x, centres, D);
    for (int64_t k = 1; k < K; ++k) {
        const double d = squared_distance<T>(x, centres + k * D, D);
        if (d < best_d) {
            best_d = d;
            best = k;
        }
    }
    *distance = best_d;
    return best;
}

}  // namespace fastgen
