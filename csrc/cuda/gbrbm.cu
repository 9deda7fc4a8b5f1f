// Gaussian-Bernoulli RBM visible epilogue, compiled at run time by NVRTC (CuPy RawModule)
// with csrc/include on the include path. One thread per Philox block of four elements, so
// the normals are those of the CPU backends whatever the launch geometry.
#include "fastgen/gbrbm.h"

using namespace fastgen;

template <typename T>
__device__ void gaussian_impl(const T* products, const T* bias, const T* sigma, T* mean, T* state, uint64_t n,
                              uint64_t n_cols, uint64_t first_row, uint64_t seed, uint32_t call, uint32_t stream) {
    // the arrays hold elements begin .. begin + n - 1 of the whole batch's draws
    const uint64_t begin = first_row * n_cols, g0 = begin / 4, n_groups = (begin + n + 3) / 4 - g0;
    for (uint64_t g = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; g < n_groups;
         g += (uint64_t)gridDim.x * blockDim.x) {
        gaussian_group<T>(g0 + g, begin, begin + n, n_cols, products, bias, sigma, mean, state, seed, call, stream);
    }
}

extern "C" {

__global__ void gaussian_f32(const float* products, const float* bias, const float* sigma, float* mean, float* state,
                             uint64_t n, uint64_t n_cols, uint64_t first_row, uint64_t seed, uint32_t call,
                             uint32_t stream) {
    gaussian_impl<float>(products, bias, sigma, mean, state, n, n_cols, first_row, seed, call, stream);
}

__global__ void gaussian_f64(const double* products, const double* bias, const double* sigma, double* mean,
                             double* state, uint64_t n, uint64_t n_cols, uint64_t first_row, uint64_t seed,
                             uint32_t call, uint32_t stream) {
    gaussian_impl<double>(products, bias, sigma, mean, state, n, n_cols, first_row, seed, call, stream);
}

}  // extern "C"
