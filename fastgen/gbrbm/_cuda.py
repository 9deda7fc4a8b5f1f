"""The `cuda` backend of the Gaussian-Bernoulli RBM family: csrc/cuda/gbrbm.cu, one thread per
Philox block of four elements, so that the normals are those of the CPU backends whatever
the launch geometry."""
import cupy as cp
import numpy as np

from .._cuda import grid, kernel, suffix
from ._kernels import GbrbmKernels


class Kernels(GbrbmKernels):
    def gaussian(self, means, bias, sigma, seed, call, stream, first_row=0):
        means = cp.ascontiguousarray(means)
        state = cp.empty_like(means)
        n = means.size
        kernel("gbrbm", "gaussian_" + suffix(means.dtype))(
            *grid((n + 3) // 4), (means, cp.ascontiguousarray(bias), cp.ascontiguousarray(sigma), means, state,
                                  np.uint64(n), np.uint64(means.shape[1]), np.uint64(first_row), np.uint64(seed),
                                  np.uint32(call), np.uint32(stream)))
        return state, means
