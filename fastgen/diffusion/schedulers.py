"""Drop-in DDPM and DDIM schedulers: diffusers' parameters, attributes and results, with
each step one fused kernel (csrc/include/fastgen/diffusion.h) on NumPy, CuPy or torch arrays.

A step's scalar coefficients come from the float64 schedule (`_step_row`, one row of the
layout of fastgen._constants.StepColumn); the kernel then makes one pass over the sample.
Noise is `variance_noise` when given, else drawn in the kernel from Philox: draw
(seed, call = timestep, DiffusionStream.STEP_NOISE) with the seed taken from `generator`
(see seed_from_generator), the normal of element i of the flattened sample as documented
in csrc/include/fastgen/random.h.
"""
from __future__ import annotations

import math
import numbers
import sys
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from .._arrays import Dispatch
from .._constants import N_STEP_COLUMNS, ClipMode, StepColumn, VarianceMode
from .._validation import check_count
from .schedules import make_betas, make_timesteps

PREDICTION_TYPES = ("epsilon", "sample", "v_prediction")
VARIANCE_TYPES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range")
_LEARNED = {"learned": VarianceMode.LEARNED, "learned_range": VarianceMode.LEARNED_RANGE}


class SchedulerOutput(NamedTuple):
    """`prev_sample` (x_{t-1}) and `pred_original_sample` (x0), by name or as a tuple."""

    prev_sample: object
    pred_original_sample: object


DDPMSchedulerOutput = DDIMSchedulerOutput = SchedulerOutput


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _timestep_int(timestep):
    """A timestep as a Python int (a 0-d torch/NumPy/CuPy value is read, a sync on a GPU)."""
    if isinstance(timestep, (bool, np.bool_)):
        raise ValueError(f"timestep must be an integer, got {timestep!r}")
    if isinstance(timestep, numbers.Integral):
        return int(timestep)
    size = getattr(timestep, "size", None)
    size = size() if callable(size) else size
    if getattr(timestep, "ndim", None) == 0 or size == 1:
        value = timestep.item()
        if float(value) == int(value):
            return int(value)
    raise ValueError(f"timestep must be an integer, got {timestep!r}")


