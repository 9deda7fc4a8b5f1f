// CPU loop structure of the MMD kernels: how rows of a GEMM tile of dot products, or a
// vector of paired dot products, are walked by threads over the per-pair math of
// csrc/include/fastgen/mmd.h. No Python here (mmd.cpp binds).
//
// Determinism: a sum is taken per row (per block of kMmdPairBlock pairs) in index order
// into a float64 buffer, and the buffer is added in order by the calling thread, so the
// result is the same for any number of threads.
#pragma once
#include <stdint.h>

#include <algorithm>
#include <vector>

#include "fastgen/mmd.h"
#include "parallel.h"

namespace fastgen {
namespace cpu {

// Kernel evaluations below which a loop stays on one thread: one evaluation (an exp or a
// few multiplications) costs some 5-20 ns, so 2^14 of them are about the cost of waking a
// team of threads ten times over.
constexpr int64_t kMmdParallelWork = 1 << 14;
// Pairs per partial sum of pair_sum: the unit of its fixed-order reduction.
constexpr int64_t kMmdPairBlock = 1024;

// The parameters of one kernel (layout in fastgen/mmd.h).
struct MmdKernelParams {
    int kind;
    const double* params;
    int64_t n_params;
};

// Sum of k over row i of a tile (cols values), the pair (i, i) handled as `diagonal` says.
template <typename T, int Kind>
double row_sum_of(const T* __restrict g, int64_t i, int64_t cols, double x_norm, const double* __restrict y_norm,
                  const double* params, int64_t n_params, int diagonal) {
    double total = 0.0;
    const int64_t split = diagonal == MMD_DIAGONAL_NONE ? cols : i;
    for (int64_t j = 0; j < split; ++j) {
        total += kernel_value<Kind>(params, n_params, (double)g[j], squared_distance((double)g[j], x_norm, y_norm[j]));
    }
    if (diagonal == MMD_DIAGONAL_NONE) return total;
    if (diagonal == MMD_DIAGONAL_INCLUDE) total += kernel_value<Kind>(params, n_params, (double)g[i], 0.0);
    for (int64_t j = i + 1; j < cols; ++j) {
        total += kernel_value<Kind>(params, n_params, (double)g[j], squared_distance((double)g[j], x_norm, y_norm[j]));
    }
    return total;
}

// In place: row i of a tile of dot products becomes the pairs' gradient weights
// (kernel_weight); an excluded diagonal pair gets weight 0.
template <typename T, int Kind>
void row_weights_of(T* __restrict g, int64_t i, int64_t cols, double x_norm, const double* __restrict y_norm,
                    const double* params, int64_t n_params, int diagonal) {
    for (int64_t j = 0; j < cols; ++j) {
        const double d2 = diagonal != MMD_DIAGONAL_NONE && j == i ? 0.0 : squared_distance((double)g[j], x_norm, y_norm[j]);
        g[j] = (T)kernel_weight<Kind>(params, n_params, (double)g[j], d2);
    }
    if (diagonal == MMD_DIAGONAL_EXCLUDE) g[i] = T(0);
}

// The kernel is chosen once per row (or block of pairs), so that the inner loops hold no
// branch on it.
template <typename T>
double tile_row_sum(const MmdKernelParams& k, const T* g, int64_t i, int64_t cols, const double* x_norm,
                    const double* y_norm, int diagonal) {
    switch (k.kind) {
        case MMD_GAUSSIAN:
            return row_sum_of<T, MMD_GAUSSIAN>(g, i, cols, x_norm[i], y_norm, k.params, k.n_params, diagonal);
        case MMD_LAPLACIAN:
            return row_sum_of<T, MMD_LAPLACIAN>(g, i, cols, x_norm[i], y_norm, k.params, k.n_params, diagonal);
        default:
            return row_sum_of<T, MMD_POLYNOMIAL>(g, i, cols, x_norm[i], y_norm, k.params, k.n_params, diagonal);
    }
}

template <typename T>
void tile_row_weights(const MmdKernelParams& k, T* g, int64_t i, int64_t cols, const double* x_norm,
                      const double* y_norm, int diagonal) {
    switch (k.kind) {
        case MMD_GAUSSIAN:
            return row_weights_of<T, MMD_GAUSSIAN>(g, i, cols, x_norm[i], y_norm, k.params, k.n_params, diagonal);
        case MMD_LAPLACIAN:
            return row_weights_of<T, MMD_LAPLACIAN>(g, i, cols, x_norm[i], y_norm, k.params, k.n_params, diagonal);
        default:
            return row_weights_of<T, MMD_POLYNOMIAL>(g, i, cols, x_norm[i], y_norm, k.params, k.n_params, diagonal);
    }
}

template <typename T, int Kind>
double pair_block_sum_of(const T* __restrict g, const double* __restrict a_norm, const double* __restrict b_norm,
                         int64_t count, const double* params, int64_t n_params) {
    double total = 0.0;
    for (int64_t p = 0; p < count; ++p) {
        total += kernel_value<Kind>(params, n_params, (double)g[p], squared_distance((double)g[p], a_norm[p], b_norm[p]));
    }
    return total;
}

template <typename T, int Kind>
void pair_block_weights_of(T* __restrict g, const double* __restrict a_norm, const double* __restrict b_norm,
                           int64_t count, const double* params, int64_t n_params) {
    for (int64_t p = 0; p < count; ++p) {
        g[p] = (T)kernel_weight<Kind>(params, n_params, (double)g[p], squared_distance((double)g[p], a_norm[p], b_norm[p]));
    }
}

template <typename T>
double pair_block_sum(const MmdKernelParams& k, const T* g, const double* a_norm, const double* b_norm, int64_t count) {
    switch (k.kind) {
        case MMD_GAUSSIAN: return pair_block_sum_of<T, MMD_GAUSSIAN>(g, a_norm, b_norm, count, k.params, k.n_params);
        case MMD_LAPLACIAN: return pair_block_sum_of<T, MMD_LAPLACIAN>(g, a_norm, b_norm, count, k.params, k.n_params);
        default: return pair_block_sum_of<T, MMD_POLYNOMIAL>(g, a_norm, b_norm, count, k.params, k.n_params);
    }
}

template <typename T>
void pair_block_weights(const MmdKernelParams& k, T* g, const double* a_norm, const double* b_norm, int64_t count) {
    switch (k.kind) {
        case MMD_GAUSSIAN: return pair_block_weights_of<T, MMD_GAUSSIAN>(g, a_norm, b_norm, count, k.params, k.n_params);
        case MMD_LAPLACIAN:
            return pair_block_weights_of<T, MMD_LAPLACIAN>(g, a_norm, b_norm, count, k.params, k.n_params);
        default: return pair_block_weights_of<T, MMD_POLYNOMIAL>(g, a_norm, b_norm, count, k.params, k.n_params);
    }
}

// sum_ij k(x_i, y_j) over a (rows, cols) tile G of dot products x_i.y_j, with the squared
// norms x_norm (rows) and y_norm (cols); `diagonal` (MmdDiagonal) for a square tile on the
// diagonal of a symmetric block.
template <typename T>
double tile_sum(const T* G, int64_t rows, int64_t cols, const double* x_norm, const double* y_norm,
                const MmdKernelParams& k, int diagonal) {
    std::vector<double> row_sums((size_t)rows);
    const int n_threads = team_size(rows * cols >= kMmdParallelWork);
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
        row_sums[(size_t)i] = tile_row_sum<T>(k, G + i * cols, i, cols, x_norm, y_norm, diagonal);
    }
    double total = 0.0;
    for (const double s : row_sums) total += s;
    return total;
}

// In place: the tile G of dot products becomes the pairs' gradient weights.
template <typename T>
void tile_weights(T* G, int64_t rows, int64_t cols, const double* x_norm, const double* y_norm,
                  const MmdKernelParams& k, int diagonal) {
    const int n_threads = team_size(rows * cols >= kMmdParallelWork);
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
        tile_row_weights<T>(k, G + i * cols, i, cols, x_norm, y_norm, diagonal);
    }
}

