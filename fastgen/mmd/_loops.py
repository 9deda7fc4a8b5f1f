"""The unchecked MMD algorithms on a backend's arrays (`kernels.xp`): the estimators and
their gradients as tiled passes. Each tile's dot products are one GEMM through the
backend's BLAS into a TILE x TILE buffer, which one fused kernel (kernels.mmd) turns into
kernel values and reduces, or into gradient weights; so the N x M kernel matrix is never
stored and the memory is O((N + M) D + threads TILE^2).

Deterministic whatever the number of threads: the tiles are fixed (TILE rows a side), each
tile's GEMM runs on one BLAS thread (OpenBLAS's multi-threaded sgemm rounds differently with
1 and 2 threads: measured), the CPU backends' threads take whole tiles (_TilePool), and the
tiles' sums are added in a fixed order.
"""
from __future__ import annotations

import concurrent.futures
import threading
from typing import NamedTuple

import numpy as np

from .._blas import one_blas_thread
from .._constants import MmdDiagonal, MmdKernel

# Rows of a tile side. Fixed (never derived from the thread count), so that the partition,
# and so the order of the sums, is the same on every machine; large enough that each tile's
# GEMM runs near the BLAS peak (2048 x 2048 x D), small enough for the buffer to stay at
# 16 MB (float32) or 32 MB (float64) per thread.
TILE = 2048


class KernelSpec(NamedTuple):
    """A kernel as the passes take it: its MmdKernel and float64 parameters (layout in mmd.h)."""

    kind: MmdKernel
    params: np.ndarray


ESTIMATORS = ("unbiased", "biased", "linear")


def squared_norms(xp, X):
    """(N,) float64: |x_n|^2, a tile of rows at a time (no float64 copy of X)."""
    out = xp.empty(X.shape[0], dtype=xp.float64)
    for start in range(0, X.shape[0], TILE):
        block = X[start:start + TILE].astype(xp.float64)
        out[start:start + TILE] = (block * block).sum(axis=1)
    return out


def _starts(n):
    return range(0, n, TILE)


class _Tiles:
    """The GEMM tiles of one thread: one reusable buffer, each tile a C-contiguous view of it."""

    def __init__(self, xp, dtype):
        self.xp = xp
        self.buffer = xp.empty(TILE * TILE, dtype=dtype)

    def dots(self, A, B):
        """A B^T (rows of A, rows of B) in the buffer."""
        G = self.buffer[:A.shape[0] * B.shape[0]].reshape(A.shape[0], B.shape[0])
        self.xp.matmul(A, B.T, out=G)
        return G


class _TilePool:
    """Runs one job per tile (or row of tiles) and returns their results in job order. On the CPU
    backends: BLAS on one thread throughout, and with several jobs, the backend's threads each take
    whole jobs, their kernels on one thread; with one job, its fused kernel keeps all threads."""

    def __init__(self, kernels, dtype):
        self.kernels = kernels
        self.dtype = dtype
        self.host = kernels.name != "cuda"
        self.n_threads = kernels.get_num_threads() if self.host else 1
        self.local = threading.local()

    def _tiles(self):
        if not hasattr(self.local, "tiles"):
            self.local.tiles = _Tiles(self.kernels.xp, self.dtype)
        return self.local.tiles

    def _on_one_thread(self, job):
        self.kernels.set_num_threads(1)  # per thread (OpenMP's and Numba's settings are thread-local)
        return job(self._tiles())

    def map(self, jobs):
        jobs = list(jobs)
        if not self.host:
            return [job(self._tiles()) for job in jobs]
        with one_blas_thread:
            if self.n_threads == 1 or len(jobs) == 1:
                return [job(self._tiles()) for job in jobs]
            with concurrent.futures.ThreadPoolExecutor(min(self.n_threads, len(jobs))) as pool:
                return list(pool.map(self._on_one_thread, jobs))


def _tile_sum_job(kernels, A, a_norm, i, B, b_norm, j, spec, diagonal):
    def job(tiles):
        G = tiles.dots(A[i:i + TILE], B[j:j + TILE])
        return kernels.mmd.tile_sum(G, a_norm[i:i + TILE], b_norm[j:j + TILE], spec.kind, spec.params, diagonal)

    return job


