"""The diffusers drop-ins: fastgen.DDPMScheduler and fastgen.DDIMScheduler are subclasses of
diffusers' DDPMScheduler and DDIMScheduler (so SchedulerMixin and ConfigMixin: config,
from_config, save_pretrained, from_pretrained, compatibles, pipelines) whose hot path runs
fastgen's fused kernels: `step` (with fused guidance and per-sample timesteps),
`add_noise` and `get_velocity`. Everything else (constructor, set_timesteps,
previous_timestep, _get_variance, the schedule attributes) is diffusers' own.

Needs diffusers (`pip install fastgen[diffusers]`); fastgen's own DDPMSchedule and
DDIMSchedule (schedules.py), fastgen.sample and the kernels work without it.

The coefficients of the fused ops come from a float64 schedule: the float64 betas of the
same config (fastgen/diffusion/schedules.py: make_betas), so that they carry no float32
rounding (diffusers' float32 cumprod keeps about 4 digits of 1 - alphas_cumprod near t = 0).
The attributes `betas`, `alphas`, `alphas_cumprod` stay diffusers' float32 tensors for
everything else that reads them; should they be replaced or changed, the fused ops follow
the new values (in float64).
"""
from __future__ import annotations

import functools

try:
    import torch
    from diffusers.schedulers.scheduling_ddim import DDIMScheduler as _DiffusersDDIM
    from diffusers.schedulers.scheduling_ddim import DDIMSchedulerOutput
    from diffusers.schedulers.scheduling_ddpm import DDPMScheduler as _DiffusersDDPM
    from diffusers.schedulers.scheduling_ddpm import DDPMSchedulerOutput
except ImportError as exc:
    raise ImportError(
        "fastgen.DDPMScheduler and fastgen.DDIMScheduler are diffusers schedulers and need diffusers (and torch): "
        "pip install 'fastgen[diffusers]'. Without it, fastgen.diffusion.DDPMSchedule / DDIMSchedule, "
        "fastgen.sample and the fused step kernels work as they are.") from exc

import numpy as np

from ._fused import FusedDDIM, FusedDDPM
from .schedules import BETA_SCHEDULES, make_betas, previous_in_schedule


def _float64(values):
    if isinstance(values, torch.Tensor):
        return values.detach().to("cpu", torch.float64).numpy()
    return np.asarray(values, dtype=np.float64)


def _scheduler_output(cls, prev, x0):
    """cls(prev_sample=prev, pred_original_sample=x0), a diffusers BaseOutput, built as its
    __post_init__ leaves it (each field a key and an attribute, in field order) without the
    dataclass machinery, which cost 3 us a step (measured; tests/diffusion compare the two)."""
    output = cls.__new__(cls)
    output["prev_sample"] = prev  # BaseOutput.__setitem__ sets the key and the attribute
    output["pred_original_sample"] = x0
    return output


class _FusedSchedule:
    """The float64 schedule behind the fused ops of a drop-in, and the timesteps as NumPy."""

    def _unfused(self):
        return next(base for base in type(self).__mro__ if base.__module__.startswith("diffusers."))

    def _fastgen_init(self):
        c = self.config
        if c.trained_betas is not None or c.beta_schedule in BETA_SCHEDULES:
            betas = make_betas(c.num_train_timesteps, c.beta_start, c.beta_end, c.beta_schedule, c.trained_betas,
                               c.rescale_betas_zero_snr)
        else:  # a schedule only diffusers computes: its (already rescaled) betas, cumulated in float64
            betas = _float64(self.betas)
        self._fastgen_schedule64 = np.cumprod(1.0 - betas)
        self._fastgen_reference = _float64(self.alphas_cumprod)  # diffusers' values, to recognise them
        self._fastgen_converted = {}
        self._fastgen_timesteps = None

    def _converted(self, name, convert):
        """convert(self.<name>), computed once per object and version of that attribute (a
        torch tensor's `_version` counts its in-place changes; a value without one is
        converted on every call): a step reads the schedule's tensors without converting
        them again."""
        current = getattr(self, name)
        version = getattr(current, "_version", None)
        converted = self.__dict__.setdefault("_fastgen_converted", {})  # (also for pickles older than it)
        cache = converted.get(name)
        if cache is not None and cache[0] is current and version is not None and cache[1] == version:
            return cache[2]
        value = convert(current)
        converted[name] = (current, version, value)
        return value

    def _alphas_cumprod64(self):
        """The float64 alphas_cumprod of the fused ops: the config's float64 schedule while
        `alphas_cumprod` holds diffusers' values (on any device), else the values it holds."""
        return self._converted("alphas_cumprod", self._schedule64)

    def _schedule64(self, alphas_cumprod):
        values = _float64(alphas_cumprod)
        same = values.shape == self._fastgen_reference.shape and np.array_equal(values, self._fastgen_reference)
        return self._fastgen_schedule64 if same else values

    def _previous_timesteps(self, t):
        """diffusers' previous_timestep for each of `t`, from a table of the timesteps (built
        once per timesteps tensor)."""
        if not (self.custom_timesteps or self.num_inference_steps):
            return t - 1
        current = self.timesteps
        version = getattr(current, "_version", None)
        cache = self._fastgen_timesteps
        if cache is None or cache[0] is not current or cache[1] != version or version is None:
            cache = self._fastgen_timesteps = (current, version, {})
        return previous_in_schedule(_float64(current).astype(np.int64) if not cache[2] else None, t, cache[2])


