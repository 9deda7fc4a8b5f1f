// CPU loop of the Gaussian-Bernoulli RBM's visible half-step: rows and threads over the
// per-element math of csrc/include/fastgen/gbrbm.h. No Python here (gbrbm.cpp binds).
#pragma once
#include <stdint.h>

#include <vector>

#include "fastgen/gbrbm.h"
#include "random.h"

namespace fastgen {
namespace cpu {

// v ~ N(products + bias, sigma^2) for (rows, n_cols) arrays: mean = products + bias, state =
// mean + sigma z, the normals of each row drawn into a buffer first (row_normals, which
// vectorises) and then combined. `mean` may be `products` itself. Row r draws the normals of
// row first_row + r of the draw, so that a range of rows (AIS chains on a Dask worker) drawn
// alone gets the values the whole batch gives it.
template <typename T>
inline void gaussian_rows(int64_t rows, int64_t n_cols, const T* products, const T* bias, const T* sigma, T* mean,
                          T* state, uint64_t seed, uint32_t call, uint32_t stream, uint64_t first_row = 0) {
    const int n_threads = team_size(rows * n_cols >= kParallelWork);
    ThreadBuffers<std::vector<float>> buffers(n_threads, (size_t)(3 * n_cols + 4));
#pragma omp parallel num_threads(n_threads)
    {
        float* u = buffers.mine().data();  // 2 (n_cols + 2) for row_normals, then z
        float* z = u + 2 * (n_cols + 2);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t at = r * n_cols;
            row_normals((first_row + (uint64_t)r) * (uint64_t)n_cols, (uint64_t)n_cols, seed, call, stream, u, z);
            for (int64_t j = 0; j < n_cols; ++j) {
                gaussian_unit<T>(products[at + j], bias[j], sigma[j], z[j], mean[at + j], state[at + j]);
            }
        }
    }
}

}  // namespace cpu
}  // namespace fastgen
