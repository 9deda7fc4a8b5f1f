// Binary RBM epilogue kernels, compiled at run time by NVRTC (CuPy RawModule) with
// csrc/include on the include path. One thread per Philox block of four elements, so
// the uniforms are those of the CPU backends whatever the launch geometry.
#include "fastgen/rbm.h"

using namespace fastgen;

template <typename T>
__device__ void bernoulli_logits_impl(const T* logits, const T* bias, T* prob, T* state, uint64_t n,
                                      uint64_t n_cols, uint64_t seed, uint32_t call, uint32_t stream) {
    const uint64_t n_groups = (n + 3) / 4;
    for (uint64_t g = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; g < n_groups;
         g += (uint64_t)gridDim.x * blockDim.x) {
        bernoulli_group<T>(g, n, n_cols, logits, bias, prob, state, seed, call, stream);
    }
}

template <typename T>
__device__ void random_binary_impl(T* state, uint64_t n, uint64_t seed, uint32_t call) {
    const uint64_t n_groups = (n + 3) / 4;
    for (uint64_t g = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; g < n_groups;
         g += (uint64_t)gridDim.x * blockDim.x) {
        coin_group<T>(g, n, state, seed, call);
    }
}

template <typename T>
__device__ void free_energy_impl(const T* logits, const T* hidden_bias, const double* visible_term,
                                 double* out, uint64_t rows, uint64_t n_hidden) {
    for (uint64_t r = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; r < rows;
         r += (uint64_t)gridDim.x * blockDim.x) {
        out[r] = free_energy_row<T>(logits + r * n_hidden, hidden_bias, n_hidden, visible_term[r]);
    }
}

extern "C" {

__global__ void uniforms(float* out, uint64_t n, uint64_t seed, uint32_t call, uint32_t stream) {
    const uint64_t n_groups = (n + 3) / 4;
    for (uint64_t g = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; g < n_groups;
         g += (uint64_t)gridDim.x * blockDim.x) {
        const u32x4 words = philox_block(seed, call, stream, g);
        for (uint64_t k = 0; k < 4 && g * 4 + k < n; ++k) {
            out[g * 4 + k] = uniform_open01(words.v[k]);
        }
    }
}

__global__ void bernoulli_logits_f32(const float* logits, const float* bias, float* prob, float* state,
                                     uint64_t n, uint64_t n_cols, uint64_t seed, uint32_t call,
                                     uint32_t stream) {
    bernoulli_logits_impl<float>(logits, bias, prob, state, n, n_cols, seed, call, stream);
}

__global__ void bernoulli_logits_f64(const double* logits, const double* bias, double* prob, double* state,
                                     uint64_t n, uint64_t n_cols, uint64_t seed, uint32_t call,
                                     uint32_t stream) {
    bernoulli_logits_impl<double>(logits, bias, prob, state, n, n_cols, seed, call, stream);
}

__global__ void random_binary_f32(float* state, uint64_t n, uint64_t seed, uint32_t call) {
    random_binary_impl<float>(state, n, seed, call);
}

__global__ void random_binary_f64(double* state, uint64_t n, uint64_t seed, uint32_t call) {
    random_binary_impl<double>(state, n, seed, call);
}

__global__ void free_energy_f32(const float* logits, const float* hidden_bias, const double* visible_term,
                                double* out, uint64_t rows, uint64_t n_hidden) {
    free_energy_impl<float>(logits, hidden_bias, visible_term, out, rows, n_hidden);
}

__global__ void free_energy_f64(const double* logits, const double* hidden_bias, const double* visible_term,
                                double* out, uint64_t rows, uint64_t n_hidden) {
    free_energy_impl<double>(logits, hidden_bias, visible_term, out, rows, n_hidden);
}

}  // extern "C"
