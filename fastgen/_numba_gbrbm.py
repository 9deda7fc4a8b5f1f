"""The `numba` backend of the Gaussian-Bernoulli RBM's visible half-step: the loop of
csrc/cpu/gbrbm_cpu.h over the math of csrc/include/fastgen/gbrbm.h, operation for
operation (float32 stays float32), so that `cpu` and `numba` draw bit-identical states.

Only the Philox normals come from _kernels_numba (frozen, checked against known answers);
the kernel itself lives here, because Numba's cache only watches the file of the cached
function."""
import numpy as np
from numba import prange

from ._kernels_numba import _PARALLEL_ELEMENTS, _row_normals, _Variants


def _gaussian(products, bias, sigma, mean, state, seed, call, stream):
    # gaussian_rows of gbrbm_cpu.h: each row's normals into a buffer, then gaussian_unit
    rows, n_cols = products.shape
    scalar = products.dtype.type
    for r in prange(rows):
        u = np.empty(2 * (n_cols + 2), np.float32)
        radius = np.empty(n_cols // 2 + 2, np.float32)
        angle = np.empty(n_cols // 2 + 2, np.float32)
        bits = np.empty(n_cols // 2 + 2, np.uint32)
        z = np.empty(n_cols, np.float32)
        _row_normals(r * n_cols, n_cols, seed, call, stream, u, radius, angle, bits, z)
        for j in range(n_cols):
            m = products[r, j] + bias[j]
            mean[r, j] = m
            state[r, j] = m + sigma[j] * scalar(z[j])


_gaussian_kernel = _Variants(_gaussian, _PARALLEL_ELEMENTS)


def gaussian(products, bias, sigma, seed, call, stream):
    """(state, mean) with mean = products + bias (in place of `products`), state ~ N(mean, sigma^2)."""
    state = np.empty_like(products)
    _gaussian_kernel(products.size, products, bias, sigma, products, state, np.uint64(seed), np.uint64(call),
                     np.uint64(stream))
    return state, products
