"""The float64 coefficient rows of the fused step (the layout of fastgen._constants.StepColumn,
csrc/include/fastgen/diffusion.h), one row per timestep, computed with NumPy for a whole
array of timesteps at once: the schedulers build one row for a step, one row per sample for
per-sample timesteps, and fastgen.sample one row per step of its loop.

The formulas are diffusers' (DDPMScheduler.step and _get_variance, DDIMScheduler.step),
written once as scales of the step's inputs:
    x0  = (x0_sample x - x0_output e) x0_scale       by prediction type
    eps = (eps_sample x - eps_other y) eps_scale     y = e, or the clipped x0
    x'  = prev_x0 x0c + prev_sample x + prev_eps eps + std z
No diffusers here: the drop-ins and fastgen's own schedules share these functions.
"""
from __future__ import annotations

import numpy as np

from .._constants import N_STEP_COLUMNS, ClipMode, StepColumn, VarianceMode

PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
LEARNED = {"learned": VarianceMode.LEARNED, "learned_range": VarianceMode.LEARNED_RANGE}
LARGE = ("fixed_large", "fixed_large_log", "learned", "learned_range")  # std sqrt(beta_t) unless learned


def clip_mode(config):
    """The ClipMode of a scheduler config (thresholding wins over clip_sample, as in diffusers)."""
    if config.thresholding:
        return ClipMode.THRESHOLD
    return ClipMode.RANGE if config.clip_sample else ClipMode.NONE


def _new_rows(n, config, guidance_scale, guidance_rescale):
    rows = np.zeros((n, N_STEP_COLUMNS), dtype=np.float64)
    mode = clip_mode(config)
    rows[:, StepColumn.CLIP_RANGE] = float(config.clip_sample_range) if mode == ClipMode.RANGE else np.inf
    rows[:, StepColumn.THRESHOLD_RATIO] = float(config.dynamic_thresholding_ratio)
    rows[:, StepColumn.MAX_VALUE] = float(config.sample_max_value)
    rows[:, StepColumn.GUIDANCE] = 1.0 if guidance_scale is None else float(guidance_scale)
    rows[:, StepColumn.RESCALE] = float(guidance_rescale)
    return rows


def _prediction_columns(rows, prediction_type, alpha_prod_t, eps_from_clipped):
    """x0 and eps columns by prediction type, as diffusers writes them."""
    root_a, root_b = np.sqrt(alpha_prod_t), np.sqrt(1.0 - alpha_prod_t)
    inv_a, inv_b = 1.0 / root_a, 1.0 / root_b  # inf where a_t is 1 or 0, as diffusers divides
    one, zero = np.ones_like(root_a), np.zeros_like(root_a)
    if prediction_type == "epsilon":
        x0, eps = (one, root_b, inv_a), (zero, -one, one)
    elif prediction_type == "sample":
        x0, eps = (zero, -one, one), (one, root_a, inv_b)
    elif prediction_type == "v_prediction":
        x0, eps = (root_a, root_b, one), (root_b, -root_a, one)
    else:
        raise ValueError(f"prediction_type given as {prediction_type} must be one of `epsilon`, `sample` or "
                         f"`v_prediction`")
    if eps_from_clipped:
        eps = (one, root_a, inv_b)
    for column, value in zip((StepColumn.X0_SAMPLE, StepColumn.X0_OUTPUT, StepColumn.X0_SCALE), x0):
        rows[:, column] = value
    for column, value in zip((StepColumn.EPS_SAMPLE, StepColumn.EPS_OTHER, StepColumn.EPS_SCALE), eps):
        rows[:, column] = value


def _check_alphas(t, alpha_prod_t, prev_t, alpha_prod_t_prev):
    """The step's alphas_cumprod must lie in [0, 1]: outside, the square roots of the step are
    NaN (a schedule with betas above 1 or below 0 there)."""
    for steps, values in ((t, alpha_prod_t), (prev_t, alpha_prod_t_prev)):
        outside = ~((values >= 0.0) & (values <= 1.0))
        if outside.any():
            i = int(np.argmax(outside))
            raise ValueError(f"alphas_cumprod at timestep {int(steps[i])} is {float(values[i])!r}, outside [0, 1]: "
                             f"the schedule's betas (beta_start, beta_end or trained_betas) leave [0, 1] before it")


