"""The kernel interface of the diffusion family: one fused reverse-diffusion step and the
per-sample blend of add_noise / get_velocity (csrc/include/fastgen/diffusion.h) on one
backend's own arrays; x_T comes from the random family's normals. Implemented by `Kernels`
in _cpu.py, _numba.py and _cuda.py; tests/test_layout.py checks that each implements every
method here.
"""
import abc


class DiffusionKernels(abc.ABC):
    @abc.abstractmethod
    def step(self, row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample, noise, prev, x0_out,
             seed, call, finite=None, calls=None, first_row=0):
        """One step with the float64 coefficients `row` (columns: fastgen._constants.StepColumn;
        a device array on `cuda`): one row for the batch, or a (batch, N_STEP_COLUMNS) array of
        one row per sample (per-sample timesteps). Switches `clip_mode` (ClipMode) and
        `variance_mode` (VarianceMode). `uncond`, `noise` and `x0_out` may be None, `prev` may be
        `sample`; without `noise` the step draws (seed, call, DiffusionStream.STEP_NOISE), or
        (seed, calls[b], ...) for sample b when `calls` (uint32, one per sample) is given, sample b
        drawing as sample first_row + b of a larger batch (a block of a batch split over workers).
        Returns whether the model output was finite: a bool on the CPU backends; on `cuda` the
        device flag `finite` (int32, set to 0 by a bad value), without a host synchronisation."""

    @abc.abstractmethod
    def scaled_sum(self, a, x, c, y, out):
        """out = a[b] x + c[b] y for each sample b of the (batch, ...) arrays x, y, out (one
        dtype), `a` and `c` float64 of length batch (device arrays on `cuda`), rounded to the
        arrays' dtype once: add_noise (x0, noise) and get_velocity (noise, sample)."""