class _Scheduler:
    order = 1
    init_noise_sigma = 1.0

    def _init_schedule(self, config):
        self.config = SimpleNamespace(**config)
        check_count("num_train_timesteps", config["num_train_timesteps"])
        _choice("prediction_type", config["prediction_type"], PREDICTION_TYPES)
        _choice("timestep_spacing", config["timestep_spacing"], ("leading", "trailing", "linspace"))
        check_count("steps_offset", config["steps_offset"], minimum=0)
        for name in ("clip_sample_range", "sample_max_value"):
            if not float(config[name]) > 0:
                raise ValueError(f"{name} must be > 0, got {config[name]!r}")
        ratio = config["dynamic_thresholding_ratio"]
        if not 0.0 <= float(ratio) <= 1.0:
            raise ValueError(f"dynamic_thresholding_ratio must lie in [0, 1], got {ratio!r}")
        self.betas = make_betas(config["num_train_timesteps"], config["beta_start"], config["beta_end"],
                                config["beta_schedule"], config["trained_betas"], config["rescale_betas_zero_snr"])
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.num_inference_steps = None
        self.timesteps = np.arange(config["num_train_timesteps"] - 1, -1, -1, dtype=np.int64)

    def set_timesteps(self, num_inference_steps, device=None):
        """Choose the timesteps of `num_inference_steps` steps (`device` is accepted for
        diffusers' signature; the schedule lives on the host)."""
        c = self.config
        self.timesteps = make_timesteps(c.num_train_timesteps, num_inference_steps, c.timestep_spacing,
                                        c.steps_offset)
        self.num_inference_steps = int(num_inference_steps)

    def scale_model_input(self, sample, timestep=None):
        return sample

    def __len__(self):
        return self.config.num_train_timesteps

    def _check_timestep(self, timestep):
        t = _timestep_int(timestep)
        if not np.any(self.timesteps == t):
            raise ValueError(f"timestep {t} is not in the schedule (set_timesteps gave {len(self.timesteps)} "
                             f"timesteps from {self.timesteps[0]} to {self.timesteps[-1]})")
        return t

    # ---- the coefficient row shared by both schedulers

    def _prediction_columns(self, row, alpha_prod_t, clipped_eps):
        """x0 = (x0_sample x - x0_output e) x0_scale and eps = (eps_sample x - eps_other y) eps_scale
        by prediction type, as diffusers writes them."""
        root_a, root_b = math.sqrt(alpha_prod_t), math.sqrt(1.0 - alpha_prod_t)
        inv_b = 1.0 / root_b if root_b > 0 else math.inf
        kind = self.config.prediction_type
        if kind == "epsilon":
            x0 = (1.0, root_b, 1.0 / root_a if root_a > 0 else math.inf)
            eps = (0.0, -1.0, 1.0)
        elif kind == "sample":
            x0 = (0.0, -1.0, 1.0)
            eps = (1.0, root_a, inv_b)
        else:  # v_prediction
            x0 = (root_a, root_b, 1.0)
            eps = (root_b, -root_a, 1.0)
        if clipped_eps:
            eps = (1.0, root_a, inv_b)
        row[[StepColumn.X0_SAMPLE, StepColumn.X0_OUTPUT, StepColumn.X0_SCALE]] = x0
        row[[StepColumn.EPS_SAMPLE, StepColumn.EPS_OTHER, StepColumn.EPS_SCALE]] = eps

    def _new_row(self, guidance_scale, guidance_rescale):
        row = np.zeros(N_STEP_COLUMNS, dtype=np.float64)
        c = self.config
        row[StepColumn.CLIP_RANGE] = c.clip_sample_range if self._clip_mode() == ClipMode.RANGE else math.inf
        row[StepColumn.THRESHOLD_RATIO] = c.dynamic_thresholding_ratio
        row[StepColumn.MAX_VALUE] = c.sample_max_value
        row[StepColumn.GUIDANCE] = 1.0 if guidance_scale is None else guidance_scale
        row[StepColumn.RESCALE] = guidance_rescale
        return row

    def _clip_mode(self):
        if self.config.thresholding:
            return ClipMode.THRESHOLD
        return ClipMode.RANGE if self.config.clip_sample else ClipMode.NONE

    def _variance_mode(self):
        return VarianceMode.FIXED

    # ---- one step

    def _step(self, row, eps_from_clipped, model_output, timestep, sample, generator, variance_noise, return_dict,
              model_output_uncond, guidance_scale, backend):
        call = Dispatch(backend, model_output=model_output, sample=sample, model_output_uncond=model_output_uncond,
                        variance_noise=variance_noise)
        output, x, uncond, noise = call.arrays
        variance_mode = self._variance_mode()
        _check_step_arrays(output, x, uncond, noise, variance_mode != VarianceMode.FIXED)
        if (uncond is None) != (guidance_scale is None):
            raise ValueError("model_output_uncond and guidance_scale must be given together (classifier-free guidance)")
        if noise is not None and generator is not None:
            raise ValueError("pass either generator or variance_noise, not both")
        xp = call.kernels.xp
        output, x, uncond, noise = (None if a is None else xp.ascontiguousarray(a) for a in (output, x, uncond, noise))
        seed = 0 if noise is not None or row[StepColumn.ADD_NOISE] == 0 else seed_from_generator(generator)
        prev = xp.empty_like(x)
        x0 = xp.empty_like(x)
        kernels = call.kernels.diffusion
        if call.backend == "cuda":
            row = xp.asarray(row)
            finite = xp.ones(1, dtype=xp.int32)
            kernels.step(row, self._clip_mode(), variance_mode, eps_from_clipped, output, uncond, x, noise, prev, x0,
                         seed, timestep, finite)  # no host sync: non-finite outputs are not reported here
        elif not kernels.step(row, self._clip_mode(), variance_mode, eps_from_clipped, output, uncond, x, noise, prev,
                              x0, seed, timestep):
            raise ValueError(f"model_output contains NaN or infinity (timestep {timestep})")
        result = SchedulerOutput(call.wrap(prev), call.wrap(x0))
        return result if return_dict else tuple(result)


def seed_from_generator(generator):
    """The 64-bit Philox seed of a step's noise from `generator`: an int (itself), a
    numpy.random.Generator or a CPU torch.Generator (one draw from it, so that it advances
    like diffusers' generator does), a CUDA torch.Generator (its initial seed: a draw would
    synchronise the host), or None (fresh entropy)."""
    if generator is None:
        return int(np.random.SeedSequence().entropy) & (2**64 - 1)
    if isinstance(generator, (bool, np.bool_)):
        raise TypeError("generator must be an int seed, a numpy.random.Generator or a torch.Generator, got a bool")
    if isinstance(generator, (int, np.integer)):
        if not 0 <= int(generator) < 2**64:
            raise ValueError(f"generator must be a seed in [0, 2**64), got {generator}")
        return int(generator)
    if isinstance(generator, np.random.Generator):
        return int(generator.integers(0, 2**63))
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(generator, torch.Generator):
        if generator.device.type != "cpu":
            return int(generator.initial_seed()) & (2**64 - 1)
        return int(torch.randint(0, 2**62, (1,), generator=generator))
    raise TypeError(f"generator must be an int seed, a numpy.random.Generator or a torch.Generator, "
                    f"got {type(generator).__name__}")