def ddpm_rows(alphas_cumprod, timesteps, prev_timesteps, config, variance_type, guidance_scale=None,
              guidance_rescale=0.0):
    """Rows of DDPM steps from `timesteps` to `prev_timesteps` (int arrays; -1: the end, where
    alpha_prod_t_prev is 1) on the float64 `alphas_cumprod`. A variance type diffusers does
    not know gives its fallback, fixed_small's std."""
    t = np.asarray(timesteps, dtype=np.int64).reshape(-1)
    prev_t = np.asarray(prev_timesteps, dtype=np.int64).reshape(-1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        alpha_prod_t = alphas_cumprod[t]
        alpha_prod_t_prev = np.where(prev_t >= 0, alphas_cumprod[np.maximum(prev_t, 0)], 1.0)
        _check_alphas(t, alpha_prod_t, prev_t, alpha_prod_t_prev)
        beta_prod_t, beta_prod_t_prev = 1.0 - alpha_prod_t, 1.0 - alpha_prod_t_prev
        current_alpha_t = alpha_prod_t / alpha_prod_t_prev
        current_beta_t = 1.0 - current_alpha_t
        rows = _new_rows(t.size, config, guidance_scale, guidance_rescale)
        _prediction_columns(rows, config.prediction_type, alpha_prod_t, eps_from_clipped=False)
        rows[:, StepColumn.PREV_X0] = np.sqrt(alpha_prod_t_prev) * current_beta_t / beta_prod_t
        rows[:, StepColumn.PREV_SAMPLE] = np.sqrt(current_alpha_t) * beta_prod_t_prev / beta_prod_t
        variance = np.maximum(beta_prod_t_prev / beta_prod_t * current_beta_t, 1e-20)
        rows[:, StepColumn.SIGMA] = np.sqrt(current_beta_t) if variance_type in LARGE else np.sqrt(variance)
        rows[:, StepColumn.MIN_LOG] = np.log(variance)
        rows[:, StepColumn.MAX_LOG] = np.log(current_beta_t)
    rows[:, StepColumn.ADD_NOISE] = t > 0
    return rows


def ddim_rows(alphas_cumprod, final_alpha_cumprod, timesteps, step_ratio, config, eta=0.0,
              use_clipped_model_output=False, guidance_scale=None, guidance_rescale=0.0):
    """Rows of DDIM steps from `timesteps` to timesteps - step_ratio (negative: the end, where
    alpha_prod_t_prev is `final_alpha_cumprod`) on the float64 `alphas_cumprod`."""
    t = np.asarray(timesteps, dtype=np.int64).reshape(-1)
    prev_t = t - int(step_ratio)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        alpha_prod_t = alphas_cumprod[t]
        alpha_prod_t_prev = np.where(prev_t >= 0, alphas_cumprod[np.clip(prev_t, 0, None)], float(final_alpha_cumprod))
        _check_alphas(t, alpha_prod_t, prev_t, alpha_prod_t_prev)
        beta_prod_t, beta_prod_t_prev = 1.0 - alpha_prod_t, 1.0 - alpha_prod_t_prev
        variance = (beta_prod_t_prev / beta_prod_t) * (1.0 - alpha_prod_t / alpha_prod_t_prev)
        std_dev_t = eta * np.sqrt(variance)
        rows = _new_rows(t.size, config, guidance_scale, guidance_rescale)
        _prediction_columns(rows, config.prediction_type, alpha_prod_t, eps_from_clipped=use_clipped_model_output)
        rows[:, StepColumn.PREV_X0] = np.sqrt(alpha_prod_t_prev)
        # diffusers takes (1 - a_prev - std^2) ** 0.5, NaN where rounding (or eta > 1) makes it negative
        rows[:, StepColumn.PREV_EPS] = np.sqrt(np.maximum(1.0 - alpha_prod_t_prev - std_dev_t**2, 0.0))
        rows[:, StepColumn.SIGMA] = std_dev_t
    rows[:, StepColumn.ADD_NOISE] = 1.0 if eta > 0 else 0.0
    return rows
