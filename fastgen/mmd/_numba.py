"""The `numba` backend of the MMD family: the per-pair math of csrc/include/fastgen/mmd.h and
the loops of csrc/cpu/mmd.h, operation for operation (rows, or blocks of MMD_PAIR_BLOCK
pairs, summed in order into a float64 buffer that is then added in order), so that the
result does not depend on the number of threads."""
import numba
import numpy as np
from numba import njit, prange

from .._constants import MMD_PAIR_BLOCK, MMD_PARALLEL_WORK, MmdDiagonal, MmdKernel
from .._numba import Variants
from ._kernels import MmdKernels


@njit(cache=True, inline="always")
def _integer_power(x, n):
    """integer_power of mmd.h: x^n for n >= 0 by squaring."""
    result = 1.0
    while n > 0:
        if n & 1:
            result *= x
        x *= x
        n >>= 1
    return result


@njit(cache=True, inline="always")
def _squared_distance(g, x_norm, y_norm):
    d2 = x_norm + y_norm - 2.0 * g
    return d2 if d2 > 0.0 else 0.0


@njit(cache=True, inline="always")
def _value(kind, params, g, d2):
    """kernel_value of mmd.h."""
    if kind == MmdKernel.POLYNOMIAL:
        return _integer_power(params[0] * g + params[1], np.int64(params[2]))
    r = d2 if kind == MmdKernel.GAUSSIAN else np.sqrt(d2)
    total = 0.0
    for s in range(params.shape[0]):
        total += np.exp(-r * params[s])
    return total


@njit(cache=True, inline="always")
def _weight(kind, params, g, d2):
    """kernel_weight of mmd.h."""
    if kind == MmdKernel.POLYNOMIAL:
        degree = np.int64(params[2])
        return degree * params[0] * _integer_power(params[0] * g + params[1], degree - 1)
    total = 0.0
    if kind == MmdKernel.GAUSSIAN:
        for s in range(params.shape[0]):
            total += 2.0 * params[s] * np.exp(-d2 * params[s])
        return total
    if d2 == 0.0:
        return 0.0
    d = np.sqrt(d2)
    for s in range(params.shape[0]):
        total += params[s] * np.exp(-d * params[s])
    return total / d


@njit(cache=True)
def _sum_in_order(values):
    total = 0.0
    for v in values:
        total += v
    return total


def _tile_row_sums(G, x_norm, y_norm, kind, params, diagonal, row_sums):
    rows, cols = G.shape
    for i in prange(rows):
        total = 0.0
        split = cols if diagonal == MmdDiagonal.NONE else i
        for j in range(split):
            g = np.float64(G[i, j])
            total += _value(kind, params, g, _squared_distance(g, x_norm[i], y_norm[j]))
        if diagonal != MmdDiagonal.NONE:
            if diagonal == MmdDiagonal.INCLUDE:
                total += _value(kind, params, np.float64(G[i, i]), 0.0)
            for j in range(i + 1, cols):
                g = np.float64(G[i, j])
                total += _value(kind, params, g, _squared_distance(g, x_norm[i], y_norm[j]))
        row_sums[i] = total


def _tile_row_weights(G, x_norm, y_norm, kind, params, diagonal):
    rows, cols = G.shape
    for i in prange(rows):
        for j in range(cols):
            g = np.float64(G[i, j])
            d2 = 0.0 if diagonal != MmdDiagonal.NONE and j == i else _squared_distance(g, x_norm[i], y_norm[j])
            G[i, j] = _weight(kind, params, g, d2)
        if diagonal == MmdDiagonal.EXCLUDE:
            G[i, i] = 0.0


def _pair_block_sums(g, a_norm, b_norm, kind, params, block_sums):
    n = g.shape[0]
    for b in prange(block_sums.shape[0]):
        total = 0.0
        for p in range(b * MMD_PAIR_BLOCK, min(n, (b + 1) * MMD_PAIR_BLOCK)):
            gp = np.float64(g[p])
            total += _value(kind, params, gp, _squared_distance(gp, a_norm[p], b_norm[p]))
        block_sums[b] = total


def _pair_block_weights(g, a_norm, b_norm, kind, params):
    for p in prange(g.shape[0]):
        gp = np.float64(g[p])
        g[p] = _weight(kind, params, gp, _squared_distance(gp, a_norm[p], b_norm[p]))


_tile_sum_kernel = Variants(_tile_row_sums, MMD_PARALLEL_WORK)
_tile_weights_kernel = Variants(_tile_row_weights, MMD_PARALLEL_WORK)
_pair_sum_kernel = Variants(_pair_block_sums, MMD_PARALLEL_WORK)
_pair_weights_kernel = Variants(_pair_block_weights, MMD_PARALLEL_WORK)


def _work(size):
    """The work a kernel reports to Variants: none on a thread set to one (the tile pool's workers in
    _loops.py run several kernels at once, and not every Numba threading layer takes concurrent
    parallel launches)."""
    return size if numba.get_num_threads() > 1 else 0


class Kernels(MmdKernels):
    def tile_sum(self, G, x_norm, y_norm, kind, params, diagonal):
        row_sums = np.empty(G.shape[0])
        _tile_sum_kernel(_work(G.size), G, x_norm, y_norm, int(kind), params, int(diagonal), row_sums)
        return _sum_in_order(row_sums)

    def tile_weights(self, G, x_norm, y_norm, kind, params, diagonal):
        _tile_weights_kernel(_work(G.size), G, x_norm, y_norm, int(kind), params, int(diagonal))

    def pair_sum(self, g, a_norm, b_norm, kind, params):
        block_sums = np.empty((g.shape[0] + MMD_PAIR_BLOCK - 1) // MMD_PAIR_BLOCK)
        _pair_sum_kernel(_work(g.size), g, a_norm, b_norm, int(kind), params, block_sums)
        return _sum_in_order(block_sums)

    def pair_weights(self, g, a_norm, b_norm, kind, params):
        _pair_weights_kernel(_work(g.size), g, a_norm, b_norm, int(kind), params)


NUMBA_DEPENDENCIES = {"fastgen._constants": "357de233da57d201", "fastgen._numba": "ed1a5bbaf7344969"}