def block_sum_jobs(kernels, A, a_norm, B, b_norm, spec, diagonal):
    """(jobs, factors): the sum over ordered pairs of k(a_i, b_j) is sum_t factors[t] * jobs[t]().
    B None: the pairs of A with itself, the pairs (i, i) counted or left out as `diagonal` says
    (the upper tiles only, those off the diagonal counted twice)."""
    jobs, factors = [], []
    symmetric = B is None
    if symmetric:
        B, b_norm = A, a_norm
    for i in _starts(A.shape[0]):
        for j in (_starts(B.shape[0])[i // TILE:] if symmetric else _starts(B.shape[0])):
            on_diagonal = symmetric and i == j
            jobs.append(_tile_sum_job(kernels, A, a_norm, i, B, b_norm, j, spec,
                                      diagonal if on_diagonal else MmdDiagonal.NONE))
            factors.append(1.0 if on_diagonal or not symmetric else 2.0)
    return jobs, factors


def _coefficients(estimator, N, M):
    """(c_xx, c_yy, c_xy): MMD^2 = c_xx S_xx + c_yy S_yy - 2 c_xy S_xy over the sums S of k."""
    if estimator == "unbiased":
        return 1.0 / (N * (N - 1)), 1.0 / (M * (M - 1)), 1.0 / (N * M)
    return 1.0 / (N * N), 1.0 / (M * M), 1.0 / (N * M)


def _diagonal(estimator):
    return MmdDiagonal.EXCLUDE if estimator == "unbiased" else MmdDiagonal.INCLUDE


def mmd2(kernels, X, Y, spec, estimator):
    """The MMD^2 estimate (a float) of samples X (N, D) and Y (M, D) of one float dtype."""
    if estimator == "linear":
        return _linear(kernels, X, Y, spec)
    xp = kernels.xp
    x_norm, y_norm = squared_norms(xp, X), squared_norms(xp, Y)
    diagonal = _diagonal(estimator)
    c_xx, c_yy, c_xy = _coefficients(estimator, X.shape[0], Y.shape[0])
    jobs, weights = [], []
    for A, a_norm, B, b_norm, diagonal_mode, c in ((X, x_norm, None, None, diagonal, c_xx),
                                                   (Y, y_norm, None, None, diagonal, c_yy),
                                                   (X, x_norm, Y, y_norm, MmdDiagonal.NONE, -2.0 * c_xy)):
        block_jobs, factors = block_sum_jobs(kernels, A, a_norm, B, b_norm, spec, diagonal_mode)
        jobs += block_jobs
        weights += [c * f for f in factors]
    sums = _TilePool(kernels, X.dtype).map(jobs)
    total = 0.0
    for weight, s in zip(weights, sums):
        total += weight * s
    return total


# ---------------------------------------------------------------- the linear-time estimator


def _halves(X, n_pairs):
    """The rows 0, 2, 4, ... and 1, 3, 5, ... of the first 2 n_pairs rows, C-contiguous."""
    return X[0:2 * n_pairs:2].copy(), X[1:2 * n_pairs:2].copy()


def _pair_terms(xp, X, Y):
    """The four paired sets of the linear-time estimator's h, with their signs:
    h_p = k(x_2p, x_2p+1) + k(y_2p, y_2p+1) - k(x_2p, y_2p+1) - k(x_2p+1, y_2p)."""
    n_pairs = min(X.shape[0], Y.shape[0]) // 2
    x0, x1 = _halves(X, n_pairs)
    y0, y1 = _halves(Y, n_pairs)
    return n_pairs, ((x0, x1, 1.0), (y0, y1, 1.0), (x0, y1, -1.0), (x1, y0, -1.0))


def _dots(xp, A, B):
    return xp.einsum("ij,ij->i", A, B)


def _linear(kernels, X, Y, spec):
    xp = kernels.xp
    n_pairs, terms = _pair_terms(xp, X, Y)
    total = 0.0
    for A, B, sign in terms:
        total += sign * kernels.mmd.pair_sum(_dots(xp, A, B), squared_norms(xp, A), squared_norms(xp, B),
                                             spec.kind, spec.params)
    return total / n_pairs


# ---------------------------------------------------------------- gradients


def _partner_sums(xp, W, A, B, of_distance):
    """sum_j W_ij dk/da_i: W B - rowsum(W) A for the distance kernels (w (b - a)), W B otherwise."""
    out = W @ B
    if of_distance:
        out -= W.sum(axis=1, dtype=xp.float64).astype(A.dtype)[:, None] * A
    return out


def _row_grad_job(kernels, grad, A, a_norm, i, partners, spec):
    """grad[i:i + TILE] = d/da of sum_(B, b_norm, scale, diagonal) scale * sum_j k(a, b_j) for the rows a
    of A there, over the tiles of those rows with each partner sample B in turn; diagonal None: B is
    another sample, else B is A (the pairs of A with itself) and the tile on the diagonal is handled
    as `diagonal` says. One job per row of tiles, so that no two threads write the same rows, and
    its sums in a fixed order."""
    xp = kernels.xp
    of_distance = spec.kind != MmdKernel.POLYNOMIAL

    def job(tiles):
        Ai = A[i:i + TILE]
        total = xp.zeros_like(Ai)
        for B, b_norm, scale, diagonal in partners:
            for j in _starts(B.shape[0]):
                Bj = B[j:j + TILE]
                W = tiles.dots(Ai, Bj)
                kernels.mmd.tile_weights(W, a_norm[i:i + TILE], b_norm[j:j + TILE], spec.kind, spec.params,
                                         diagonal if diagonal is not None and i == j else MmdDiagonal.NONE)
                total += scale * _partner_sums(xp, W, Ai, Bj, of_distance)
        grad[i:i + TILE] = total

    return job


def mmd2_grad(kernels, X, Y, spec, estimator, want_x=True, want_y=True):
    """(dMMD^2/dX, dMMD^2/dY) of mmd2, of X's dtype; None for one not wanted."""
    xp = kernels.xp
    grad_x = xp.zeros_like(X) if want_x else None
    grad_y = xp.zeros_like(Y) if want_y else None
    if estimator == "linear":
        _linear_grad(kernels, X, Y, spec, grad_x, grad_y)
        return grad_x, grad_y
    x_norm, y_norm = squared_norms(xp, X), squared_norms(xp, Y)
    diagonal = _diagonal(estimator)
    c_xx, c_yy, c_xy = _coefficients(estimator, X.shape[0], Y.shape[0])
    jobs = []
    # the pairs of a sample with itself count both ways: twice the one-sided derivative
    for want, grad, A, a_norm, c_aa, B, b_norm in ((want_x, grad_x, X, x_norm, c_xx, Y, y_norm),
                                                   (want_y, grad_y, Y, y_norm, c_yy, X, x_norm)):
        if want:
            partners = ((A, a_norm, 2.0 * c_aa, diagonal), (B, b_norm, -2.0 * c_xy, None))
            jobs += [_row_grad_job(kernels, grad, A, a_norm, i, partners, spec) for i in _starts(A.shape[0])]
    _TilePool(kernels, X.dtype).map(jobs)
    return grad_x, grad_y


def _linear_grad(kernels, X, Y, spec, grad_x, grad_y):
    xp = kernels.xp
    n_pairs = min(X.shape[0], Y.shape[0]) // 2
    of_distance = spec.kind != MmdKernel.POLYNOMIAL
    # where each paired set of _pair_terms sits in X or Y: (gradient, its rows)
    rows = {"x0": (grad_x, slice(0, 2 * n_pairs, 2)), "x1": (grad_x, slice(1, 2 * n_pairs, 2)),
            "y0": (grad_y, slice(0, 2 * n_pairs, 2)), "y1": (grad_y, slice(1, 2 * n_pairs, 2))}
    _, terms = _pair_terms(xp, X, Y)
    for (A, B, sign), (a, b) in zip(terms, (("x0", "x1"), ("y0", "y1"), ("x0", "y1"), ("x1", "y0"))):
        w = _dots(xp, A, B)
        kernels.mmd.pair_weights(w, squared_norms(xp, A), squared_norms(xp, B), spec.kind, spec.params)
        w = (sign / n_pairs) * w[:, None]
        for (grad, where), own, other in ((rows[a], A, B), (rows[b], B, A)):
            if grad is not None:
                grad[where] += w * (other - own) if of_distance else w * other


# ---------------------------------------------------------------- the median heuristic


def _spread_rows(xp, X, count):
    """`count` rows of X spread evenly over it (the first and the last included)."""
    return X[xp.asarray(np.linspace(0, X.shape[0] - 1, count).round().astype(np.int64))]


def median_distance(xp, X, Y, max_points):
    """The median Euclidean distance between distinct points of the pooled sample, taken on at
    most max_points // 2 rows of each of X and Y spread evenly over them (deterministic)."""
    Z = xp.concatenate([_spread_rows(xp, A, min(A.shape[0], max(1, max_points // 2))) for A in (X, Y)])
    Z = Z.astype(xp.float64)
    norms = (Z * Z).sum(axis=1)
    d2 = xp.maximum(norms[:, None] + norms[None, :] - 2.0 * (Z @ Z.T), 0.0)
    upper = xp.triu_indices(Z.shape[0], 1)
    return float(xp.sqrt(xp.median(d2[upper])))
