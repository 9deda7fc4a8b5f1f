// NADE kernels (csrc/include/fastgen/nade.h), compiled at run time by NVRTC (CuPy RawModule)
// with csrc/include on the include path. One block per example (grid-stride over the
// examples), its threads sharing the H hidden units: thread t owns units t, t + blockDim, ...
// of the running pre-activation, kept in a global scratch row per block, and the D steps
// run in turn inside the kernel, each dot product V_d . h_d a block reduction in shared
// memory (blockDim.x values of T, blockDim.x a power of two).
//
// The draws are those of the CPU backends (uniform r * D + d of draw (seed, call,
// NADE_STREAM_SAMPLE)); the sums are in another order, so the values agree to rounding.
// The gradient's reverse sweep recovers a_d by subtracting v_d W_d again (no D x H scratch
// per example) and adds each example's gradient to `grad` with atomics.
#include "fastgen/nade.h"
#include "fastgen/random.h"

using namespace fastgen;

// The sum of every thread's `value`; the block's threads all get it.
template <typename T>
__device__ T block_sum(T value, T* partial) {
    partial[threadIdx.x] = value;
    __syncthreads();
    for (unsigned width = blockDim.x / 2; width > 0; width >>= 1) {
        if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
        __syncthreads();
    }
    const T total = partial[0];
    __syncthreads();
    return total;
}

// l_d = b_d + V_d . sigmoid(acc + c), acc this block's scratch row.
template <typename T>
__device__ T nade_logit(const T* V, const T* b, const T* c, int64_t H, int64_t d, const T* acc, T* partial) {
    T part = T(0);
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) part += V[d * H + j] * nade_hidden(acc[j], c[j]);
    return b[d] + block_sum(part, partial);
}

// acc += sign W_d over this thread's units.
template <typename T>
__device__ void add_input_row(const T* W, int64_t H, int64_t d, T sign, T* acc) {
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) acc[j] += sign * W[d * H + j];
}

template <typename T>
__device__ void clear_row(T* row, int64_t H) {
    for (int64_t j = threadIdx.x; j < H; j += blockDim.x) row[j] = T(0);
}

template <typename T>
__device__ void log_likelihood_impl(const T* v, const T* W, const T* V, const T* b, const T* c, int64_t n,
                                    int64_t D, int64_t H, T* scratch, double* out) {
    extern __shared__ unsigned char shared_bytes[];
    T* partial = reinterpret_cast<T*>(shared_bytes);
    T* acc = scratch + (int64_t)blockIdx.x * H;
    for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
        const T* row = v + r * D;
        clear_row(acc, H);
        double log_p = 0.0;
        for (int64_t d = 0; d < D; ++d) {
            const T l = nade_logit(V, b, c, H, d, acc, partial);
            log_p += nade_log_conditional(l, row[d]);
            if (row[d] != T(0)) add_input_row(W, H, d, T(1), acc);
        }
        if (threadIdx.x == 0) out[r] = log_p;
    }
}

