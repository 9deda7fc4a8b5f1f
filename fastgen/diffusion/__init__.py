"""Diffusion sampling: drop-in DDPM/DDIM schedulers with fused steps, a whole-loop sampler,
and an exact denoiser for Gaussian-mixture data."""
from .mixture import GaussianMixtureDenoiser
from .sampler import sample
from .schedulers import DDIMScheduler, DDPMScheduler, SchedulerOutput

__all__ = ["DDIMScheduler", "DDPMScheduler", "GaussianMixtureDenoiser", "SchedulerOutput", "sample"]