def _check_step_arrays(output, x, uncond, noise, learned):
    """Shapes and dtypes of a step's arrays (the kernel checks finiteness on the fly)."""
    if x.ndim < 1 or x.shape[0] == 0 or x.size == 0:
        raise ValueError(f"sample must be a non-empty array with a batch dimension, got shape {tuple(x.shape)}")
    for name, a in (("model_output", output), ("sample", x), ("model_output_uncond", uncond),
                    ("variance_noise", noise)):
        if a is not None and a.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} must be float32 or float64, got dtype {a.dtype}")
        if a is not None and a.dtype != x.dtype:
            raise TypeError(f"{name} has dtype {a.dtype} but sample is {x.dtype}; pass one float dtype")
    expected = tuple(x.shape)
    if learned:
        if x.ndim < 2:
            raise ValueError("a learned variance needs samples of shape (batch, channels, ...)")
        expected = (x.shape[0], 2 * x.shape[1]) + tuple(x.shape[2:])
    if tuple(output.shape) != expected:
        what = " (prediction and variance channels)" if learned else ""
        raise ValueError(f"model_output must have shape {expected}{what} to match sample {tuple(x.shape)}, "
                         f"got {tuple(output.shape)}")
    if uncond is not None and tuple(uncond.shape) != expected:
        raise ValueError(f"model_output_uncond must have shape {expected}, got {tuple(uncond.shape)}")
    if noise is not None and tuple(noise.shape) != tuple(x.shape):
        raise ValueError(f"variance_noise must have the shape of sample {tuple(x.shape)}, got {tuple(noise.shape)}")


class DDPMScheduler(_Scheduler):
    """Denoising diffusion probabilistic models (Ho et al. 2020), diffusers' DDPMScheduler
    with a fused step. `fixed_large_log` gives sigma = sqrt(beta_t), where diffusers
    returns NaN; the schedule is computed in float64."""

    def __init__(self, num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                 trained_betas=None, variance_type="fixed_small", clip_sample=True, prediction_type="epsilon",
                 thresholding=False, dynamic_thresholding_ratio=0.995, clip_sample_range=1.0, sample_max_value=1.0,
                 timestep_spacing="leading", steps_offset=0, rescale_betas_zero_snr=False):
        _choice("variance_type", variance_type, VARIANCE_TYPES)
        self._init_schedule(dict(locals(), self=None))
        del self.config.self
        self.variance_type = variance_type
        self.custom_timesteps = False

    def _variance_mode(self):
        return _LEARNED.get(self.variance_type, VarianceMode.FIXED)

    def previous_timestep(self, timestep):
        if self.num_inference_steps is None:
            return timestep - 1
        index = int(np.flatnonzero(self.timesteps == timestep)[0])
        return -1 if index == len(self.timesteps) - 1 else int(self.timesteps[index + 1])

    def _step_row(self, timestep, guidance_scale=None, guidance_rescale=0.0):
        """The float64 coefficients of the step from `timestep` (checked to be in the schedule)."""
        t = timestep
        prev_t = self.previous_timestep(t)
        alpha_prod_t = self.alphas_cumprod[t]
        alpha_prod_t_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else 1.0
        beta_prod_t, beta_prod_t_prev = 1.0 - alpha_prod_t, 1.0 - alpha_prod_t_prev
        current_alpha_t = alpha_prod_t / alpha_prod_t_prev
        current_beta_t = 1.0 - current_alpha_t
        row = self._new_row(guidance_scale, guidance_rescale)
        self._prediction_columns(row, alpha_prod_t, clipped_eps=False)
        row[StepColumn.PREV_X0] = math.sqrt(alpha_prod_t_prev) * current_beta_t / beta_prod_t
        row[StepColumn.PREV_SAMPLE] = math.sqrt(current_alpha_t) * beta_prod_t_prev / beta_prod_t
        variance = max(beta_prod_t_prev / beta_prod_t * current_beta_t, 1e-20)
        if self.variance_type in ("fixed_small", "fixed_small_log"):
            sigma = math.sqrt(variance)
        else:  # fixed_large and fixed_large_log: sqrt(beta_t); learned ones: per element
            sigma = math.sqrt(current_beta_t)
        row[StepColumn.SIGMA] = sigma
        row[StepColumn.MIN_LOG] = math.log(variance)
        row[StepColumn.MAX_LOG] = math.log(current_beta_t)
        row[StepColumn.ADD_NOISE] = 1.0 if t > 0 else 0.0
        return row

    def step(self, model_output, timestep, sample, generator=None, variance_noise=None, return_dict=True, *,
             model_output_uncond=None, guidance_scale=None, guidance_rescale=0.0, backend=None):
        """x_{t-1} and x0 from the model output at `timestep` (see DDPMScheduler.step in diffusers).

        Classifier-free guidance: pass the unconditional output as `model_output_uncond`
        and `guidance_scale` w; the prediction is uncond + w (cond - uncond) (then rescaled
        by `guidance_rescale` as diffusers' rescale_noise_cfg does), inside the same kernel.
        With a learned variance, the variance channels are those of `model_output`.
        """
        t = self._check_timestep(timestep)
        row = self._step_row(t, guidance_scale, _check_rescale(guidance_rescale))
        return self._step(row, False, model_output, t, sample, generator, variance_noise, return_dict,
                          model_output_uncond, guidance_scale, backend)