// grad (2 D H + D + H, zeroed by the caller: dW, dV, db, dc) += scale * the gradient of
// log p(v_r) of each row; log_p[r] = log p(v_r). scratch: 2 H + D values per block.
template <typename T>
__device__ void gradient_impl(const T* v, const T* W, const T* V, const T* b, const T* c, int64_t n, int64_t D,
                              int64_t H, T scale, T* scratch, T* grad, double* log_p) {
    extern __shared__ unsigned char shared_bytes[];
    T* partial = reinterpret_cast<T*>(shared_bytes);
    T* acc = scratch + (int64_t)blockIdx.x * (2 * H + D);
    T* dacc = acc + H;
    T* logits = dacc + H;
    T* dW = grad;
    T* dV = grad + D * H;
    T* db = dV + D * H;
    T* dc = db + D;
    for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
        const T* row = v + r * D;
        clear_row(acc, H);
        clear_row(dacc, H);
        double total = 0.0;
        for (int64_t d = 0; d < D; ++d) {
            const T l = nade_logit(V, b, c, H, d, acc, partial);
            if (threadIdx.x == 0) logits[d] = l;
            total += nade_log_conditional(l, row[d]);
            if (row[d] != T(0)) add_input_row(W, H, d, T(1), acc);
        }
        if (threadIdx.x == 0) log_p[r] = total;
        __syncthreads();  // the logits, written by thread 0
        for (int64_t d = D - 1; d >= 0; --d) {
            if (row[d] != T(0)) add_input_row(W, H, d, T(-1), acc);  // back to a_d - c
            const T g = row[d] - sigmoid(logits[d]);
            if (threadIdx.x == 0) atomicAdd(db + d, scale * g);
            for (int64_t j = threadIdx.x; j < H; j += blockDim.x) {
                const T h = nade_hidden(acc[j], c[j]);
                if (row[d] != T(0)) atomicAdd(dW + d * H + j, scale * dacc[j]);
                atomicAdd(dV + d * H + j, scale * (g * h));
                dacc[j] += nade_pre_activation_grad(g, V[d * H + j], h);
            }
        }
        for (int64_t j = threadIdx.x; j < H; j += blockDim.x) atomicAdd(dc + j, scale * dacc[j]);
        __syncthreads();  // the next row's logits
    }
}

template <typename T>
__device__ void sample_impl(const T* W, const T* V, const T* b, const T* c, int64_t n, int64_t D, int64_t H,
                            uint64_t seed, uint32_t call, T* scratch, T* out) {
    extern __shared__ unsigned char shared_bytes[];
    T* partial = reinterpret_cast<T*>(shared_bytes);
    T* acc = scratch + (int64_t)blockIdx.x * H;
    for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
        clear_row(acc, H);
        for (int64_t d = 0; d < D; ++d) {
            const T p = sigmoid(nade_logit(V, b, c, H, d, acc, partial));
            const uint64_t element = (uint64_t)(r * D + d);
            const u32x4 words = philox_block(seed, call, NADE_STREAM_SAMPLE, element / 4);
            const T state = nade_visible_state(uniform_open01(words.v[element % 4]), p);
            if (threadIdx.x == 0) out[r * D + d] = state;
            if (state != T(0)) add_input_row(W, H, d, T(1), acc);
        }
    }
}

extern "C" {

__global__ void nade_log_likelihood_f32(const float* v, const float* W, const float* V, const float* b,
                                        const float* c, int64_t n, int64_t D, int64_t H, float* scratch,
                                        double* out) {
    log_likelihood_impl<float>(v, W, V, b, c, n, D, H, scratch, out);
}

__global__ void nade_log_likelihood_f64(const double* v, const double* W, const double* V, const double* b,
                                        const double* c, int64_t n, int64_t D, int64_t H, double* scratch,
                                        double* out) {
    log_likelihood_impl<double>(v, W, V, b, c, n, D, H, scratch, out);
}

__global__ void nade_gradient_f32(const float* v, const float* W, const float* V, const float* b, const float* c,
                                  int64_t n, int64_t D, int64_t H, float scale, float* scratch, float* grad,
                                  double* log_p) {
    gradient_impl<float>(v, W, V, b, c, n, D, H, scale, scratch, grad, log_p);
}

__global__ void nade_gradient_f64(const double* v, const double* W, const double* V, const double* b,
                                  const double* c, int64_t n, int64_t D, int64_t H, double scale, double* scratch,
                                  double* grad, double* log_p) {
    gradient_impl<double>(v, W, V, b, c, n, D, H, scale, scratch, grad, log_p);
}

__global__ void nade_sample_f32(const float* W, const float* V, const float* b, const float* c, int64_t n,
                                int64_t D, int64_t H, uint64_t seed, uint32_t call, float* scratch, float* out) {
    sample_impl<float>(W, V, b, c, n, D, H, seed, call, scratch, out);
}

__global__ void nade_sample_f64(const double* W, const double* V, const double* b, const double* c, int64_t n,
                                int64_t D, int64_t H, uint64_t seed, uint32_t call, double* scratch, double* out) {
    sample_impl<double>(W, V, b, c, n, D, H, seed, call, scratch, out);
}

}  // extern "C"
