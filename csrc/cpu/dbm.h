// CPU loop of the DBM mean-field epilogue (csrc/include/fastgen/dbm.h). No Python here
// (dbm.cpp binds).
#pragma once
#include <stdint.h>

#include <algorithm>
#include <vector>

#include "fastgen/dbm.h"
#include "random.h"  // kParallelWork

namespace fastgen {
namespace cpu {

// The largest of x[0..n). Sixteen running maxima, element-wise over blocks: a single
// running maximum is a chain that GCC leaves scalar without -ffast-math (as slow as the
// whole update, measured).
template <typename T>
inline T max_of(const T* __restrict x, int64_t n) {
    constexpr int kLanes = 16;
    T lane[kLanes] = {};
    int64_t j = 0;
    for (; j + kLanes <= n; j += kLanes) {
        for (int k = 0; k < kLanes; ++k) lane[k] = x[j + k] > lane[k] ? x[j + k] : lane[k];
    }
    for (; j < n; ++j) lane[0] = x[j] > lane[0] ? x[j] : lane[0];
    T largest = lane[0];
    for (int k = 1; k < kLanes; ++k) largest = std::max(largest, lane[k]);
    return largest;
}

// Rows [0, rows) of one layer update: mu <- (1 - damping) sigmoid(first + second + bias) +
// damping mu (`kSecond` false: no second product), all (rows, n_cols) row-major. Returns
// the largest |change| (changes are >= 0). The changes go to a private buffer and their
// maximum is taken after the update loop, so that both loops vectorise.
template <typename T, bool kSecond>
inline T mean_field_rows(int64_t rows, int64_t n_cols, const T* first, const T* second, const T* bias, T damping,
                         T* mu) {
    T largest = T(0);
    const int n_threads = team_size(rows * n_cols >= kParallelWork);
    ThreadBuffers<std::vector<T>> changes(n_threads, (size_t)n_cols);
#pragma omp parallel num_threads(n_threads) reduction(max : largest)
    {
        std::vector<T>& change = changes.mine();
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t at = r * n_cols;
            const T* __restrict a = first + at;
            const T* __restrict b = kSecond ? second + at : nullptr;
            T* __restrict m = mu + at;
            T* __restrict d = change.data();
            for (int64_t j = 0; j < n_cols; ++j) {
                const T input = kSecond ? (T)(a[j] + b[j]) : a[j];
                d[j] = mean_field_unit<T>(input, bias[j], damping, m[j]);
            }
            largest = std::max(largest, max_of(d, n_cols));
        }
    }
    return largest;
}

// One layer update of sweep `slot` (see mean_field_converged): skipped once converged,
// else the update, with its largest |change| folded into changes[slot].
template <typename T>
inline void mean_field_update(int64_t rows, int64_t n_cols, const T* first, const T* second, const T* bias,
                              T damping, T* mu, T* changes, int64_t slot, T tol) {
    if (mean_field_converged<T>(changes, slot, tol)) return;
    const T largest = second ? mean_field_rows<T, true>(rows, n_cols, first, second, bias, damping, mu)
                             : mean_field_rows<T, false>(rows, n_cols, first, nullptr, bias, damping, mu);
    changes[slot] = std::max(changes[slot], largest);
}

}  // namespace cpu
}  // namespace fastgen
