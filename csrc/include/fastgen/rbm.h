// Per-element math of the binary RBM kernels, shared by the C++ (OpenMP) extension
// and the CUDA kernels. The GEMMs happen before (BLAS / cuBLAS); these functions
// are the fused epilogues. Then the per-unit math of AIS for the binary RBM (below).
// The draws use the RbmStream values of random.h.
#pragma once
#include "config.h"
#include "mathx.h"
#include "random.h"

namespace fastgen {

// A Bernoulli(p) state from its uniform u: 1 if u < p (compared in T), else 0.
template <typename T>
FG_HD T bernoulli_state(float u, T p) {
    return (T)u < p ? T(1) : T(0);
}

// One Bernoulli unit: prob = sigmoid(logit + bias), state drawn with the uniform of `word`.
template <typename T>
FG_HD void bernoulli_unit(T logit, T bias, uint32_t word, T& prob, T& state) {
    const T p = sigmoid((T)(logit + bias));
    prob = p;
    state = bernoulli_state(uniform_open01(word), p);
}

// Elements 4*group .. 4*group+3, clipped to [begin, end), of a (rows, n_cols) row-major
// array of pre-activations `logits` (bias not yet added), element i drawing
// uniform(seed, call, stream, i). The arrays hold elements begin .. end - 1 (begin: a
// multiple of n_cols, the first row of a block of a batch split over processes), element
// i at [i - begin]. `prob` may alias `logits` (in-place). One thread per group on the GPU;
// the CPU walks rows instead (csrc/cpu/rbm.h), same values.
template <typename T>
FG_HD void bernoulli_group(uint64_t group, uint64_t begin, uint64_t end, uint64_t n_cols,
                           const T* logits, const T* bias, T* prob, T* state,
                           uint64_t seed, uint32_t call, uint32_t stream) {
    const u32x4 words = philox_block(seed, call, stream, group);
    uint64_t i = group * 4;
    uint64_t col = i % n_cols;  // one division per group, then the column walks along
    for (int k = 0; k < 4 && i < end; ++k, ++i) {
        if (i >= begin) {
            bernoulli_unit<T>(logits[i - begin], bias[col], words.v[k], prob[i - begin], state[i - begin]);
        }
        if (++col == n_cols) {
            col = 0;
        }
    }
}

// The sum of eight partial sums acc[0..8), combined pairwise: the last step of the lane sums
// (free_energy_row; lane_sum of cpu/rbm.h), a fixed order that lets the loops vectorise and that
// the Numba backend repeats.
FG_HD double lane_total(const double* acc) {
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Lanes of free_energy_row: hidden unit j adds to partial sum j % kFreeEnergyLanes.
constexpr int kFreeEnergyLanes = 8;

// Hidden unit j's softplus argument in free_energy_row, formed in T as the Bernoulli epilogues
// form their logits, then widened.
template <typename T>
FG_HD double free_energy_argument(T logit, T bias, T scale) {
    return (double)(T)(scale * (T)(logit + bias));
}

// Free energy of one visible row given its hidden pre-activations `logits_row` (= v W,
// without bias), a scale (a tempered model's beta, 1 for the model itself) and the visible
// term vb (b.v, times the scale):
//   F(v) = -vb - sum_j softplus(scale (c_j + (vW)_j)),
// each softplus and the sum in double, with the loop-friendly functions of mathx.h (a float32
// softplus through log1pf cost about 10 ns per element on the CPU, and rounded each term to
// float32): unit j's softplus goes into partial sum j % 8, and lane_total combines them. The
// CPU loops (cpu/rbm.h: free_energy_rows) take the same steps in passes over a row, which
// vectorise, and the Numba backend repeats them: every backend gives the same bits.
template <typename T>
FG_HD double free_energy_row(const T* logits_row, const T* hidden_bias, uint64_t n_hidden, T scale, double vb) {
    double acc[kFreeEnergyLanes] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (uint64_t j = 0; j < n_hidden; ++j) {
        const double x = free_energy_argument<T>(logits_row[j], hidden_bias[j], scale);
        acc[j % kFreeEnergyLanes] += softplus_given_exp(x, softplus_exp(x));
    }
    return -vb - lane_total(acc);
}

// ---- AIS
// Annealed importance sampling (AIS) for the binary RBM (Salakhutdinov & Murray, 2008):
// the per-unit math shared by the CPU chain walker (csrc/cpu/rbm.h) and the CUDA
// kernel (csrc/cuda/rbm.cu).
//
// Intermediate distributions for inverse temperatures 0 = beta_0 < ... < beta_K = 1, from
// a base model A (no weights, visible bias `base`) to the model B (W, b, c):
//   log p*_beta(v) = (1 - beta) base.v + beta b.v + sum_j softplus(beta a_j),  a = c + v W,
// so p*_1 is B's unnormalised marginal and p*_0 is A's marginal with n_hidden hidden units
// of zero bias summed out: log Z_0 = sum_i softplus(base_i) + n_hidden log 2. The transition at beta leaves p_beta invariant:
//   h ~ sigmoid(beta a),  v ~ sigmoid(beta (b + W h) + (1 - beta) base).
// One chain: v ~ A; for k = 1..K: log w += log p*_k(v) - log p*_{k-1}(v), then (k < K)
// one transition at beta_k. Then Z_B / Z_A is estimated by the mean of w over chains.
//
// Draws (random.h layout, element = chain * n_units + unit): the initial v uses stream
// STREAM_INIT with call 0; the transition of step k uses call k with STREAM_HIDDEN for h
// and STREAM_VISIBLE for v. A chain's draws therefore do not depend on how many run.

// Hidden unit j's share of log p*_k(v) - log p*_{k-1}(v), a = c_j + (vW)_j. Each term is
// exact in double, so the difference of two nearby values loses only their rounding
// (about 1e-14 absolute), far below the increments (about 1e-4 at beta steps of 1e-4).
FG_HD double ais_hidden_increment(double a, double beta, double beta_prev) {
    return softplus(beta * a) - softplus(beta_prev * a);
}

// The visible logit of the transition at beta, given input = (W h)_i.
template <typename T>
FG_HD T ais_visible_logit(T input, T bias, T base, T beta) {
    return beta * (input + bias) + (T(1) - beta) * base;
}

}  // namespace fastgen