// sum_p k(a_p, b_p) over n pairs given by their dot products g (n) and squared norms
// a_norm, b_norm (n): the linear-time estimator's terms.
template <typename T>
double pair_sum(const T* g, const double* a_norm, const double* b_norm, int64_t n, const MmdKernelParams& k) {
    const int64_t n_blocks = (n + kMmdPairBlock - 1) / kMmdPairBlock;
    std::vector<double> block_sums((size_t)n_blocks);
    const int n_threads = team_size(n >= kMmdParallelWork);
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t b = 0; b < n_blocks; ++b) {
        const int64_t first = b * kMmdPairBlock, count = std::min(kMmdPairBlock, n - first);
        block_sums[(size_t)b] = pair_block_sum<T>(k, g + first, a_norm + first, b_norm + first, count);
    }
    double total = 0.0;
    for (const double s : block_sums) total += s;
    return total;
}

// In place: the n paired dot products g become the pairs' gradient weights.
template <typename T>
void pair_weights(T* g, const double* a_norm, const double* b_norm, int64_t n, const MmdKernelParams& k) {
    const int64_t n_blocks = (n + kMmdPairBlock - 1) / kMmdPairBlock;
    const int n_threads = team_size(n >= kMmdParallelWork);
#pragma omp parallel for num_threads(n_threads) schedule(static)
    for (int64_t b = 0; b < n_blocks; ++b) {
        const int64_t first = b * kMmdPairBlock, count = std::min(kMmdPairBlock, n - first);
        pair_block_weights<T>(k, g + first, a_norm + first, b_norm + first, count);
    }
}

}  // namespace cpu
}  // namespace fastgen
