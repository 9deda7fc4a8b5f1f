// Per-element math of one reverse-diffusion step (DDPM, DDIM, classifier-free guidance),
// shared by the C++ (OpenMP) extension and the CUDA kernels. The Python schedulers
// compute one row of float64 coefficients per step (layout below); the kernels do
//   e   = model output, or uncond + w (cond - uncond), times a per-sample rescale factor
//   x0  = (x0_sample x - x0_output e) x0_scale                       (by prediction type)
//   x0c = clamp(x0, -bound, bound) / divisor           (clip: bound = range, divisor = 1;
//                                                        threshold: bound = divisor = s)
//   eps = (eps_sample x - eps_other y) eps_scale,     y = e, or x0c (clipped model output)
//   x'  = (prev_x0 x0c + prev_sample x) + prev_eps eps + std z
// with std = sigma, sqrt(v) ("learned") or exp((frac max_log + (1 - frac) min_log) / 2),
// frac = (v + 1) / 2 ("learned_range"), v the predicted variance, z ~ N(0, 1) given or
// drawn from Philox (random.h; stream STREAM_STEP_NOISE, call = the caller's counter).
// A step takes one row for the whole batch, or one row (and one Philox call) per sample
// (per-sample timesteps). The operations follow diffusers' order, so that float32
// results agree to a few ulp.
//
// The forward process and the velocity target are one per-sample blend (scaled_sum):
//   add_noise:    x_t = sqrt(a_t) x0 + sqrt(1 - a_t) z
//   get_velocity: v   = sqrt(a_t) z  + (-sqrt(1 - a_t)) x_t
// with the float64 coefficients of each sample rounded to T once.
#pragma once
#include "config.h"
#include "mathx.h"
#include "random.h"

namespace fastgen {

// Columns of a step's coefficient row (float64). fastgen/diffusion/_rows.py writes the
// same layout (fastgen._constants.StepColumn mirrors it).
enum StepColumn : int {
    COL_X0_SAMPLE, COL_X0_OUTPUT, COL_X0_SCALE,
    COL_EPS_SAMPLE, COL_EPS_OTHER, COL_EPS_SCALE,
    COL_PREV_X0, COL_PREV_SAMPLE, COL_PREV_EPS,
    COL_SIGMA, COL_MIN_LOG, COL_MAX_LOG,
    COL_ADD_NOISE,   // 1: add std z (DDPM t > 0, DDIM eta > 0), 0: not
    COL_GUIDANCE,    // w of classifier-free guidance
    COL_CLIP_RANGE,  // clip_sample_range; infinite when not clipping
    COL_RESCALE,     // guidance_rescale (0: none)
    COL_THRESHOLD_RATIO, COL_MAX_VALUE,  // dynamic_thresholding_ratio, sample_max_value
    N_STEP_COLUMNS
};

// Per-call switches (the same for every step of a sampler).
enum ClipMode : int { CLIP_NONE = 0, CLIP_RANGE = 1, CLIP_THRESHOLD = 2 };
enum VarianceMode : int { VARIANCE_FIXED = 0, VARIANCE_LEARNED = 1, VARIANCE_LEARNED_RANGE = 2 };

template <typename T>
struct StepCoefficients {
    T x0_sample, x0_output, x0_scale, eps_sample, eps_other, eps_scale, prev_x0, prev_sample, prev_eps;
    T sigma, min_log, max_log, guidance, clip_range, rescale, threshold_ratio, max_value;
    bool add_noise;
};

template <typename T>
FG_HD StepCoefficients<T> load_step(const double* row) {
    StepCoefficients<T> k;
    k.x0_sample = (T)row[COL_X0_SAMPLE];
    k.x0_output = (T)row[COL_X0_OUTPUT];
    k.x0_scale = (T)row[COL_X0_SCALE];
    k.eps_sample = (T)row[COL_EPS_SAMPLE];
    k.eps_other = (T)row[COL_EPS_OTHER];
    k.eps_scale = (T)row[COL_EPS_SCALE];
    k.prev_x0 = (T)row[COL_PREV_X0];
    k.prev_sample = (T)row[COL_PREV_SAMPLE];
    k.prev_eps = (T)row[COL_PREV_EPS];
    k.sigma = (T)row[COL_SIGMA];
    k.min_log = (T)row[COL_MIN_LOG];
    k.max_log = (T)row[COL_MAX_LOG];
    k.guidance = (T)row[COL_GUIDANCE];
    k.clip_range = (T)row[COL_CLIP_RANGE];
    k.rescale = (T)row[COL_RESCALE];
    k.threshold_ratio = (T)row[COL_THRESHOLD_RATIO];
    k.max_value = (T)row[COL_MAX_VALUE];
    k.add_noise = row[COL_ADD_NOISE] != 0.0;
    return k;
}

template <typename T>
FG_HD T guided_output(T cond, T uncond, T w) {
    return uncond + w * (cond - uncond);
}

template <typename T>
FG_HD T predicted_x0(const StepCoefficients<T>& k, T x, T e) {
    return (k.x0_sample * x - k.x0_output * e) * k.x0_scale;
}

// clamp(x0, -bound, bound) / divisor; NaN stays NaN, as in torch.clamp.
template <typename T>
FG_HD T clipped_x0(T x0, T bound, T divisor) {
    const T low = x0 < -bound ? -bound : x0;
    return (low > bound ? bound : low) / divisor;
}

template <typename T>
FG_HD T predicted_eps(const StepCoefficients<T>& k, T x, T y) {
    return (k.eps_sample * x - k.eps_other * y) * k.eps_scale;
}

// The noise std of one element: sigma, or from the predicted variance v.
template <typename T>
FG_HD T noise_std(const StepCoefficients<T>& k, int variance_mode, T v) {
    if (variance_mode == VARIANCE_LEARNED) {
        return sqrt(v);
    }
    if (variance_mode == VARIANCE_LEARNED_RANGE) {
        const T frac = (v + T(1)) / T(2);
        return fg_exp(T(0.5) * (frac * k.max_log + (T(1) - frac) * k.min_log));
    }
    return k.sigma;
}

template <typename T>
FG_HD T step_mean(const StepCoefficients<T>& k, T x0c, T x, T eps) {
    return (k.prev_x0 * x0c + k.prev_sample * x) + k.prev_eps * eps;
}

// The per-sample threshold of dynamic thresholding from the two order statistics of
// |x0| around rank = ratio (n - 1) (torch.quantile's linear interpolation, rank and
// weight computed in T as torch does), clamped to [1, max_value] as diffusers does.
template <typename T>
FG_HD T threshold_from_order_statistics(T below, T above, T weight, T max_value) {
    const T q = weight < T(0.5) ? below + weight * (above - below) : above - (above - below) * (T(1) - weight);
    const T s = q < T(1) ? T(1) : q;
    return s > max_value ? max_value : s;
}

// One element of the per-sample blend a x + c y (add_noise, get_velocity).
template <typename T>
FG_HD T scaled_sum(T a, T x, T c, T y) {
    return a * x + c * y;
}

}  // namespace fastgen
