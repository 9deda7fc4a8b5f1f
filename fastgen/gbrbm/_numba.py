"""The `numba` backend of the Gaussian-Bernoulli RBM family: the loop of csrc/cpu/gbrbm.h over
the math of csrc/include/fastgen/gbrbm.h, operation for operation (float32 stays float32),
so that `cpu` and `numba` draw bit-identical states."""
import numpy as np
from numba import prange

from .._constants import PARALLEL_WORK
from .._numba import Variants
from ..random._numba import row_normals
from ._kernels import GbrbmKernels


def _gaussian(products, bias, sigma, mean, state, seed, call, stream, first_row):
    # gaussian_rows of csrc/cpu/gbrbm.h: each row's normals into a buffer, then gaussian_unit
    rows, n_cols = products.shape
    scalar = products.dtype.type
    for r in prange(rows):
        u = np.empty(2 * (n_cols + 2), np.float32)
        radius = np.empty(n_cols // 2 + 2, np.float32)
        angle = np.empty(n_cols // 2 + 2, np.float32)
        bits = np.empty(n_cols // 2 + 2, np.uint32)
        z = np.empty(n_cols, np.float32)
        row_normals((first_row + r) * n_cols, n_cols, seed, call, stream, u, radius, angle, bits, z)
        for j in range(n_cols):
            m = products[r, j] + bias[j]
            mean[r, j] = m
            state[r, j] = m + sigma[j] * scalar(z[j])


_gaussian_kernel = Variants(_gaussian, PARALLEL_WORK)


class Kernels(GbrbmKernels):
    def gaussian(self, means, bias, sigma, seed, call, stream, first_row=0):
        state = np.empty_like(means)
        _gaussian_kernel(means.size, means, bias, sigma, means, state, np.uint64(seed), np.uint64(call),
                         np.uint64(stream), np.int64(first_row))
        return state, means


NUMBA_DEPENDENCIES = {
    "fastgen._constants": "357de233da57d201",
    "fastgen._numba": "ed1a5bbaf7344969",
    "fastgen.random._numba": "fc18639b27286561",
}
