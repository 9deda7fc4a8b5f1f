"""The fused step and the normals on each backend, on the backend's own arrays.

    step(row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample, noise, prev, x0_out,
         seed, call, finite) -> finite
        one step (csrc/include/fastgen/diffusion.h) with the float64 coefficient row `row`
        (a device array on `cuda`); `uncond`, `noise`, `x0_out` may be None; `prev` may be
        `sample`. Returns whether the model output was finite: a bool on the CPU backends;
        on `cuda` the device flag `finite` (int32, set to 0 by a bad value) is returned
        without a host synchronisation.
    normals(n, seed, call, stream) -> float32 (n,)
"""
from __future__ import annotations

import functools

import numpy as np

# Column layout of a step's coefficient row: enum StepColumn in csrc/include/fastgen/diffusion.h.
COLUMNS = ("x0_sample", "x0_output", "x0_scale", "eps_sample", "eps_other", "eps_scale", "prev_x0", "prev_sample",
           "prev_eps", "sigma", "min_log", "max_log", "add_noise", "guidance", "clip_range", "rescale",
           "threshold_ratio", "max_value")
COLUMN = {name: i for i, name in enumerate(COLUMNS)}
CLIP_NONE, CLIP_RANGE, CLIP_THRESHOLD = 0, 1, 2
VARIANCE_FIXED, VARIANCE_LEARNED, VARIANCE_LEARNED_RANGE = 0, 1, 2
STREAM_STEP_NOISE, STREAM_INITIAL_NOISE = 0, 1


class _Cpu:
    def __init__(self):
        from .. import _core

        if _core.diffusion.N_STEP_COLUMNS != len(COLUMNS):
            raise RuntimeError("fastgen._core was built with another step layout; rebuild it")
        self._core = _core

    def step(self, row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample, noise, prev, x0_out,
             seed, call, finite=None):
        return self._core.diffusion.step(row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample,
                                         noise, prev, x0_out, seed, call)

    def normals(self, n, seed, call, stream):
        return self._core.random.normals(n, seed, call, stream)


class _Numba:
    def __init__(self):
        from .. import _numba_diffusion

        self._nb = _numba_diffusion

    def step(self, row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample, noise, prev, x0_out,
             seed, call, finite=None):
        return self._nb.diffusion_step(row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample,
                                       noise, prev, x0_out, seed, call)

    def normals(self, n, seed, call, stream):
        return self._nb.normals(n, seed, call, stream)


@functools.lru_cache(maxsize=None)
def kernels(backend):
    if backend == "cpu":
        return _Cpu()
    if backend == "numba":
        return _Numba()
    if backend == "cuda":
        from ._cuda import CudaStep

        return CudaStep()
    raise ValueError(f"no diffusion kernels for backend {backend!r}")


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
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and isinstance(generator, torch.Generator):
        if generator.device.type != "cpu":
            return int(generator.initial_seed()) & (2**64 - 1)
        return int(torch.randint(0, 2**62, (1,), generator=generator))
    raise TypeError(f"generator must be an int seed, a numpy.random.Generator or a torch.Generator, "
                    f"got {type(generator).__name__}")