class DDIMScheduler(_Scheduler):
    """Denoising diffusion implicit models (Song et al. 2021), diffusers' DDIMScheduler with a
    fused step; the schedule is computed in float64."""

    def __init__(self, num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                 trained_betas=None, clip_sample=True, set_alpha_to_one=True, steps_offset=0,
                 prediction_type="epsilon", thresholding=False, dynamic_thresholding_ratio=0.995,
                 clip_sample_range=1.0, sample_max_value=1.0, timestep_spacing="leading",
                 rescale_betas_zero_snr=False):
        self._init_schedule(dict(locals(), self=None))
        del self.config.self
        self.final_alpha_cumprod = 1.0 if set_alpha_to_one else float(self.alphas_cumprod[0])

    def _check_timestep(self, timestep):
        if self.num_inference_steps is None:
            raise ValueError("num_inference_steps is not set: call set_timesteps before step")
        return super()._check_timestep(timestep)

    def _step_row(self, timestep, eta=0.0, use_clipped_model_output=False, guidance_scale=None,
                  guidance_rescale=0.0):
        prev_t = timestep - self.config.num_train_timesteps // self.num_inference_steps
        alpha_prod_t = self.alphas_cumprod[timestep]
        alpha_prod_t_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else self.final_alpha_cumprod
        beta_prod_t, beta_prod_t_prev = 1.0 - alpha_prod_t, 1.0 - alpha_prod_t_prev
        variance = (beta_prod_t_prev / beta_prod_t) * (1.0 - alpha_prod_t / alpha_prod_t_prev)
        std_dev_t = eta * math.sqrt(variance)
        row = self._new_row(guidance_scale, guidance_rescale)
        self._prediction_columns(row, alpha_prod_t, clipped_eps=use_clipped_model_output)
        row[StepColumn.PREV_X0] = math.sqrt(alpha_prod_t_prev)
        row[StepColumn.PREV_EPS] = math.sqrt(max(1.0 - alpha_prod_t_prev - std_dev_t**2, 0.0))
        row[StepColumn.SIGMA] = std_dev_t
        row[StepColumn.ADD_NOISE] = 1.0 if eta > 0 else 0.0
        return row

    def step(self, model_output, timestep, sample, eta=0.0, use_clipped_model_output=False, generator=None,
             variance_noise=None, return_dict=True, *, model_output_uncond=None, guidance_scale=None,
             guidance_rescale=0.0, backend=None):
        """x_{t-1} and x0 from the model output at `timestep` (see DDIMScheduler.step in diffusers);
        guidance as in DDPMScheduler.step."""
        t = self._check_timestep(timestep)
        if not (isinstance(eta, numbers.Real) and eta >= 0):
            raise ValueError(f"eta must be a number >= 0, got {eta!r}")
        row = self._step_row(t, float(eta), bool(use_clipped_model_output), guidance_scale,
                             _check_rescale(guidance_rescale))
        return self._step(row, bool(use_clipped_model_output), model_output, t, sample, generator, variance_noise,
                          return_dict, model_output_uncond, guidance_scale, backend)


def _check_rescale(guidance_rescale):
    if not (isinstance(guidance_rescale, numbers.Real) and 0.0 <= guidance_rescale <= 1.0):
        raise ValueError(f"guidance_rescale must be a number in [0, 1], got {guidance_rescale!r}")
    return float(guidance_rescale)
