"""The `cuda` backend of the diffusion family: csrc/cuda/diffusion.cu through CuPy RawModule.

Everything stays on the device: the coefficient rows are a device array, the per-sample
guidance_rescale factor and dynamic threshold are CuPy reductions (a sort for the
quantile: more passes than on the CPU, which selects in cache), and a non-finite model
output clears the device flag `finite` instead of raising (reading it would synchronise).
"""
import cupy as cp
import numpy as np

from .._constants import N_STEP_COLUMNS, ClipMode, StepColumn
from .._cuda import grid, kernel, pointer, suffix
from ._kernels import DiffusionKernels


class Kernels(DiffusionKernels):
    def step(self, row, clip_mode, variance_mode, eps_from_clipped, output, uncond, sample, noise, prev, x0_out,
             seed, call, finite=None, calls=None, first_row=0):
        batch = sample.shape[0]
        n = sample.size // batch
        stride = output.size // batch
        rows = row.reshape(-1, N_STEP_COLUMNS)
        row_stride = 0 if rows.shape[0] == 1 else N_STEP_COLUMNS
        if calls is not None:
            calls = cp.ascontiguousarray(cp.asarray(calls, dtype=cp.uint32))
        factor = None
        if uncond is not None:
            # guidance and rescale are the same in every row (they come from the step's arguments)
            cond = output.reshape(batch, stride)[:, :n]
            guided = uncond.reshape(batch, stride)[:, :n]
            guided = guided + rows[0, StepColumn.GUIDANCE].astype(sample.dtype) * (cond - guided)
            rescale = rows[0, StepColumn.RESCALE].astype(sample.dtype)
            guided_std = guided.std(axis=1)
            ratio = cp.where(guided_std > 0, cond.std(axis=1) / cp.where(guided_std > 0, guided_std, 1), 1)
            factor = cp.ascontiguousarray(rescale * ratio + (1 - rescale))  # 1 when rescale is 0
        x0_pre = bound = None
        if clip_mode == ClipMode.THRESHOLD:
            x0_pre = cp.empty_like(sample)
            kernel("diffusion", "unclipped_x0_" + suffix(sample.dtype))(
                *grid(sample.size), (row, np.uint64(row_stride), output, pointer(uncond), sample, pointer(factor),
                                      x0_pre, np.uint64(n), np.uint64(sample.size), np.uint64(stride)))
            bound = _thresholds(x0_pre.reshape(batch, n), rows[0])
        kernel("diffusion", "diffusion_step_" + suffix(sample.dtype))(
            *grid((sample.size + 3) // 4),
            (row, np.uint64(row_stride), pointer(calls), np.int32(clip_mode), np.int32(variance_mode),
             np.int32(bool(eps_from_clipped)), output, pointer(uncond), sample, pointer(noise), pointer(x0_pre),
             pointer(factor), pointer(bound), prev, pointer(x0_out), np.uint64(n), np.uint64(sample.size),
             np.uint64(stride), np.uint64(seed), np.uint32(call), np.uint64(first_row), finite))
        return finite

    def scaled_sum(self, a, x, c, y, out):
        batch = a.shape[0]
        kernel("diffusion", "scaled_sum_" + suffix(x.dtype))(
            *grid(x.size), (a, x, c, y, out, np.uint64(x.size // batch), np.uint64(x.size)))


def _thresholds(x0, row):
    """threshold_from_order_statistics of diffusion.h for each row of x0, on the device
    (the ratio and the maximum are the same in every row: they come from the config)."""
    n = x0.shape[1]
    dtype = x0.dtype.type
    ordered = cp.sort(cp.abs(x0), axis=1)
    rank = row[StepColumn.THRESHOLD_RATIO].astype(x0.dtype) * dtype(n - 1)
    below_index = rank.astype(cp.int64)
    above_index = cp.ceil(rank).astype(cp.int64)
    below = cp.take(ordered, below_index, axis=1)
    above = cp.take(ordered, above_index, axis=1)
    weight = rank - below_index.astype(x0.dtype)
    q = cp.where(weight < 0.5, below + weight * (above - below), above - (above - below) * (1 - weight))
    return cp.ascontiguousarray(cp.minimum(cp.maximum(q, 1), row[StepColumn.MAX_VALUE].astype(x0.dtype)))
