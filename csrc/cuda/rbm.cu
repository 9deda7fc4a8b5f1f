// Binary RBM kernels, compiled at run time by NVRTC (CuPy RawModule) with csrc/include
// on the include path: the epilogues, one thread per Philox block of four elements, so
// the uniforms are those of the CPU backends whatever the launch geometry; free energies;
// AIS (below).
#include "fastgen/rbm.h"

using namespace fastgen;

template <typename T>
__device__ void bernoulli_logits_impl(const T* logits, const T* bias, T* prob, T* state, uint64_t n,
                                      uint64_t n_cols, uint64_t first_row, uint64_t seed, uint32_t call,
                                      uint32_t stream) {
    // the arrays hold elements begin .. begin + n - 1 of the whole batch's draws
    const uint64_t begin = first_row * n_cols, g0 = begin / 4, n_groups = (begin + n + 3) / 4 - g0;
    for (uint64_t g = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; g < n_groups;
         g += (uint64_t)gridDim.x * blockDim.x) {
        bernoulli_group<T>(g0 + g, begin, begin + n, n_cols, logits, bias, prob, state, seed, call, stream);
    }
}

template <typename T>
__device__ void free_energy_impl(const T* logits, const T* hidden_bias, const T* row_scale,
                                 const double* visible_term, double* out, uint64_t rows, uint64_t n_hidden) {
    for (uint64_t r = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; r < rows;
         r += (uint64_t)gridDim.x * blockDim.x) {
        out[r] = free_energy_row<T>(logits + r * n_hidden, hidden_bias, n_hidden, row_scale[r], visible_term[r]);
    }
}

// ---- AIS
// Annealed importance sampling for the binary RBM (csrc/include/fastgen/rbm.h), the whole
// annealing run in one launch: each block owns chains and walks every beta without
// returning to the host, the chain's states in shared memory, one thread per unit.
// A thread skips the rows of W whose input unit is off (the branch is uniform across the
// warp), so the products cost in proportion to the ones, like the CPU's selected rows.

__device__ float draw_uniform(uint64_t seed, uint32_t call, uint32_t stream, uint64_t element) {
    return uniform_open01(philox_block(seed, call, stream, element / 4).v[element % 4]);
}

template <typename T>
__device__ void ais_rbm_impl(const T* W, const T* Wt, const T* b, const T* c, const T* base, const double* gain,
                             const double* betas, int64_t n_betas, uint64_t nv, uint64_t nh, uint64_t seed,
                             uint64_t first_chain, uint64_t n_chains, double* log_w) {
    extern __shared__ double shared[];  // blockDim.x partial sums, then v (nv) and h (nh)
    double* partial = shared;
    T* v = (T*)(shared + blockDim.x);
    T* h = v + nv;
    for (uint64_t r = blockIdx.x; r < n_chains; r += gridDim.x) {
        const uint64_t chain = first_chain + r;  // draws by the chain's index; log_w by its place here
        for (uint64_t i = threadIdx.x; i < nv; i += blockDim.x) {
            v[i] = bernoulli_state(draw_uniform(seed, 0, STREAM_INIT, chain * nv + i), sigmoid(base[i]));
        }
        __syncthreads();
        double own = 0.0;  // this thread's share of the chain's log weight
        for (int64_t k = 1; k < n_betas; ++k) {
            const double beta = betas[k], beta_prev = betas[k - 1];
            const T tbeta = (T)beta;
            const bool last = k == n_betas - 1;
            for (uint64_t i = threadIdx.x; i < nv; i += blockDim.x) {
                if (v[i] != T(0)) own += (beta - beta_prev) * gain[i];
            }
            for (uint64_t j = threadIdx.x; j < nh; j += blockDim.x) {
                T sum = T(0);
                for (uint64_t i = 0; i < nv; ++i) {
                    if (v[i] != T(0)) sum += W[i * nh + j];
                }
                const T a = sum + c[j];
                own += ais_hidden_increment((double)a, beta, beta_prev);
                if (!last) {
                    h[j] = bernoulli_state(draw_uniform(seed, (uint32_t)k, STREAM_HIDDEN, chain * nh + j),
                                           sigmoid((T)(tbeta * a)));
                }
            }
            __syncthreads();
            if (last) {
                break;
            }
            for (uint64_t i = threadIdx.x; i < nv; i += blockDim.x) {
                T sum = T(0);
                for (uint64_t j = 0; j < nh; ++j) {
                    if (h[j] != T(0)) sum += Wt[j * nv + i];
                }
                v[i] = bernoulli_state(draw_uniform(seed, (uint32_t)k, STREAM_VISIBLE, chain * nv + i),
                                       sigmoid(ais_visible_logit<T>(sum, b[i], base[i], tbeta)));
            }
            __syncthreads();
        }
        partial[threadIdx.x] = own;
        __syncthreads();
        for (unsigned int half = blockDim.x / 2; half > 0; half /= 2) {  // blockDim.x is a power of two
            if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
            __syncthreads();
        }
        if (threadIdx.x == 0) log_w[r] = partial[0];
        __syncthreads();
    }
}

extern "C" {

__global__ void bernoulli_logits_f32(const float* logits, const float* bias, float* prob, float* state,
                                     uint64_t n, uint64_t n_cols, uint64_t first_row, uint64_t seed, uint32_t call,
                                     uint32_t stream) {
    bernoulli_logits_impl<float>(logits, bias, prob, state, n, n_cols, first_row, seed, call, stream);
}

__global__ void bernoulli_logits_f64(const double* logits, const double* bias, double* prob, double* state,
                                     uint64_t n, uint64_t n_cols, uint64_t first_row, uint64_t seed, uint32_t call,
                                     uint32_t stream) {
    bernoulli_logits_impl<double>(logits, bias, prob, state, n, n_cols, first_row, seed, call, stream);
}

__global__ void free_energy_f32(const float* logits, const float* hidden_bias, const float* row_scale,
                                const double* visible_term, double* out, uint64_t rows, uint64_t n_hidden) {
    free_energy_impl<float>(logits, hidden_bias, row_scale, visible_term, out, rows, n_hidden);
}

__global__ void free_energy_f64(const double* logits, const double* hidden_bias, const double* row_scale,
                                const double* visible_term, double* out, uint64_t rows, uint64_t n_hidden) {
    free_energy_impl<double>(logits, hidden_bias, row_scale, visible_term, out, rows, n_hidden);
}

#define FASTGEN_AIS_KERNEL(NAME, T)                                                                          \
    __global__ void NAME(const T* W, const T* Wt, const T* b, const T* c, const T* base, const double* gain, \
                         const double* betas, int64_t n_betas, uint64_t nv, uint64_t nh, uint64_t seed,     \
                         uint64_t first_chain, uint64_t n_chains, double* log_w) {                           \
        ais_rbm_impl<T>(W, Wt, b, c, base, gain, betas, n_betas, nv, nh, seed, first_chain, n_chains, log_w); \
    }
FASTGEN_AIS_KERNEL(ais_rbm_f32, float)
FASTGEN_AIS_KERNEL(ais_rbm_f64, double)
#undef FASTGEN_AIS_KERNEL

}  // extern "C"
