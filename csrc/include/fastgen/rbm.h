// Per-element math of the binary RBM kernels, shared by the C++ (OpenMP) extension
// and the CUDA kernels. The GEMMs happen before (BLAS / cuBLAS); these functions
// are the fused epilogues.
#pragma once
#include "config.h"
#include "mathx.h"
#include "random.h"

namespace fastgen {

// Philox `stream` values of the RBM draws (see philox.h for the counter layout).
enum RbmStream : uint32_t {
    STREAM_HIDDEN = 0,   // h ~ p(h | v)
    STREAM_VISIBLE = 1,  // v ~ p(v | h)
    STREAM_INIT = 2,     // random initial states
};

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

// Elements 4*group .. 4*group+3 (clipped to n_elements) of a (rows, n_cols) row-major
// array of pre-activations `logits` (bias not yet added), element i drawing
// uniform(seed, call, stream, i). `prob` may alias `logits` (in-place). One thread per
// group on the GPU; the CPU walks rows instead (csrc/cpu/rbm_cpu.h), same values.
template <typename T>
FG_HD void bernoulli_group(uint64_t group, uint64_t n_elements, uint64_t n_cols,
                           const T* logits, const T* bias, T* prob, T* state,
                           uint64_t seed, uint32_t call, uint32_t stream) {
    const u32x4 words = philox_block(seed, call, stream, group);
    uint64_t i = group * 4;
    uint64_t col = i % n_cols;  // one division per group, then the column walks along
    for (int k = 0; k < 4 && i < n_elements; ++k, ++i) {
        bernoulli_unit<T>(logits[i], bias[col], words.v[k], prob[i], state[i]);
        if (++col == n_cols) {
            col = 0;
        }
    }
}

// Elements 4*group .. of a random binary array with P(1) = 1/2.
template <typename T>
FG_HD void coin_group(uint64_t group, uint64_t n_elements, T* state, uint64_t seed, uint32_t call) {
    const u32x4 words = philox_block(seed, call, STREAM_INIT, group);
    const uint64_t first = group * 4;
    for (int k = 0; k < 4; ++k) {
        const uint64_t i = first + (uint64_t)k;
        if (i >= n_elements) {
            break;
        }
        state[i] = (words.v[k] >> 31) ? T(1) : T(0);
    }
}

// Free energy of one visible row given its hidden pre-activations `logits_row`
// (= v W, without bias) and visible term vb = b.v:
//   F(v) = -b.v - sum_j softplus(c_j + (vW)_j), summed in double.
template <typename T>
FG_HD double free_energy_row(const T* logits_row, const T* hidden_bias, uint64_t n_hidden, double vb) {
    double total = 0.0;
    for (uint64_t j = 0; j < n_hidden; ++j) {
        total += (double)softplus(logits_row[j] + hidden_bias[j]);
    }
    return -vb - total;
}

}  // namespace fastgen
