// Philox draws (csrc/include/fastgen/random.h), compiled at run time by NVRTC (CuPy
// RawModule) with csrc/include on the include path: the uniforms and normals of a draw
// (seed, call, stream), and random binary states. One thread per Philox block of four
// elements, so the values are those of the CPU backends whatever the launch geometry.
#include "fastgen/random.h"

using namespace fastgen;

// Elements first .. first + n - 1 of each draw (first > 0: a block of a batch split over
// processes), element i at out[i - first]; thread k takes the Philox block first / 4 + k.
template <typename T>
__device__ void random_binary_impl(T* state, uint64_t n, uint64_t first, uint64_t seed, uint32_t call) {
    const uint64_t g0 = first / 4, n_groups = (first + n + 3) / 4 - g0;
    for (uint64_t g = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; g < n_groups;
         g += (uint64_t)gridDim.x * blockDim.x) {
        coin_group<T>(g0 + g, first, first + n, state, seed, call);
    }
}

extern "C" {

__global__ void uniforms(float* out, uint64_t n, uint64_t first, uint64_t seed, uint32_t call, uint32_t stream) {
    const uint64_t g0 = first / 4, n_groups = (first + n + 3) / 4 - g0;
    for (uint64_t g = g0 + (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; g < g0 + n_groups;
         g += (uint64_t)gridDim.x * blockDim.x) {
        const u32x4 words = philox_block(seed, call, stream, g);
        for (uint64_t k = 0, i = g * 4; k < 4 && i < first + n; ++k, ++i) {
            if (i >= first) {
                out[i - first] = uniform_open01(words.v[k]);
            }
        }
    }
}

__global__ void normals(float* out, uint64_t n, uint64_t first, uint64_t seed, uint32_t call, uint32_t stream) {
    const uint64_t g0 = first / 4, n_groups = (first + n + 3) / 4 - g0;
    for (uint64_t g = g0 + (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; g < g0 + n_groups;
         g += (uint64_t)gridDim.x * blockDim.x) {
        float z[4];
        normal_block(seed, call, stream, g, z);
        for (uint64_t k = 0, i = g * 4; k < 4 && i < first + n; ++k, ++i) {
            if (i >= first) {
                out[i - first] = z[k];
            }
        }
    }
}

__global__ void random_binary_f32(float* state, uint64_t n, uint64_t first, uint64_t seed, uint32_t call) {
    random_binary_impl<float>(state, n, first, seed, call);
}

__global__ void random_binary_f64(double* state, uint64_t n, uint64_t first, uint64_t seed, uint32_t call) {
    random_binary_impl<double>(state, n, first, seed, call);
}

}  // extern "C"
