// Annealed importance sampling for the binary RBM (csrc/include/fastgen/ais.h), the whole
// annealing run in one launch: each block owns chains and walks every beta without
// returning to the host, the chain's states in shared memory, one thread per unit.
// A thread skips the rows of W whose input unit is off (the branch is uniform across the
// warp), so the products cost in proportion to the ones, like the CPU's selected rows.
#include "fastgen/ais.h"

using namespace fastgen;

__device__ float draw_uniform(uint64_t seed, uint32_t call, uint32_t stream, uint64_t element) {
    return uniform_open01(philox_block(seed, call, stream, element / 4).v[element % 4]);
}

template <typename T>
__device__ void ais_rbm_impl(const T* W, const T* Wt, const T* b, const T* c, const T* base, const double* gain,
                             const double* betas, int64_t n_betas, uint64_t nv, uint64_t nh, uint64_t seed,
                             uint64_t n_chains, double* log_w) {
    extern __shared__ double shared[];  // blockDim.x partial sums, then v (nv) and h (nh)
    double* partial = shared;
    T* v = (T*)(shared + blockDim.x);
    T* h = v + nv;
    for (uint64_t chain = blockIdx.x; chain < n_chains; chain += gridDim.x) {
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
        if (threadIdx.x == 0) log_w[chain] = partial[0];
        __syncthreads();
    }
}

extern "C" {

#define FASTGEN_AIS_KERNEL(NAME, T)                                                                          \
    __global__ void NAME(const T* W, const T* Wt, const T* b, const T* c, const T* base, const double* gain, \
                         const double* betas, int64_t n_betas, uint64_t nv, uint64_t nh, uint64_t seed,     \
                         uint64_t n_chains, double* log_w) {                                                 \
        ais_rbm_impl<T>(W, Wt, b, c, base, gain, betas, n_betas, nv, nh, seed, n_chains, log_w);             \
    }
FASTGEN_AIS_KERNEL(ais_rbm_f32, float)
FASTGEN_AIS_KERNEL(ais_rbm_f64, double)
#undef FASTGEN_AIS_KERNEL
}
