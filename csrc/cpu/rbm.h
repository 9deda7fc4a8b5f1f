// CPU loop structure of the RBM kernels: how rows and threads walk over the shared
// per-element math of csrc/include/fastgen/rbm.h. No Python here (module.cpp binds).
//
// Threads: a loop goes parallel only when its work is large. Between BLAS calls the OpenMP
// team competes with OpenBLAS's own threads for the cores, which on small problems costs
// more than it saves; single-threaded these loops are vectorised and cheap.
#pragma once
#include <stdint.h>

#include <algorithm>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "fastgen/normal.h"
#include "fastgen/rbm.h"

namespace fastgen {
namespace cpu {

// Work below which a loop stays on the calling thread: elements for the element-wise
// loops, vector additions (ones x row length) for the selected-row sums. A training batch
// (100 x 784 x 500) stays below both: there, waking the OpenMP team cost as much as it
// saved, and threads left spinning after a region starved the BLAS calls in between (8x
// slower, measured). Large calls (many chains, big layers) go parallel.
constexpr int64_t kParallelWork = 1 << 22;
constexpr int64_t kParallelAdds = 1 << 25;

// Uniforms of elements [begin, begin + n) of draw (seed, call, stream) into `u`: the
// Philox blocks of kLanes consecutive groups at a time, lane by lane, so that the rounds
// vectorise (a scalar block is bound by its multiply latency).
inline void row_uniforms(uint64_t begin, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream, float* u) {
    constexpr int kLanes = 32;  // 16 and 8 measured 1.3x and 7x slower
    const uint32_t key0 = (uint32_t)seed, key1 = (uint32_t)(seed >> 32);
    const uint64_t end = begin + n;
    for (uint64_t g0 = begin >> 2; g0 * 4 < end; g0 += kLanes) {
        uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
        for (int l = 0; l < kLanes; ++l) {
            c0[l] = (uint32_t)(g0 + l);
            c1[l] = (uint32_t)((g0 + l) >> 32);
            c2[l] = call;
            c3[l] = stream;
        }
#pragma GCC unroll 10  // without it GCC leaves the lane loops half scalar (5x slower)
        for (uint32_t round = 0; round < 10; ++round) {
            const uint32_t k0 = key0 + round * kPhiloxW0, k1 = key1 + round * kPhiloxW1;
            for (int l = 0; l < kLanes; ++l) {
                philox_round(c0[l], c1[l], c2[l], c3[l], k0, k1);
            }
        }
        float block[4 * kLanes];  // the uniforms of elements 4 g0 .. 4 (g0 + kLanes) - 1, in order
        for (int l = 0; l < kLanes; ++l) {
            block[4 * l] = uniform_open01(c0[l]);
            block[4 * l + 1] = uniform_open01(c1[l]);
            block[4 * l + 2] = uniform_open01(c2[l]);
            block[4 * l + 3] = uniform_open01(c3[l]);
        }
        const uint64_t first = std::max(begin, g0 * 4), last = std::min(end, (g0 + kLanes) * 4);
        for (uint64_t i = first; i < last; ++i) {
            u[i - begin] = block[i - g0 * 4];
        }
    }
}

// Normals of elements [begin, begin + n) of draw (seed, call, stream) into z (layout in
// normal.h): the uniforms of the enclosing Box-Muller pairs into `u`, split into radius
// and angle halves, then one vectorised pass over the pairs. `u` holds 2 (n + 2) floats.
inline void row_normals(uint64_t begin, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream, float* u,
                        float* __restrict z) {
    const uint64_t first = begin & ~(uint64_t)1, last = (begin + n + 1) & ~(uint64_t)1;
    const uint64_t n_pairs = (last - first) / 2;
    row_uniforms(first, last - first, seed, call, stream, u);
    float* __restrict radius = u + (last - first);
    float* __restrict angle = radius + n_pairs;
    for (uint64_t p = 0; p < n_pairs; ++p) {
        radius[p] = u[2 * p];
        angle[p] = u[2 * p + 1];
    }
    float* __restrict pairs = u;  // the normals of the pairs, in element order
    for (uint64_t p = 0; p < n_pairs; ++p) {
        float z_even, z_odd;
        box_muller(radius[p], angle[p], z_even, z_odd);
        pairs[2 * p] = z_even;
        pairs[2 * p + 1] = z_odd;
    }
    const uint64_t shift = begin - first;
    for (uint64_t j = 0; j < n; ++j) {
        z[j] = pairs[j + shift];
    }
}

// Per-thread buffers of one row's epilogue.
template <typename T>
struct RowScratch {
    explicit RowScratch(int64_t n_cols) : u((size_t)n_cols), p((size_t)n_cols) {}
    std::vector<float> u;  // the row's uniforms
    std::vector<T> p;      // its probabilities
};

// Bernoulli draws for one row of length n_cols at flat offset `begin`: prob = sigmoid(
// logit(j)), state = uniform < prob, with `logit` a cheap inlined function of the column.
// Uniforms and probabilities go through private buffers first: an in-place write would
// make the compiler give up vectorising the sigmoid.
template <typename T, typename Logit>
inline void bernoulli_row_of(uint64_t begin, uint64_t n_cols, Logit logit, T* prob, T* state, uint64_t seed,
                             uint32_t call, uint32_t stream, RowScratch<T>& scratch) {
    float* __restrict u = scratch.u.data();
    T* __restrict p = scratch.p.data();
    row_uniforms(begin, n_cols, seed, call, stream, u);
    for (uint64_t j = 0; j < n_cols; ++j) {
        p[j] = sigmoid((T)logit(j));
    }
    for (uint64_t j = 0; j < n_cols; ++j) {
        prob[j] = p[j];
        state[j] = bernoulli_state(u[j], p[j]);
    }
}

// The RBM epilogue of one row: prob = sigmoid(logits + bias), state = uniform < prob.
// `prob` may alias `logits`.
template <typename T>
inline void bernoulli_row(uint64_t begin, uint64_t n_cols, const T* logits, const T* bias, T* prob, T* state,
                          uint64_t seed, uint32_t call, uint32_t stream, RowScratch<T>& scratch) {
    bernoulli_row_of<T>(begin, n_cols, [=](uint64_t j) { return (T)(logits[j] + bias[j]); }, prob, state, seed, call,
                        stream, scratch);
}

// Indices of the ones in each row of a binary (n_rows, n_cols) array, CSR-like: 64
// columns at a time become a bit mask (the compare loop vectorises), whose set bits are
// then read off (3x faster than testing element by element).
template <typename T>
inline void active_units(const T* states, int64_t n_rows, int64_t n_cols, std::vector<int64_t>& offsets,
                         std::vector<int32_t>& index) {
    offsets.assign(n_rows + 1, 0);
    index.resize((size_t)(n_rows * n_cols));
    int32_t* out = index.data();
    int64_t count = 0;
    for (int64_t r = 0; r < n_rows; ++r) {
        const T* row = states + r * n_cols;
        for (int64_t k0 = 0; k0 < n_cols; k0 += 64) {
            const int64_t width = std::min<int64_t>(64, n_cols - k0);
            uint64_t mask = 0;
            for (int64_t i = 0; i < width; ++i) mask |= (uint64_t)(row[k0 + i] != T(0)) << i;
            for (; mask != 0; mask &= mask - 1) out[count++] = (int32_t)(k0 + __builtin_ctzll(mask));
        }
        offsets[r + 1] = count;
    }
    index.resize((size_t)count);
}

// Rows of a binary (n_rows, n_cols) array listed by column: for each column k, the rows r
// with states[r, k] == 1, in increasing r (CSC-like, from the CSR lists above).
inline void by_column(const std::vector<int64_t>& offsets, const std::vector<int32_t>& index, int64_t n_rows,
                      int64_t n_cols, std::vector<int64_t>& col_offsets, std::vector<int32_t>& rows) {
    col_offsets.assign(n_cols + 1, 0);
    for (int32_t k : index) col_offsets[k + 1] += 1;
    for (int64_t k = 0; k < n_cols; ++k) col_offsets[k + 1] += col_offsets[k];
    rows.resize(index.size());
    std::vector<int64_t> fill(col_offsets.begin(), col_offsets.end() - 1);
    for (int64_t r = 0; r < n_rows; ++r) {
        for (int64_t a = offsets[r]; a < offsets[r + 1]; ++a) rows[fill[index[a]]++] = (int32_t)r;
    }
}

// dst[0..n) += the rows `which[0..count)` of `src` (row stride `stride`), taken four at a
// time as dst + ((x0 + x1) + (x2 + x3)), then one at a time. Four rows per pass over dst
// keep the loop from being bound by stores. The Numba backend adds in the same order.
// Not inlined: inlined into the tiled loops below, GCC vectorised it with gathers across
// rows, 2x slower (measured).
template <typename T>
__attribute__((noinline)) void add_rows(T* __restrict dst, const T* src, int64_t stride, int64_t n,
                                        const int32_t* which, int64_t count) {
    int64_t a = 0;
    for (; a + 4 <= count; a += 4) {
        const T* __restrict x0 = src + (int64_t)which[a] * stride;
        const T* __restrict x1 = src + (int64_t)which[a + 1] * stride;
        const T* __restrict x2 = src + (int64_t)which[a + 2] * stride;
        const T* __restrict x3 = src + (int64_t)which[a + 3] * stride;
        for (int64_t j = 0; j < n; ++j) dst[j] += (x0[j] + x1[j]) + (x2[j] + x3[j]);
    }
    for (; a < count; ++a) {
        const T* __restrict x = src + (int64_t)which[a] * stride;
        for (int64_t j = 0; j < n; ++j) dst[j] += x[j];
    }
}

// Columns of W per tile in selected_row_sums: 256 columns of a 784-row float32 W are
// 800 KB, which stay in a core's L2 cache while all rows of a batch read them.
constexpr int64_t kTileColumns = 256;

// out[r, :] = sum over k with states[r, k] == 1 of W[k, :] (= states @ W for binary states)
// for rows [r0, r1), with W (n_in, n_out) row-major and the ones listed by active_units.
// Column tiles outer, rows inner: whole rows of a large W would be read from L3 for every
// row of the batch, bound by its bandwidth (AIS at 784 x 500: 27 us per chain step
// untiled, 20 us with tiles of 256 columns, measured).
// Each output element adds the same rows in the same order either way.
template <typename T>
inline void selected_row_sums(const std::vector<int64_t>& offsets, const std::vector<int32_t>& index, int64_t r0,
                              int64_t r1, const T* W, int64_t n_out, T* out) {
    for (int64_t j0 = 0; j0 < n_out; j0 += kTileColumns) {
        const int64_t width = std::min(kTileColumns, n_out - j0);
        for (int64_t r = r0; r < r1; ++r) {
            T* dst = out + r * n_out + j0;
            for (int64_t j = 0; j < width; ++j) dst[j] = T(0);
            add_rows<T>(dst, W + j0, n_out, width, index.data() + offsets[r], offsets[r + 1] - offsets[r]);
        }
    }
}

// selected_row_sums of all rows; threads take contiguous ranges of rows.
template <typename T>
inline void selected_row_sums_parallel(const std::vector<int64_t>& offsets, const std::vector<int32_t>& index,
                                       int64_t n_rows, const T* W, int64_t n_out, T* out) {
#pragma omp parallel if ((int64_t)index.size() * n_out >= kParallelAdds)
    {
        int64_t first = 0, last = n_rows;
#ifdef _OPENMP
        const int64_t thread = omp_get_thread_num(), n_threads = omp_get_num_threads();
        first = n_rows * thread / n_threads;
        last = n_rows * (thread + 1) / n_threads;
#endif
        selected_row_sums<T>(offsets, index, first, last, W, n_out, out);
    }
}

// out[k, :] = scale_a * (sum over rows r with a[r, k] == 1 of values_a[r, :])
//           + scale_b * (sum over rows r with b[r, k] == 1 of values_b[r, :])
// (= scale_a a^T values_a + scale_b b^T values_b for binary a, b: the CD gradient of the
// weights in one pass over `out`); threads take rows k of out.
template <typename T>
inline void selected_outer_pair(const std::vector<int64_t>& offsets_a, const std::vector<int32_t>& rows_a,
                                const T* values_a, T scale_a, const std::vector<int64_t>& offsets_b,
                                const std::vector<int32_t>& rows_b, const T* values_b, T scale_b, int64_t n_k,
                                int64_t n_out, T* out) {
    const int64_t work = (int64_t)(rows_a.size() + rows_b.size()) * n_out;
#pragma omp parallel if (work >= kParallelAdds)
    {
        std::vector<T> sum_a((size_t)n_out), sum_b((size_t)n_out);
#pragma omp for schedule(static)
        for (int64_t k = 0; k < n_k; ++k) {
            T* __restrict sa = sum_a.data();
            T* __restrict sb = sum_b.data();
            for (int64_t j = 0; j < n_out; ++j) sa[j] = T(0);
            for (int64_t j = 0; j < n_out; ++j) sb[j] = T(0);
            add_rows<T>(sa, values_a, n_out, n_out, rows_a.data() + offsets_a[k], offsets_a[k + 1] - offsets_a[k]);
            add_rows<T>(sb, values_b, n_out, n_out, rows_b.data() + offsets_b[k], offsets_b[k + 1] - offsets_b[k]);
            T* __restrict dst = out + k * n_out;
            for (int64_t j = 0; j < n_out; ++j) dst[j] = scale_a * sa[j] + scale_b * sb[j];
        }
    }
}

}  // namespace cpu
}  // namespace fastgen
