// Reverse-diffusion step kernels, compiled at run time by NVRTC (CuPy RawModule) with
// csrc/include on the include path. One thread per Philox block of four elements, so
// the normals are those of the CPU backends whatever the launch geometry. The per-sample
// values of guidance_rescale (factor) and dynamic thresholding (bound) are computed
// before, on the device (fastgen/diffusion/_cuda.py); no host synchronisation. A step
// reads one coefficient row (row_stride 0) or one per sample (row_stride N_STEP_COLUMNS,
// per-sample timesteps, with one Philox call per sample in `calls`).
#include "fastgen/diffusion.h"

using namespace fastgen;

template <typename T>
__device__ T prediction(const StepCoefficients<T>& k, const T* output, const T* uncond, const T* factor,
                        uint64_t b, uint64_t at) {
    if (uncond == nullptr) {
        return output[at];
    }
    return guided_output(output[at], uncond[at], k.guidance) * (factor == nullptr ? T(1) : factor[b]);
}

template <typename T>
__device__ void step_impl(const double* row, uint64_t row_stride, const uint32_t* calls, int clip_mode,
                          int variance_mode, int eps_from_clipped, const T* output, const T* uncond, const T* sample,
                          const T* noise, const T* x0_pre, const T* factor, const T* bound, T* prev, T* x0_out,
                          uint64_t n, uint64_t total, uint64_t stride, uint64_t seed, uint32_t call,
                          uint64_t first_row, int* finite) {
    const uint64_t n_groups = (total + 3) / 4;
    for (uint64_t g = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; g < n_groups;
         g += (uint64_t)gridDim.x * blockDim.x) {
        // A group of four elements may span two samples: coefficients and normals are
        // (re)loaded when the sample changes, the normals from that sample's Philox call.
        uint64_t loaded = ~(uint64_t)0;
        StepCoefficients<T> k;
        float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        uint32_t z_call = 0;
        uint64_t z_group = 0;  // the Philox block of z: element i draws as element first_row * n + i of the batch
        bool z_drawn = false;
        for (uint64_t i = g * 4; i < g * 4 + 4 && i < total; ++i) {
            const uint64_t b = i / n, j = i - b * n, at = b * stride + j;
            if (b != loaded) {
                k = load_step<T>(row + b * row_stride);
                loaded = b;
            }
            const T e = prediction(k, output, uncond, factor, b, at);
            bool ok = (e - e) == T(0);
            const T x = sample[i];
            T x0 = x0_pre != nullptr ? x0_pre[i] : predicted_x0(k, x, e);
            T limit = k.clip_range, divisor = T(1);  // infinite without clipping
            if (clip_mode == CLIP_THRESHOLD) {
                limit = divisor = bound[b];
            }
            x0 = clipped_x0(x0, limit, divisor);
            if (x0_out != nullptr) {
                x0_out[i] = x0;
            }
            const T eps = k.prev_eps != T(0) ? predicted_eps(k, x, eps_from_clipped ? x0 : e) : T(0);
            T value = step_mean(k, x0, x, eps);
            if (k.add_noise) {
                T zi;
                if (noise != nullptr) {
                    zi = noise[i];
                } else {
                    const uint32_t own_call = calls != nullptr ? calls[b] : call;
                    const uint64_t at_batch = first_row * n + i;
                    if (!z_drawn || own_call != z_call || at_batch / 4 != z_group) {
                        z_group = at_batch / 4;
                        normal_block(seed, own_call, STREAM_STEP_NOISE, z_group, z);
                        z_call = own_call;
                        z_drawn = true;
                    }
                    zi = (T)z[at_batch - z_group * 4];
                }
                const T v = variance_mode == VARIANCE_FIXED ? T(0) : output[at + n];
                ok = ok && (v - v) == T(0);
                value = value + noise_std(k, variance_mode, v) * zi;
            }
            prev[i] = value;
            ok = ok && (value - value) == T(0);
            if (!ok) {
                *finite = 0;  // every writer writes the same value
            }
        }
    }
}

// x0 before clipping, for the per-sample quantile of dynamic thresholding.
template <typename T>
__device__ void unclipped_x0_impl(const double* row, uint64_t row_stride, const T* output, const T* uncond,
                                  const T* sample, const T* factor, T* x0, uint64_t n, uint64_t total,
                                  uint64_t stride) {
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (uint64_t)gridDim.x * blockDim.x) {
        const uint64_t b = i / n, at = b * stride + (i - b * n);
        const StepCoefficients<T> k = load_step<T>(row + b * row_stride);
        x0[i] = predicted_x0(k, sample[i], prediction(k, output, uncond, factor, b, at));
    }
}

// out = a_b x + c_b y (add_noise, get_velocity), float64 coefficients per sample.
template <typename T>
__device__ void scaled_sum_impl(const double* a, const T* x, const double* c, const T* y, T* out, uint64_t n,
                                uint64_t total) {
    for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (uint64_t)gridDim.x * blockDim.x) {
        const uint64_t b = i / n;
        out[i] = scaled_sum((T)a[b], x[i], (T)c[b], y[i]);
    }
}

extern "C" {

#define FASTGEN_STEP_KERNELS(T, SUFFIX)                                                                         \
    __global__ void diffusion_step_##SUFFIX(const double* row, uint64_t row_stride, const uint32_t* calls,      \
                                            int clip_mode, int variance_mode, int eps_from_clipped,             \
                                            const T* output, const T* uncond, const T* sample, const T* noise,  \
                                            const T* x0_pre, const T* factor, const T* bound, T* prev,          \
                                            T* x0_out, uint64_t n, uint64_t total, uint64_t stride,             \
                                            uint64_t seed, uint32_t call, uint64_t first_row, int* finite) {    \
        step_impl<T>(row, row_stride, calls, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample, \
                     noise, x0_pre, factor, bound, prev, x0_out, n, total, stride, seed, call, first_row,       \
                     finite);                                                                                   \
    }                                                                                                           \
    __global__ void unclipped_x0_##SUFFIX(const double* row, uint64_t row_stride, const T* output,              \
                                          const T* uncond, const T* sample, const T* factor, T* x0, uint64_t n, \
                                          uint64_t total, uint64_t stride) {                                    \
        unclipped_x0_impl<T>(row, row_stride, output, uncond, sample, factor, x0, n, total, stride);            \
    }                                                                                                           \
    __global__ void scaled_sum_##SUFFIX(const double* a, const T* x, const double* c, const T* y, T* out,       \
                                        uint64_t n, uint64_t total) {                                           \
        scaled_sum_impl<T>(a, x, c, y, out, n, total);                                                          \
    }

FASTGEN_STEP_KERNELS(float, f32)
FASTGEN_STEP_KERNELS(double, f64)

}  // extern "C"
