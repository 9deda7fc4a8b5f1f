"""Noise schedules and timestep spacings, as diffusers defines them, computed in float64."""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_count

BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")


def _cosine_betas(num_train_timesteps, max_beta=0.999):
    """squaredcos_cap_v2 (Nichol & Dhariwal): 1 - alpha_bar(t+1) / alpha_bar(t), capped at max_beta."""
    def alpha_bar(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    t = np.arange(num_train_timesteps, dtype=np.float64)
    ratio = np.array([alpha_bar((i + 1) / num_train_timesteps) / alpha_bar(i / num_train_timesteps) for i in t])
    return np.minimum(1.0 - ratio, max_beta)


def rescale_zero_terminal_snr(betas):
    """Shift and scale sqrt(alphas_cumprod) so that the last one is 0 and the first unchanged
    (Lin et al. 2023, algorithm 1)."""
    root = np.sqrt(np.cumprod(1.0 - betas))
    first, last = root[0], root[-1]
    root = (root - last) * (first / (first - last))
    alphas_cumprod = root**2
    alphas = np.concatenate([alphas_cumprod[:1], alphas_cumprod[1:] / alphas_cumprod[:-1]])
    return 1.0 - alphas


def make_betas(num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, rescale_betas_zero_snr):
    """The float64 betas of a schedule."""
    if trained_betas is not None:
        betas = np.array(trained_betas, dtype=np.float64).reshape(-1)
        if betas.size != num_train_timesteps:
            raise ValueError(f"trained_betas must have num_train_timesteps={num_train_timesteps} values, "
                             f"got {betas.size}")
        if not np.all((betas > 0) & (betas <= 1)):
            raise ValueError("trained_betas must lie in (0, 1]")
    elif beta_schedule == "linear":
        betas = np.linspace(beta_start, beta_end, num_train_timesteps, dtype=np.float64)
    elif beta_schedule == "scaled_linear":
        betas = np.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=np.float64) ** 2
    elif beta_schedule == "squaredcos_cap_v2":
        betas = _cosine_betas(num_train_timesteps)
    else:
        raise ValueError(f"beta_schedule must be one of {', '.join(BETA_SCHEDULES)}, got {beta_schedule!r}")
    if rescale_betas_zero_snr:
        betas = rescale_zero_terminal_snr(betas)
    return betas


def make_timesteps(num_train_timesteps, num_inference_steps, spacing, steps_offset):
    """The descending int64 timesteps of `num_inference_steps` steps, spaced as diffusers does."""
    n = check_count("num_inference_steps", num_inference_steps)
    if n > num_train_timesteps:
        raise ValueError(f"num_inference_steps={n} cannot be larger than num_train_timesteps={num_train_timesteps}")
    if spacing == "linspace":
        timesteps = np.linspace(0, num_train_timesteps - 1, n).round()[::-1].astype(np.int64)
    elif spacing == "leading":
        timesteps = (np.arange(0, n) * (num_train_timesteps // n)).round()[::-1].astype(np.int64) + steps_offset
    elif spacing == "trailing":
        timesteps = np.round(np.arange(num_train_timesteps, 0, -num_train_timesteps / n)).astype(np.int64) - 1
    else:
        raise ValueError(f"timestep_spacing must be one of {', '.join(TIMESTEP_SPACINGS)}, got {spacing!r}")
    if timesteps.max() >= num_train_timesteps or timesteps.min() < 0:
        raise ValueError(f"steps_offset={steps_offset} puts timesteps outside [0, {num_train_timesteps})")
    return np.ascontiguousarray(timesteps)