class DDPMScheduler(_FusedSchedule, FusedDDPM, _DiffusersDDPM):
    """diffusers' DDPMScheduler (a subclass: same constructor, config, save/load, set_timesteps,
    attributes and pipelines) whose `step`, `add_noise` and `get_velocity` are each one fused
    fastgen kernel on torch tensors (any device), NumPy or CuPy arrays.

    How it differs from diffusers.DDPMScheduler:
    - Coefficients come from the float64 schedule of the same config, not the float32
      tensors (which stay diffusers' own for everything else): results differ from
      diffusers' by the float32 rounding of its schedule, about 1e-7 relative for epsilon
      prediction, up to 1e-3 for sample prediction in the last steps, where 1 /
      sqrt(1 - alphas_cumprod) magnifies diffusers' rounding.
    - Noise: a torch.Generator (or a list, one per sample) draws diffusers' noise
      (randn_tensor), so that the same generator gives diffusers' results. Without a
      generator the noise is drawn inside the kernel from Philox with a fresh seed, so
      torch.manual_seed does not make it reproducible (pass an int seed as `generator`
      for a reproducible in-kernel draw).
    - `fixed_large_log` gives the std sqrt(beta_t) where diffusers returns NaN.
    - A step whose result would hold NaN or infinity raises ValueError on the CPU backends,
      naming the input that holds them (model_output, model_output_uncond, sample,
      variance_noise) or else the schedule (zero terminal SNR with epsilon prediction at the
      last timestep divides by 0); diffusers returns the NaN. So does a schedule whose
      alphas_cumprod leaves [0, 1] at a stepped timestep, and a constant guided prediction
      with guidance_rescale is left unrescaled (diffusers: 0 / 0).
    - float16 and bfloat16 inputs are computed in float32 and returned in their dtype
      (diffusers computes in their dtype).
    - A timestep outside the schedule after set_timesteps, or a model output of the wrong
      shape, is a ValueError naming both, before any work (diffusers: IndexError or a
      broadcasting error).
    - Extensions: per-sample timesteps (a 1-D tensor with one per sample), fused
      classifier-free guidance (`model_output_uncond`, `guidance_scale`,
      `guidance_rescale`), `variance_noise`, `backend`.
    - The fused ops build no autograd graph: with inputs that require grad (and grad
      enabled), a plain step, add_noise or get_velocity falls back to diffusers' own.
    """

    __module__ = "fastgen"

    @functools.wraps(_DiffusersDDPM.__init__)
    def __init__(self, *args, **kwargs):
        _DiffusersDDPM.__init__(self, *args, **kwargs)
        self._fastgen_init()

    def _output(self, prev, x0):
        return _scheduler_output(DDPMSchedulerOutput, prev, x0)


class DDIMScheduler(_FusedSchedule, FusedDDIM, _DiffusersDDIM):
    """diffusers' DDIMScheduler (a subclass: same constructor, config, save/load, set_timesteps,
    attributes and pipelines) whose `step`, `add_noise` and `get_velocity` are each one fused
    fastgen kernel on torch tensors (any device), NumPy or CuPy arrays.

    How it differs from diffusers.DDIMScheduler:
    - Coefficients come from the float64 schedule of the same config (and the float64
      final_alpha_cumprod), as for fastgen.DDPMScheduler: results differ from diffusers' by
      the float32 rounding of its schedule (about 1e-7 relative for epsilon prediction, up
      to 1e-3 where sample prediction divides by sqrt(1 - alphas_cumprod) near t = 0).
    - Noise (eta > 0): a torch.Generator (or a list) draws diffusers' noise; without one,
      Philox inside the kernel with a fresh seed (not torch's global generator); an int
      seed as `generator` makes that draw reproducible.
    - The direction coefficient sqrt(1 - a_prev - std^2) is clamped at 0 where diffusers
      gets NaN (eta > 1).
    - A step whose result would hold NaN or infinity raises ValueError on the CPU backends,
      naming the input or the schedule, as for fastgen.DDPMScheduler; float16 and
      bfloat16 are computed in float32 and returned in their dtype; a timestep outside
      [0, num_train_timesteps) or a model output of the wrong shape is a ValueError
      naming both.
    - Extensions: per-sample timesteps, fused classifier-free guidance (`model_output_uncond`,
      `guidance_scale`, `guidance_rescale`), `backend`.
    - No autograd graph: with inputs that require grad, a plain step, add_noise or
      get_velocity falls back to diffusers' own.
    - DDIMPipeline's constructor converts any scheduler it is given with
      diffusers.DDIMScheduler.from_config (diffusers' code): to run a DDIMPipeline on this
      class, assign `pipe.scheduler = fastgen.DDIMScheduler.from_config(pipe.scheduler.config)`
      after constructing or loading it.
    """

    __module__ = "fastgen"

    @functools.wraps(_DiffusersDDIM.__init__)
    def __init__(self, *args, **kwargs):
        _DiffusersDDIM.__init__(self, *args, **kwargs)
        self._fastgen_init()
        self._fastgen_final_reference = float(self.final_alpha_cumprod)

    def _final_alpha_cumprod64(self):
        value = self._converted("final_alpha_cumprod", float)
        if value == self._fastgen_final_reference and self._alphas_cumprod64() is self._fastgen_schedule64:
            return 1.0 if self.config.set_alpha_to_one else float(self._fastgen_schedule64[0])
        return value

    def _output(self, prev, x0):
        return _scheduler_output(DDIMSchedulerOutput, prev, x0)


__all__ = ["DDIMScheduler", "DDPMScheduler"]
