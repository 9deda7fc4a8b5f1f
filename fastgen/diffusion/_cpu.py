"""The `cpu` backend of the diffusion family: csrc/cpu/diffusion.h through fastgen._core.diffusion."""
from .._constants import N_STEP_COLUMNS
from .._core import diffusion as _core
from ._kernels import DiffusionKernels


class Kernels(DiffusionKernels):
    def __init__(self):
        if _core.N_STEP_COLUMNS != N_STEP_COLUMNS:
            raise RuntimeError("fastgen._core was built with another step layout; rebuild it")

    def step(self, row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample, noise, prev, x0_out,
             seed, call, finite=None, calls=None, first_row=0):
        return _core.step(row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample, noise, prev, x0_out,
                          seed, call, calls, first_row)

    def scaled_sum(self, a, x, c, y, out):
        _core.scaled_sum(a, x, c, y, out)
