"""The kernel interface of the diffusion family: one fused reverse-diffusion step
(csrc/include/fastgen/diffusion.h) on one backend's own arrays; x_T comes from the random
family's normals. Implemented by `Kernels` in _cpu.py, _numba.py and _cuda.py;
tests/test_layout.py checks that each implements every method here.
"""
import abc


class DiffusionKernels(abc.ABC):
    @abc.abstractmethod
    def step(self, row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample, noise, prev, x0_out,
             seed, call, finite=None):
        """One step with the float64 coefficient row `row` (columns: fastgen._constants.StepColumn;
        a device array on `cuda`) and the switches `clip_mode` (ClipMode) and `variance_mode`
        (VarianceMode). `uncond`, `noise` and `x0_out` may be None, `prev` may be `sample`;
        without `noise` the step draws (seed, call, DiffusionStream.STEP_NOISE). Returns whether
        the model output was finite: a bool on the CPU backends; on `cuda` the device flag
        `finite` (int32, set to 0 by a bad value), without a host synchronisation."""
