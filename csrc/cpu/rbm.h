// CPU loop structure of the RBM kernels: how rows and threads walk over the shared
// per-element math of csrc/include/fastgen/rbm.h, then the AIS chain walker. No Python
// here (rbm.cpp binds). Loops go parallel only when their work is large (see cpu/random.h).
#pragma once
#include <stdint.h>

#include <algorithm>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "fastgen/rbm.h"
#include "parallel.h"
#include "random.h"

namespace fastgen {
namespace cpu {

// Vector additions (ones x row length) below which the selected-row sums stay on the
// calling thread, for the reasons given at kParallelWork (cpu/random.h).
constexpr int64_t kParallelAdds = 1 << 25;

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
                         std::vector<int64_t>& index) {
    offsets.assign(n_rows + 1, 0);
    index.resize((size_t)(n_rows * n_cols));
    int64_t* out = index.data();
    int64_t count = 0;
    for (int64_t r = 0; r < n_rows; ++r) {
        const T* row = states + r * n_cols;
        for (int64_t k0 = 0; k0 < n_cols; k0 += 64) {
            const int64_t width = std::min<int64_t>(64, n_cols - k0);
            uint64_t mask = 0;
            for (int64_t i = 0; i < width; ++i) mask |= (uint64_t)(row[k0 + i] != T(0)) << i;
            for (; mask != 0; mask &= mask - 1) out[count++] = (int64_t)(k0 + __builtin_ctzll(mask));
        }
        offsets[r + 1] = count;
    }
    index.resize((size_t)count);
}

// Rows of a binary (n_rows, n_cols) array listed by column: for each column k, the rows r
// with states[r, k] == 1, in increasing r (CSC-like, from the CSR lists above).
inline void by_column(const std::vector<int64_t>& offsets, const std::vector<int64_t>& index, int64_t n_rows,
                      int64_t n_cols, std::vector<int64_t>& col_offsets, std::vector<int64_t>& rows) {
    col_offsets.assign(n_cols + 1, 0);
    for (int64_t k : index) col_offsets[k + 1] += 1;
    for (int64_t k = 0; k < n_cols; ++k) col_offsets[k + 1] += col_offsets[k];
    rows.resize(index.size());
    std::vector<int64_t> fill(col_offsets.begin(), col_offsets.end() - 1);
    for (int64_t r = 0; r < n_rows; ++r) {
        for (int64_t a = offsets[r]; a < offsets[r + 1]; ++a) rows[fill[index[a]]++] = r;
    }
}

// dst[0..n) += the rows `which[0..count)` of `src` (row stride `stride`), taken four at a
// time as dst + ((x0 + x1) + (x2 + x3)), then one at a time. Four rows per pass over dst
// keep the loop from being bound by stores. The Numba backend adds in the same order.
// Not inlined: inlined into the tiled loops below, GCC vectorised it with gathers across
// rows, 2x slower (measured).
template <typename T>
__attribute__((noinline)) void add_rows(T* __restrict dst, const T* src, int64_t stride, int64_t n,
                                        const int64_t* which, int64_t count) {
    int64_t a = 0;
    for (; a + 4 <= count; a += 4) {
        const T* __restrict x0 = src + which[a] * stride;
        const T* __restrict x1 = src + which[a + 1] * stride;
        const T* __restrict x2 = src + which[a + 2] * stride;
        const T* __restrict x3 = src + which[a + 3] * stride;
        for (int64_t j = 0; j < n; ++j) dst[j] += (x0[j] + x1[j]) + (x2[j] + x3[j]);
    }
    for (; a < count; ++a) {
        const T* __restrict x = src + which[a] * stride;
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
inline void selected_row_sums(const std::vector<int64_t>& offsets, const std::vector<int64_t>& index, int64_t r0,
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
inline void selected_row_sums_parallel(const std::vector<int64_t>& offsets, const std::vector<int64_t>& index,
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
inline void selected_outer_pair(const std::vector<int64_t>& offsets_a, const std::vector<int64_t>& rows_a,
                                const T* values_a, T scale_a, const std::vector<int64_t>& offsets_b,
                                const std::vector<int64_t>& rows_b, const T* values_b, T scale_b, int64_t n_k,
                                int64_t n_out, T* out) {
    const int n_threads = team_size((int64_t)(rows_a.size() + rows_b.size()) * n_out >= kParallelAdds);
    ThreadBuffers<std::vector<T>> sums(n_threads, (size_t)(2 * n_out));
#pragma omp parallel num_threads(n_threads)
    {
        std::vector<T>& sum = sums.mine();
#pragma omp for schedule(static)
        for (int64_t k = 0; k < n_k; ++k) {
            T* __restrict sa = sum.data();
            T* __restrict sb = sum.data() + n_out;
            for (int64_t j = 0; j < n_out; ++j) sa[j] = T(0);
            for (int64_t j = 0; j < n_out; ++j) sb[j] = T(0);
            add_rows<T>(sa, values_a, n_out, n_out, rows_a.data() + offsets_a[k], offsets_a[k + 1] - offsets_a[k]);
            add_rows<T>(sb, values_b, n_out, n_out, rows_b.data() + offsets_b[k], offsets_b[k + 1] - offsets_b[k]);
            T* __restrict dst = out + k * n_out;
            for (int64_t j = 0; j < n_out; ++j) dst[j] = scale_a * sa[j] + scale_b * sb[j];
        }
    }
}

// ---- Row sums of a padded matrix, a strip of columns at a time in registers
// For the long loops (AIS) that multiply binary states by the same matrix many times.

// A zero-filled array of n elements of T whose data() is 64-byte aligned (std::vector
// guarantees only 16 bytes).
template <typename T>
struct Aligned64 {
    explicit Aligned64(int64_t n) : storage((size_t)n + 64 / sizeof(T), T(0)) {
        const uintptr_t misalignment = (uintptr_t)storage.data() % 64;
        offset = misalignment == 0 ? 0 : (64 - misalignment) / sizeof(T);
    }
    T* data() { return storage.data() + offset; }
    const T* data() const { return storage.data() + offset; }
    std::vector<T> storage;
    size_t offset;
};

// A row-major (n_rows, n_cols) matrix copied with each row padded with zeros to whole
// strips of kStripLanes elements, 64-byte aligned: every strip load is one aligned vector
// load. Unaligned rows (NumPy aligns to 16 bytes; 500 float32 columns shift every other
// row) split vector loads across cache lines: 1.4x slower row sums (measured).
template <typename T>
struct Strips {
    // Elements per strip: four 64-byte vectors. In AIS at 784 x 500 (sparse_strip_group of 6
    // chains) four vectors made the products of v W 1.25x and those of h W^T 1.1x faster than
    // two with 8 chains (four vectors with 4 chains: 1.1x slower than with 6; eight vectors:
    // slower, too few registers for the sums); measured in thread CPU time. Each row of a strip
    // then costs one index load for four vector adds.
    static constexpr int kVectors = 4;
    static constexpr int64_t kVector = 64 / (int64_t)sizeof(T);
    static constexpr int64_t kStripLanes = kVectors * kVector;
    typedef T Vector __attribute__((vector_size(64), may_alias));

    static int64_t padded(int64_t n_cols) { return (n_cols + kStripLanes - 1) / kStripLanes * kStripLanes; }

    Strips(const T* src, int64_t n_rows, int64_t n_cols) : stride(padded(n_cols)), rows(n_rows * stride) {
        for (int64_t r = 0; r < n_rows; ++r) std::copy(src + r * n_cols, src + (r + 1) * n_cols, rows.data() + r * stride);
    }
    int64_t stride;
    Aligned64<T> rows;
};

// The products of binary states with a Strips matrix: out[r, :] = sum over k with
// states[r, k] == 1 of m[k, :], each element summed in increasing k from 0 (the order the
// Numba backend repeats). Two ways that give the same bits, chosen by the density of ones:
// - sparse: the selected rows only (listed by active_units), for each strip of columns
//   and each group of state rows, the strip of each output row held in registers;
// - dense: every row k, times the state (exactly m[k, :] or 0, and adding 0 changes no sum:
//   one that starts at +0 never becomes -0), for a group of state rows at once, so that each
//   strip loaded from cache serves the whole group (dense layers: kDenseOnes below).
// Strips outer, state rows inner: a strip of m (n_in x 256 bytes) stays in L1/L2 cache while
// every row of the batch reads it. Written with vector types because GCC vectorises the
// plain loops across rows instead, with gathers (7x slower, measured).

// Densities of ones at and above which strip_products takes the dense way. The dense way
// does a multiply and an add per (row, column) it touches, the sparse way a load and an add
// per one. With the state rows interleaved (sparse_strip_group) the sparse way was 1.2x
// faster at density 0.41 (the hidden layer in AIS at 784 x 500, where the dense way had
// been 1.3x faster than the sparse way one row at a time), so the dense way is left to the
// layers with a majority of ones (measured, thread CPU time of each product).
constexpr int64_t kDenseOnes = 1, kDenseRows = 2;

// The strip at column j0 of the sums of the selected rows of C state rows at once: row c's
// ones are which[offsets[c]] .. which[offsets[c + 1] - 1], each strip of out held in
// kVectors vector accumulators. One row alone keeps only those sums in flight, each add
// waiting for the one before (the latency of a vector add); C rows interleaved keep C times
// as many. Each sum still adds its own rows in increasing order. At AIS in 784 x 500 (strips
// of two vectors then), 8 rows made the products of v W 1.4x faster than one row at a time,
// those of h W^T (sparse) 1.6x (measured).
template <typename T, int C>
inline void sparse_strip_group(const Strips<T>& m, int64_t j0, const int64_t* which, const int64_t* offsets,
                               T* out) {
    using V = typename Strips<T>::Vector;
    constexpr int K = Strips<T>::kVectors;
    const T* src = m.rows.data() + j0;
    V acc[C][K];
    int64_t count[C];
    int64_t common = offsets[1] - offsets[0];
    for (int c = 0; c < C; ++c) {
        for (int k = 0; k < K; ++k) acc[c][k] = V{};
        count[c] = offsets[c + 1] - offsets[c];
        common = std::min(common, count[c]);
    }
    for (int64_t a = 0; a < common; ++a) {
        for (int c = 0; c < C; ++c) {
            const V* x = (const V*)(src + which[offsets[c] + a] * m.stride);
            for (int k = 0; k < K; ++k) acc[c][k] += x[k];
        }
    }
    for (int c = 0; c < C; ++c) {
        for (int64_t a = common; a < count[c]; ++a) {
            const V* x = (const V*)(src + which[offsets[c] + a] * m.stride);
            for (int k = 0; k < K; ++k) acc[c][k] += x[k];
        }
        V* dst = (V*)(out + c * m.stride);
        for (int k = 0; k < K; ++k) dst[k] = acc[c][k];
    }
}

// The strip at column j0 of the products of state rows [0, C) (row stride n_in) into out.
template <typename T, int C>
inline void dense_strip(const Strips<T>& m, int64_t n_in, const T* states, int64_t j0, T* out) {
    using V = typename Strips<T>::Vector;
    const T* src = m.rows.data() + j0;
    constexpr int K = Strips<T>::kVectors;
    V acc[C][K];
    for (int c = 0; c < C; ++c) {
        for (int q = 0; q < K; ++q) acc[c][q] = V{};
    }
    for (int64_t k = 0; k < n_in; ++k) {
        const V* x = (const V*)(src + k * m.stride);
        V row[K];
        for (int q = 0; q < K; ++q) row[q] = x[q];
        for (int c = 0; c < C; ++c) {
            const T state = states[c * n_in + k];
            for (int q = 0; q < K; ++q) acc[c][q] += row[q] * state;
        }
    }
    for (int c = 0; c < C; ++c) {
        V* dst = (V*)(out + c * m.stride);
        for (int q = 0; q < K; ++q) dst[q] = acc[c][q];
    }
}

// Groups of state rows in dense_strip: 4 rows keep 16 accumulators and a strip in
// registers (with strips of two vectors, 8 rows had run as fast as 12, 6 5% slower).
constexpr int kDenseGroup = 4;

template <typename T, int C>
inline void dense_strips(const Strips<T>& m, int64_t n_in, const T* states, int64_t n_groups, int64_t j0, T* out) {
    for (int64_t g = 0; g < n_groups; ++g) {
        dense_strip<T, C>(m, n_in, states + g * C * n_in, j0, out + g * C * m.stride);
    }
}

// The last, partial group of state rows.
static_assert(kDenseGroup <= 4, "dense_rest handles the partial groups of up to 3 rows");
template <typename T>
inline void dense_rest(const Strips<T>& m, int64_t n_in, const T* states, int64_t rest, int64_t j0, T* out) {
    switch (rest) {
        case 1: return dense_strip<T, 1>(m, n_in, states, j0, out);
        case 2: return dense_strip<T, 2>(m, n_in, states, j0, out);
        case 3: return dense_strip<T, 3>(m, n_in, states, j0, out);
        default: return;
    }
}

// State rows per sparse_strip_group.
constexpr int kSparseGroup = 6;

// out (n_rows rows of stride m.stride, 64-byte aligned) = states (n_rows, n_in) @ m, for
// binary states whose ones active_units listed in (offsets, index).
template <typename T>
inline void strip_products(const Strips<T>& m, const T* states, int64_t n_rows, int64_t n_in,
                           const std::vector<int64_t>& offsets, const std::vector<int64_t>& index, T* out) {
    const bool dense = (int64_t)index.size() * kDenseRows >= kDenseOnes * n_rows * n_in;
    const int64_t n_groups = n_rows / kDenseGroup, grouped = n_groups * kDenseGroup;
    for (int64_t j0 = 0; j0 < m.stride; j0 += Strips<T>::kStripLanes) {
        if (dense) {
            dense_strips<T, kDenseGroup>(m, n_in, states, n_groups, j0, out + j0);
            dense_rest<T>(m, n_in, states + grouped * n_in, n_rows - grouped, j0, out + grouped * m.stride + j0);
            continue;
        }
        int64_t r = 0;
        for (; r + kSparseGroup <= n_rows; r += kSparseGroup) {
            sparse_strip_group<T, kSparseGroup>(m, j0, index.data(), offsets.data() + r, out + r * m.stride + j0);
        }
        for (; r < n_rows; ++r) {
            sparse_strip_group<T, 1>(m, j0, index.data(), offsets.data() + r, out + r * m.stride + j0);
        }
    }
}

// ---- AIS
// AIS for the binary RBM (math and draws: csrc/include/fastgen/rbm.h).
// Each chain walks every inverse temperature in one call, its states and products in the
// thread's cache; threads take whole chains, so the result does not depend on them.

// The model and schedule of one AIS run. Wt is W transposed (row-major), so that both
// products are sums of selected rows; visible_gain = b - base, in double.
template <typename T>
struct AisRun {
    const T* W;
    const T* Wt;
    const T* b;
    const T* c;
    const T* base;
    const double* visible_gain;
    int64_t n_visible, n_hidden;
    const double* betas;
    int64_t n_betas;
    uint64_t seed;
};

// W and W^T as Strips, made once per run and read by every thread.
template <typename T>
struct AisProducts {
    explicit AisProducts(const AisRun<T>& run)
        : W(run.W, run.n_visible, run.n_hidden), Wt(run.Wt, run.n_hidden, run.n_visible) {}
    Strips<T> W, Wt;
};

// sum of x[0..n) in eight interleaved partial sums, combined pairwise: a fixed order (the
// Numba backend repeats it) that still vectorises.
inline double lane_sum(const double* x, int64_t n) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        for (int l = 0; l < 8; ++l) acc[l] += x[j + l];
    }
    for (int l = 0; j < n; ++j, ++l) acc[l] += x[j];
    return lane_total(acc);
}

// ---- Free energy

// Per-thread buffers of free_energy_rows: one row's softplus arguments, their e^-|x|, the terms.
struct FreeEnergyScratch {
    explicit FreeEnergyScratch(int64_t n_hidden) : x((size_t)n_hidden), e((size_t)n_hidden), terms((size_t)n_hidden) {}
    std::vector<double> x, e, terms;
};

// free_energy_row of fastgen/rbm.h, the same operations in three passes over the row (the
// arguments and their e^-|x|, the softplus terms, then lane_sum: unit j into partial sum j % 8),
// which the compiler vectorises where the per-unit loop there does not.
template <typename T>
inline double free_energy_row_passes(const T* __restrict logits_row, const T* __restrict hidden_bias, int64_t n_hidden,
                                     T scale, double vb, FreeEnergyScratch& s) {
    double* __restrict x = s.x.data();
    double* __restrict e = s.e.data();
    double* __restrict terms = s.terms.data();
    for (int64_t j = 0; j < n_hidden; ++j) {
        x[j] = free_energy_argument<T>(logits_row[j], hidden_bias[j], scale);
        e[j] = softplus_exp(x[j]);
    }
    for (int64_t j = 0; j < n_hidden; ++j) terms[j] = softplus_given_exp(x[j], e[j]);
    static_assert(kFreeEnergyLanes == 8, "lane_sum sums in eight lanes");
    return -vb - lane_sum(terms, n_hidden);
}

// out[r] = free_energy_row of row r of (rows, n_hidden) logits at scale row_scale[r]. A row
// costs about as much as an epilogue row, hence the epilogues' threshold.
template <typename T>
void free_energy_rows(const T* logits, const T* hidden_bias, const T* row_scale, const double* visible_term,
                      int64_t rows, int64_t n_hidden, double* out) {
    const int n_threads = team_size(rows * n_hidden >= kParallelWork);
    ThreadBuffers<FreeEnergyScratch> scratch(n_threads, n_hidden);
#pragma omp parallel num_threads(n_threads)
    {
        FreeEnergyScratch& mine = scratch.mine();
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
            out[r] = free_energy_row_passes<T>(logits + r * n_hidden, hidden_bias, n_hidden, row_scale[r],
                                               visible_term[r], mine);
        }
    }
}

// increment[j] = ais_hidden_increment(sum[j] + c[j], beta, beta_prev) for the n hidden units of
// one chain, its two softplus in two passes (softplus_exp, then softplus_given_exp: the same
// operations). One pass with everything ran 1.27x slower (thread CPU time, 784 x 500).
template <typename T>
inline void hidden_increments(const T* __restrict sum, const T* __restrict c, int64_t n, double beta,
                              double beta_prev, double* __restrict exp_x, double* __restrict exp_y,
                              double* __restrict increment) {
    for (int64_t j = 0; j < n; ++j) {
        const double a = (double)(sum[j] + c[j]);
        exp_x[j] = softplus_exp(beta * a);
        exp_y[j] = softplus_exp(beta_prev * a);
    }
    for (int64_t j = 0; j < n; ++j) {
        const double a = (double)(sum[j] + c[j]);
        increment[j] = softplus_given_exp(beta * a, exp_x[j]) - softplus_given_exp(beta_prev * a, exp_y[j]);
    }
}

// A block of chains that one thread walks through all betas in step, so that each strip
// of W read into its cache serves every chain of the block (strip_products).
template <typename T>
struct AisBlock {
    AisBlock(int64_t max_chains, int64_t n_visible, int64_t n_hidden)
        : v((size_t)(max_chains * n_visible)), h((size_t)(max_chains * n_hidden)), prob_v((size_t)n_visible),
          prob_h((size_t)n_hidden), sum_v(max_chains * Strips<T>::padded(n_hidden)),
          sum_h(max_chains * Strips<T>::padded(n_visible)), increment((size_t)n_hidden), exp_x((size_t)n_hidden),
          exp_y((size_t)n_hidden), row_v(n_visible),
          row_h(n_hidden) {
        // active_units fills these inside the parallel region: their room is taken here
        offsets.reserve((size_t)(max_chains + 1));
        ones.reserve((size_t)(max_chains * std::max(n_visible, n_hidden)));
    }
    std::vector<T> v, h;            // the chains' states, one row per chain
    std::vector<T> prob_v, prob_h;  // one row's probabilities (not kept)
    Aligned64<T> sum_v, sum_h;      // v W and h W^T, one padded row per chain
    std::vector<double> increment;  // per hidden unit, one chain and step
    std::vector<double> exp_x, exp_y;  // hidden_increments' first pass
    std::vector<int64_t> offsets;
    std::vector<int64_t> ones;
    RowScratch<T> row_v, row_h;
};

// The log importance weights of chains [first, first + n) (fastgen/rbm.h gives the algorithm).
template <typename T>
void ais_block(const AisRun<T>& run, const AisProducts<T>& products, int64_t first, int64_t n, AisBlock<T>& s,
               double* log_w) {
    const int64_t nv = run.n_visible, nh = run.n_hidden;
    const int64_t stride_v = products.W.stride, stride_h = products.Wt.stride;
    const T *b = run.b, *c = run.c, *base = run.base;
    for (int64_t r = 0; r < n; ++r) {
        bernoulli_row_of<T>((uint64_t)((first + r) * nv), nv, [=](uint64_t i) { return base[i]; }, s.prob_v.data(),
                            s.v.data() + r * nv, run.seed, 0, STREAM_INIT, s.row_v);
        log_w[r] = 0.0;
    }
    for (int64_t k = 1; k < run.n_betas; ++k) {
        const double beta = run.betas[k], beta_prev = run.betas[k - 1];
        const bool last = k == run.n_betas - 1;
        const T tbeta = (T)beta;
        active_units<T>(s.v.data(), n, nv, s.offsets, s.ones);
        strip_products<T>(products.W, s.v.data(), n, nv, s.offsets, s.ones, s.sum_v.data());
        for (int64_t r = 0; r < n; ++r) {
            const T* __restrict sum = s.sum_v.data() + r * stride_v;
            double* __restrict increment = s.increment.data();
            double visible_term = 0.0;
            for (int64_t q = s.offsets[r]; q < s.offsets[r + 1]; ++q) visible_term += run.visible_gain[s.ones[q]];
            hidden_increments<T>(sum, c, nh, beta, beta_prev, s.exp_x.data(), s.exp_y.data(), increment);
            log_w[r] += (beta - beta_prev) * visible_term + lane_sum(increment, nh);
            if (!last) {
                bernoulli_row_of<T>((uint64_t)((first + r) * nh), nh, [=](uint64_t j) { return tbeta * (sum[j] + c[j]); },
                                    s.prob_h.data(), s.h.data() + r * nh, run.seed, (uint32_t)k, STREAM_HIDDEN, s.row_h);
            }
        }
        if (last) {
            break;
        }
        active_units<T>(s.h.data(), n, nh, s.offsets, s.ones);
        strip_products<T>(products.Wt, s.h.data(), n, nh, s.offsets, s.ones, s.sum_h.data());
        for (int64_t r = 0; r < n; ++r) {
            const T* __restrict sum = s.sum_h.data() + r * stride_h;
            bernoulli_row_of<T>((uint64_t)((first + r) * nv), nv,
                                [=](uint64_t i) { return ais_visible_logit<T>(sum[i], b[i], base[i], tbeta); },
                                s.prob_v.data(), s.v.data() + r * nv, run.seed, (uint32_t)k, STREAM_VISIBLE, s.row_v);
        }
    }
}

// The log weights of chains [first_chain, first_chain + n_chains) into log_w[0 .. n_chains):
// blocks of chains, one thread per block (AIS is always long enough for every thread). A
// chain's draws depend on its index only, so a range of chains run alone (on a Dask worker)
// gives the weights the whole run gives them.
template <typename T>
void ais_chains(const AisRun<T>& run, int64_t first_chain, int64_t n_chains, double* log_w) {
    const int n_threads = team_size(true);
    constexpr int64_t kMaxBlock = 64;  // chains per block: their states stay small next to a strip of W
    const int64_t block = std::max<int64_t>(1, std::min(kMaxBlock, (n_chains + n_threads - 1) / n_threads));
    const int64_t n_blocks = (n_chains + block - 1) / block;
    const AisProducts<T> products(run);
    ThreadBuffers<AisBlock<T>> scratch(n_threads, block, run.n_visible, run.n_hidden);
#pragma omp parallel num_threads(n_threads)
    {
        AisBlock<T>& mine = scratch.mine();
#pragma omp for schedule(dynamic, 1)
        for (int64_t q = 0; q < n_blocks; ++q) {
            const int64_t first = q * block;
            ais_block<T>(run, products, first_chain + first, std::min(block, n_chains - first), mine, log_w + first);
        }
    }
}

}  // namespace cpu
}  // namespace fastgen
