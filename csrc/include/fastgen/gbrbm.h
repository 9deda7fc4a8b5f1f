// Per-element math of the Gaussian-Bernoulli RBM, shared by the C++ (OpenMP) extension and
// the CUDA kernels. Model: W (n_visible, n_hidden), visible bias b, hidden bias c, per-unit
// standard deviations sigma > 0,
//   E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h - sum_ij (v_i / sigma_i^2) W_ij h_j,
//   p(v | h) = N(b + W h, diag sigma^2),   p(h | v) = sigmoid(c + (v / sigma^2) W).
// The hidden half-step is the binary RBM's epilogue (rbm.h) on the logits (v / sigma^2) W;
// the visible half-step is the epilogue below, after the GEMM h W^T.
#pragma once
#include "config.h"
#include "random.h"

namespace fastgen {

// One Gaussian visible unit from its product (h W^T)_i: mean = product + b_i, state =
// mean + sigma_i z, z the standard normal of its element (random.h).
template <typename T>
FG_HD void gaussian_unit(T product, T bias, T sigma, float z, T& mean, T& state) {
    const T m = product + bias;
    mean = m;
    state = m + sigma * (T)z;
}

// Elements 4*group .. 4*group+3, clipped to [begin, end), of (rows, n_cols) row-major arrays,
// element i drawing normal(seed, call, stream, i). The arrays hold elements begin .. end - 1
// (begin: a multiple of n_cols, the first row of a block of a batch split over processes,
// such as a range of AIS chains), element i at [i - begin]. `mean` may alias `products` (in
// place). One thread per group on the GPU; the CPU walks rows instead (csrc/cpu/gbrbm.h),
// same values.
template <typename T>
FG_HD void gaussian_group(uint64_t group, uint64_t begin, uint64_t end, uint64_t n_cols, const T* products,
                          const T* bias, const T* sigma, T* mean, T* state, uint64_t seed, uint32_t call,
                          uint32_t stream) {
    float z[4];
    normal_block(seed, call, stream, group, z);
    uint64_t i = group * 4;
    uint64_t col = i % n_cols;  // one division per group, then the column walks along
    for (int k = 0; k < 4 && i < end; ++k, ++i) {
        if (i >= begin) {
            gaussian_unit<T>(products[i - begin], bias[col], sigma[col], z[k], mean[i - begin], state[i - begin]);
        }
        if (++col == n_cols) {
            col = 0;
        }
    }
}

}  // namespace fastgen
