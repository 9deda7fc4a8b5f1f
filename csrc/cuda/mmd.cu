// MMD kernels, compiled at run time by NVRTC (CuPy RawModule) with csrc/include on the
// include path: the fused passes over a cuBLAS GEMM tile of dot products (or a vector of
// paired dot products) of csrc/include/fastgen/mmd.h. Sums are per row (per block of pairs)
// in index order, one thread per row, into a float64 buffer that fastgen/mmd/_cuda.py adds
// up: the same result whatever the launch geometry.
#include "fastgen/mmd.h"

using namespace fastgen;

template <typename T, int Kind>
__device__ double row_sum(const T* g, uint64_t i, int64_t cols, double x_norm, const double* y_norm,
                          const double* params, int64_t n_params, int diagonal) {
    double total = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
        if (diagonal != MMD_DIAGONAL_NONE && (uint64_t)j == i) {
            if (diagonal == MMD_DIAGONAL_INCLUDE) total += kernel_value<Kind>(params, n_params, (double)g[j], 0.0);
            continue;
        }
        total += kernel_value<Kind>(params, n_params, (double)g[j], squared_distance((double)g[j], x_norm, y_norm[j]));
    }
    return total;
}

template <typename T, int Kind>
__device__ void row_weights(T* g, uint64_t i, int64_t cols, double x_norm, const double* y_norm, const double* params,
                            int64_t n_params, int diagonal) {
    for (int64_t j = 0; j < cols; ++j) {
        const bool on_diagonal = diagonal != MMD_DIAGONAL_NONE && (uint64_t)j == i;
        const double d2 = on_diagonal ? 0.0 : squared_distance((double)g[j], x_norm, y_norm[j]);
        g[j] = on_diagonal && diagonal == MMD_DIAGONAL_EXCLUDE ? T(0) : (T)kernel_weight<Kind>(params, n_params, (double)g[j], d2);
    }
}

// row_sums[i] = the sum of k over row i of the tile G (rows, cols).
template <typename T>
__device__ void tile_sum_impl(const T* G, uint64_t rows, int64_t cols, const double* x_norm, const double* y_norm,
                              int kind, const double* params, int64_t n_params, int diagonal, double* row_sums) {
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < rows; i += (uint64_t)gridDim.x * blockDim.x) {
        const T* g = G + i * (uint64_t)cols;
        double s;
        if (kind == MMD_GAUSSIAN) {
            s = row_sum<T, MMD_GAUSSIAN>(g, i, cols, x_norm[i], y_norm, params, n_params, diagonal);
        } else if (kind == MMD_LAPLACIAN) {
            s = row_sum<T, MMD_LAPLACIAN>(g, i, cols, x_norm[i], y_norm, params, n_params, diagonal);
        } else {
            s = row_sum<T, MMD_POLYNOMIAL>(g, i, cols, x_norm[i], y_norm, params, n_params, diagonal);
        }
        row_sums[i] = s;
    }
}

template <typename T>
__device__ void tile_weights_impl(T* G, uint64_t rows, int64_t cols, const double* x_norm, const double* y_norm,
                                  int kind, const double* params, int64_t n_params, int diagonal) {
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < rows; i += (uint64_t)gridDim.x * blockDim.x) {
        T* g = G + i * (uint64_t)cols;
        if (kind == MMD_GAUSSIAN) {
            row_weights<T, MMD_GAUSSIAN>(g, i, cols, x_norm[i], y_norm, params, n_params, diagonal);
        } else if (kind == MMD_LAPLACIAN) {
            row_weights<T, MMD_LAPLACIAN>(g, i, cols, x_norm[i], y_norm, params, n_params, diagonal);
        } else {
            row_weights<T, MMD_POLYNOMIAL>(g, i, cols, x_norm[i], y_norm, params, n_params, diagonal);
        }
    }
}

// values[p] = k(a_p, b_p), or (weights) the pair's gradient weight written over g[p].
template <typename T>
__device__ void pair_impl(T* g, uint64_t n, const double* a_norm, const double* b_norm, int kind,
                          const double* params, int64_t n_params, bool weights, double* values) {
    for (uint64_t p = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; p < n; p += (uint64_t)gridDim.x * blockDim.x) {
        const double gp = (double)g[p], d2 = squared_distance(gp, a_norm[p], b_norm[p]);
        if (weights) {
            g[p] = (T)(kind == MMD_GAUSSIAN    ? kernel_weight<MMD_GAUSSIAN>(params, n_params, gp, d2)
                       : kind == MMD_LAPLACIAN ? kernel_weight<MMD_LAPLACIAN>(params, n_params, gp, d2)
                                               : kernel_weight<MMD_POLYNOMIAL>(params, n_params, gp, d2));
        } else {
            values[p] = kind == MMD_GAUSSIAN    ? kernel_value<MMD_GAUSSIAN>(params, n_params, gp, d2)
                        : kind == MMD_LAPLACIAN ? kernel_value<MMD_LAPLACIAN>(params, n_params, gp, d2)
                                                : kernel_value<MMD_POLYNOMIAL>(params, n_params, gp, d2);
        }
    }
}

extern "C" {

__global__ void mmd_tile_sum_f32(const float* G, uint64_t rows, int64_t cols, const double* x_norm,
                                 const double* y_norm, int kind, const double* params, int64_t n_params, int diagonal,
                                 double* row_sums) {
    tile_sum_impl<float>(G, rows, cols, x_norm, y_norm, kind, params, n_params, diagonal, row_sums);
}

__global__ void mmd_tile_sum_f64(const double* G, uint64_t rows, int64_t cols, const double* x_norm,
                                 const double* y_norm, int kind, const double* params, int64_t n_params, int diagonal,
                                 double* row_sums) {
    tile_sum_impl<double>(G, rows, cols, x_norm, y_norm, kind, params, n_params, diagonal, row_sums);
}

__global__ void mmd_tile_weights_f32(float* G, uint64_t rows, int64_t cols, const double* x_norm,
                                     const double* y_norm, int kind, const double* params, int64_t n_params,
                                     int diagonal) {
    tile_weights_impl<float>(G, rows, cols, x_norm, y_norm, kind, params, n_params, diagonal);
}

__global__ void mmd_tile_weights_f64(double* G, uint64_t rows, int64_t cols, const double* x_norm,
                                     const double* y_norm, int kind, const double* params, int64_t n_params,
                                     int diagonal) {
    tile_weights_impl<double>(G, rows, cols, x_norm, y_norm, kind, params, n_params, diagonal);
}

__global__ void mmd_pairs_f32(float* g, uint64_t n, const double* a_norm, const double* b_norm, int kind,
                              const double* params, int64_t n_params, bool weights, double* values) {
    pair_impl<float>(g, n, a_norm, b_norm, kind, params, n_params, weights, values);
}

__global__ void mmd_pairs_f64(double* g, uint64_t n, const double* a_norm, const double* b_norm, int kind,
                              const double* params, int64_t n_params, bool weights, double* values) {
    pair_impl<double>(g, n, a_norm, b_norm, kind, params, n_params, weights, values);
}

}  // extern "C"
