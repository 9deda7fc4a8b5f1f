"""The `cuda` backend of the MMD family (interface in _kernels.py): csrc/cuda/mmd.cu, one
thread per row of a cuBLAS GEMM tile (or per pair), its sums written per row in index order
and added by CuPy in a fixed order, whatever the launch geometry."""
import cupy as cp
import numpy as np

from .._cuda import grid, kernel, suffix
from ._kernels import MmdKernels


def _params(params):
    return cp.ascontiguousarray(cp.asarray(params, dtype=cp.float64))


class Kernels(MmdKernels):
    def tile_sum(self, G, x_norm, y_norm, kind, params, diagonal):
        rows, cols = G.shape
        row_sums = cp.empty(rows)
        params = _params(params)
        kernel("mmd", "mmd_tile_sum_" + suffix(G.dtype))(
            *grid(rows), (G, np.uint64(rows), np.int64(cols), x_norm, y_norm, np.int32(kind), params,
                          np.int64(params.size), np.int32(diagonal), row_sums))
        return float(row_sums.sum())

    def tile_weights(self, G, x_norm, y_norm, kind, params, diagonal):
        rows, cols = G.shape
        params = _params(params)
        kernel("mmd", "mmd_tile_weights_" + suffix(G.dtype))(
            *grid(rows), (G, np.uint64(rows), np.int64(cols), x_norm, y_norm, np.int32(kind), params,
                          np.int64(params.size), np.int32(diagonal)))

    def _pairs(self, g, a_norm, b_norm, kind, params, weights, values):
        params = _params(params)
        kernel("mmd", "mmd_pairs_" + suffix(g.dtype))(
            *grid(g.size), (g, np.uint64(g.size), a_norm, b_norm, np.int32(kind), params, np.int64(params.size),
                            np.bool_(weights), values))

    def pair_sum(self, g, a_norm, b_norm, kind, params):
        values = cp.empty(g.size)
        self._pairs(g, a_norm, b_norm, kind, params, False, values)
        return float(values.sum())

    def pair_weights(self, g, a_norm, b_norm, kind, params):
        self._pairs(g, a_norm, b_norm, kind, params, True, a_norm)
