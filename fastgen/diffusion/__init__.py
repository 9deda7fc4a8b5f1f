"""Diffusion sampling: DDPM/DDIM steps as fused kernels, a whole-loop sampler, and an exact
denoiser for Gaussian-mixture data.

- `DDPMScheduler`, `DDIMScheduler`: diffusers' schedulers (subclasses) whose step,
  add_noise and get_velocity are fastgen's fused kernels; need diffusers
  (`pip install fastgen[diffusers]`), imported on first use.
- `DDPMSchedule`, `DDIMSchedule`: fastgen's own schedules with the same parameters and
  fused ops, without diffusers (float64 NumPy attributes).
- `sample`: the whole reverse loop around a model, with either kind of scheduler.
- `GaussianMixtureDenoiser`: the exact denoiser of a Gaussian mixture.
"""
import importlib

from .mixture import GaussianMixtureDenoiser
from .sampler import sample
from .schedules import DDIMSchedule, DDPMSchedule, SchedulerOutput

_DROP_INS = ("DDIMScheduler", "DDPMScheduler")

__all__ = ["DDIMSchedule", "DDIMScheduler", "DDPMSchedule", "DDPMScheduler", "GaussianMixtureDenoiser",
           "SchedulerOutput", "sample"]


def __getattr__(name):
    if name in _DROP_INS:  # raises ImportError naming fastgen[diffusers] where diffusers is missing
        value = getattr(importlib.import_module("fastgen.diffusion.schedulers"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fastgen.diffusion' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_DROP_INS))
