// CPU loop structure of the reverse-diffusion step: how samples, chunks and threads walk
// over the per-element math of csrc/include/fastgen/diffusion.h. No Python here
// (diffusion.cpp binds).
//
// One pass over the arrays: each sample is taken in chunks of kStepChunk elements. Per
// chunk: the prediction (the model output itself, read in place, or the guided one into a
// buffer) and its finiteness; x0, clipped, into a buffer in L1; the chunk's Philox normals
// (cpu/random.h, straight into a buffer); then one fused loop for eps, the mean and the
// noise, writing prev_sample (finish_chunk). Extra work per sample, only when asked for:
// guidance_rescale reads the sample's model outputs once more (in cache) for two standard
// deviations; dynamic thresholding first writes the sample's x0 and |x0| into buffers and
// selects the quantile there (std::nth_element, then a min over the part above it), and
// the main pass reads x0 from the buffer; a learned variance adds its std z in a second
// loop over the chunk. Inputs are still read once and outputs written once.
#pragma once
#include <stdint.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "fastgen/diffusion.h"
#include "random.h"

namespace fastgen {
namespace cpu {

constexpr int64_t kStepChunk = 1024;
// Total elements above which samples are shared among threads. A step costs about 0.5 ns
// an element on one core (measured on a quiet moment, most of it the Philox normals), 2^16
// elements about 30 us, against a few microseconds to wake the OpenMP team on an idle
// machine; a batch of 64 x 3 x 32 x 32 is 3 x 2^16. On an oversubscribed machine, with
// libgomp's default wait policy (spin, then sleep), a parallel step waits for partners that
// are not scheduled (30-40 ms measured at a load average of 17, against 0.2 ms on one
// thread; 0.2 ms with OMP_WAIT_POLICY=passive), and threads left spinning after the region
// compete with the model that runs between steps (see kParallelWork in cpu/random.h): the
// OpenMP policy (parallel.h) governs both.
constexpr int64_t kParallelStep = 1 << 16;

template <typename T>
struct StepArrays {
    const T* output;     // (batch, output_stride): the prediction, then the variance channels if learned
    const T* uncond;     // the same for the unconditional output, or null (no guidance)
    const T* sample;     // (batch, n)
    const T* noise;      // (batch, n), or null: drawn from Philox when the step adds noise
    T* prev;             // (batch, n); may be `sample` itself
    T* x0_out;           // (batch, n), or null: not wanted
    int64_t batch, n, output_stride;
};

struct StepSwitches {
    int clip_mode, variance_mode;
    bool eps_from_clipped;
    uint64_t seed;
    uint32_t call;
    int64_t first_row;  // sample b's noise is sample first_row + b's of a batch split over processes
};

template <typename T>
struct StepScratch {
    explicit StepScratch(int64_t n, bool threshold)
        : e(kStepChunk), x0(kStepChunk), z(kStepChunk), zf(kStepChunk), sample_x0(threshold ? n : 0),
          sample_abs(threshold ? n : 0) {}
    std::vector<T> e, x0, z;
    std::vector<float> zf;
    std::vector<T> sample_x0, sample_abs;
};

// Standard deviations' ratio std(cond) / std(guided) of one sample, from centred sums in double;
// 1 when the guided prediction is constant (nothing to rescale: diffusers' 0 / 0 is NaN).
template <typename T>
double guidance_std_ratio(const T* cond, const T* uncond, int64_t n, T w) {
    double mean_c = 0.0, mean_g = 0.0;
    for (int64_t j = 0; j < n; ++j) {
        mean_c += (double)cond[j];
        mean_g += (double)guided_output(cond[j], uncond[j], w);
    }
    mean_c /= (double)n;
    mean_g /= (double)n;
    double ss_c = 0.0, ss_g = 0.0;
    for (int64_t j = 0; j < n; ++j) {
        const double dc = (double)cond[j] - mean_c, dg = (double)guided_output(cond[j], uncond[j], w) - mean_g;
        ss_c += dc * dc;
        ss_g += dg * dg;
    }
    return ss_g > 0.0 ? std::sqrt(ss_c / ss_g) : 1.0;
}

// Whether all of v[0 .. m) are finite. An int OR-reduction: it vectorises, where
// `finite &= ...` over bools did not (it was a quarter of the step, measured).
template <typename T>
bool all_finite(const T* __restrict v, int64_t m) {
    int bad = 0;
    for (int64_t j = 0; j < m; ++j) bad |= (v[j] - v[j]) != T(0);  // NaN for NaN and infinities
    return bad == 0;
}

// The model prediction of chunk [j0, j0 + m) of one sample: the model output itself, or
// the guided one (times `factor`) computed into `e`. Sets `finite` false on a bad value.
template <typename T>
const T* chunk_prediction(const T* out, const T* uncond, int64_t j0, int64_t m, T w, T factor, T* __restrict e,
                          bool& finite) {
    if (uncond == nullptr) {
        finite &= all_finite(out + j0, m);
        return out + j0;
    }
    for (int64_t j = 0; j < m; ++j) e[j] = guided_output(out[j0 + j], uncond[j0 + j], w) * factor;
    finite &= all_finite(e, m);
    return e;
}

// The threshold s of one sample: x0 of the whole sample into scratch, then the quantile of |x0|.
template <typename T>
T sample_threshold(const StepCoefficients<T>& k, const T* out, const T* uncond, const T* x, int64_t n, T factor,
                   StepScratch<T>& s, bool& finite) {
    T* x0 = s.sample_x0.data();
    T* a = s.sample_abs.data();
    for (int64_t j0 = 0; j0 < n; j0 += kStepChunk) {
        const int64_t m = std::min<int64_t>(kStepChunk, n - j0);
        const T* e = chunk_prediction(out, uncond, j0, m, k.guidance, factor, s.e.data(), finite);
        for (int64_t j = 0; j < m; ++j) x0[j0 + j] = predicted_x0(k, x[j0 + j], e[j]);
    }
    for (int64_t j = 0; j < n; ++j) a[j] = x0[j] < T(0) ? -x0[j] : x0[j];
    const T rank = k.threshold_ratio * (T)(n - 1);
    const int64_t below_index = (int64_t)rank;
    const int64_t above_index = (int64_t)std::ceil(rank);
    std::nth_element(a, a + below_index, a + n);
    const T below = a[below_index];
    const T above = above_index == below_index ? below : *std::min_element(a + below_index + 1, a + n);
    return threshold_from_order_statistics(below, above, rank - (T)below_index, k.max_value);
}

// The rest of a chunk once x0c is known, in one pass: eps (from y: the prediction or x0c),
// the mean, plus std z with the fixed std (kNoise), into prev. Returns whether every new
// value is finite. The switches are template arguments so that the loop has no branch and
// vectorises; the operations are those of the stage-by-stage loops of every other backend.
template <typename T, bool kUseEps, bool kNoise>
bool finish_chunk(const StepCoefficients<T>& k, const T* x, const T* __restrict x0c, const T* __restrict y,
                  const T* __restrict z, int64_t m, T* prev) {
    int bad = 0;
    for (int64_t j = 0; j < m; ++j) {
        const T eps = kUseEps ? predicted_eps(k, x[j], y[j]) : T(0);
        T v = step_mean(k, x0c[j], x[j], eps);
        if (kNoise) v = v + k.sigma * z[j];
        prev[j] = v;
        bad |= !(std::abs(v) <= std::numeric_limits<T>::max());
    }
    return bad == 0;
}

// One step on sample b. Returns whether the model output and the new sample are finite (the
// latter is not when the sample, the noise or the step's coefficients are not).
template <typename T>
bool step_one_sample(const StepCoefficients<T>& k, const StepSwitches& sw, const StepArrays<T>& arr, int64_t b,
                     StepScratch<T>& s) {
    const int64_t n = arr.n;
    const T* out = arr.output + b * arr.output_stride;
    const T* uncond = arr.uncond == nullptr ? nullptr : arr.uncond + b * arr.output_stride;
    const T* variance = out + n;  // the learned variance channels (read only when learned)
    const T* x = arr.sample + b * n;
    const T* noise = arr.noise == nullptr ? nullptr : arr.noise + b * n;
    T* prev = arr.prev + b * n;
    T* x0_out = arr.x0_out == nullptr ? nullptr : arr.x0_out + b * n;
    bool finite = true;

    T factor = T(1);
    if (uncond != nullptr && k.rescale != T(0)) {
        const T ratio = (T)guidance_std_ratio(out, uncond, n, k.guidance);
        factor = k.rescale * ratio + (T(1) - k.rescale);
    }
    T bound = k.clip_range, divisor = T(1);  // the range is infinite without clipping
    if (sw.clip_mode == CLIP_THRESHOLD) {
        bound = divisor = sample_threshold(k, out, uncond, x, n, factor, s, finite);
    }
    const bool use_eps = k.prev_eps != T(0);
    const bool fixed_std = sw.variance_mode == VARIANCE_FIXED;
    T* __restrict x0 = s.x0.data();
    for (int64_t j0 = 0; j0 < n; j0 += kStepChunk) {
        const int64_t m = std::min<int64_t>(kStepChunk, n - j0);
        const T* e = chunk_prediction(out, uncond, j0, m, k.guidance, factor, s.e.data(), finite);
        const T* xs = x + j0;
        if (sw.clip_mode == CLIP_THRESHOLD) {
            for (int64_t j = 0; j < m; ++j) x0[j] = clipped_x0(s.sample_x0[j0 + j], bound, divisor);
        } else {
            for (int64_t j = 0; j < m; ++j) x0[j] = clipped_x0(predicted_x0(k, xs[j], e[j]), bound, divisor);
        }
        if (x0_out != nullptr) std::copy(x0, x0 + m, x0_out + j0);
        const T* z = nullptr;  // the chunk's noise, when the step adds it
        if (k.add_noise && noise != nullptr) {
            z = noise + j0;
        } else if (k.add_noise) {
            float* zf = s.zf.data();
            row_normals((uint64_t)((sw.first_row + b) * n + j0), (uint64_t)m, sw.seed, sw.call, STREAM_STEP_NOISE, zf);
            if constexpr (std::is_same<T, float>::value) {
                z = zf;
            } else {
                for (int64_t j = 0; j < m; ++j) s.z[j] = (T)zf[j];
                z = s.z.data();
            }
        }
        const T* y = sw.eps_from_clipped ? x0 : e;
        const bool noise_in_pass = z != nullptr && fixed_std;
        if (use_eps) {
            finite &= noise_in_pass ? finish_chunk<T, true, true>(k, xs, x0, y, z, m, prev + j0)
                                    : finish_chunk<T, true, false>(k, xs, x0, y, z, m, prev + j0);
        } else {
            finite &= noise_in_pass ? finish_chunk<T, false, true>(k, xs, x0, y, z, m, prev + j0)
                                    : finish_chunk<T, false, false>(k, xs, x0, y, z, m, prev + j0);
        }
        if (z != nullptr && !fixed_std) {  // the learned std: a second pass over the chunk's output
            int bad = 0;
            for (int64_t j = 0; j < m; ++j) {
                const T v = variance[j0 + j];
                bad |= (v - v) != T(0);
                const T next = prev[j0 + j] + noise_std(k, sw.variance_mode, v) * z[j];
                prev[j0 + j] = next;
                bad |= !(std::abs(next) <= std::numeric_limits<T>::max());
            }
            finite &= bad == 0;
        }
    }
    return finite;
}

// The step on every sample; threads take samples when the work is large. `coefficients`
// is one row for the batch (row_stride 0) or one per sample (row_stride N_STEP_COLUMNS);
// `calls`, when not null, gives each sample its own Philox call (per-sample timesteps).
// Returns whether every model output and every new sample are finite.
template <typename T>
bool diffusion_step(const double* coefficients, int64_t row_stride, const uint32_t* calls, const StepSwitches& sw,
                    const StepArrays<T>& arr) {
    const StepCoefficients<T> shared = load_step<T>(coefficients);
    bool finite = true;
    const int n_threads = team_size(arr.batch * arr.n >= kParallelStep);
    ThreadBuffers<StepScratch<T>> buffers(n_threads, arr.n, sw.clip_mode == CLIP_THRESHOLD);
#pragma omp parallel num_threads(n_threads) reduction(&& : finite)
    {
        StepScratch<T>& scratch = buffers.mine();
#pragma omp for schedule(static)
        for (int64_t b = 0; b < arr.batch; ++b) {
            StepSwitches own = sw;
            if (calls != nullptr) {
                own.call = calls[b];
            }
            const StepCoefficients<T> k = row_stride == 0 ? shared : load_step<T>(coefficients + b * row_stride);
            finite = step_one_sample(k, own, arr, b, scratch) && finite;
        }
    }
    return finite;
}

// out = a_b x + c_b y for every sample b of (batch, n) arrays, a and c float64 per sample
// (add_noise and get_velocity). Threads take chunks of kStepChunk elements of a sample
// above kParallelWork elements (cpu/random.h: the threshold of the element-wise loops).
template <typename T>
void scaled_sum_loop(const double* a, const T* x, const double* c, const T* y, T* out, int64_t batch,
                     int64_t n) {
    const int64_t n_chunks = (n + kStepChunk - 1) / kStepChunk;
#pragma omp parallel for schedule(static) if (batch * n >= kParallelWork)
    for (int64_t index = 0; index < batch * n_chunks; ++index) {
        const int64_t b = index / n_chunks, j0 = (index - b * n_chunks) * kStepChunk;
        const int64_t end = std::min<int64_t>(j0 + kStepChunk, n);
        const T ab = (T)a[b], cb = (T)c[b];
        const T* __restrict xb = x + b * n;
        const T* __restrict yb = y + b * n;
        T* __restrict ob = out + b * n;
        for (int64_t j = j0; j < end; ++j) {
            ob[j] = scaled_sum(ab, xb[j], cb, yb[j]);
        }
    }
}

}  // namespace cpu
}  // namespace fastgen
