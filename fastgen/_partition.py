"""What the log-partition functions of every family share: the AIS schedule and result,
the summary of AIS log weights, the exact sum over enumerated binary states, and the AIS
base model's visible biases from data. Public through fastgen.rbm, fastgen.gbrbm and
fastgen.dbm."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._arrays import host
from ._blas import one_blas_thread
from ._validation import check_real

# Enumeration is exact up to 2^25 states of the smaller layer; beyond it, AIS.
MAX_EXACT_UNITS = 25
# Chains per block of the AIS loops made of GEMMs (the GB-RBM's and the DBM's). BLAS rounds a
# row of a product differently with the number of rows, the row's place among them and its
# own threads (OpenBLAS, measured: up to 3e-15 relative), so a chain's weight would depend on
# which chains ran with it. Blocks of AIS_BLOCK chains at multiples of AIS_BLOCK (the last
# one shorter) run alone instead, their GEMMs on one BLAS thread: chain i's weight then
# depends on (seed, i) only, in one process or on Dask workers holding whole blocks. 64 rows
# keep a one-thread GEMM near its peak and the Python steps' overhead small.
AIS_BLOCK = 64
# States per chunk times units of the other layer: bounds the memory (32 MiB of float64)
# and is large enough for the free-energy kernel to run on every thread.
_EXACT_CHUNK_ELEMENTS = 1 << 22


def ais_blocks(n_chains: int) -> int:
    """The number of blocks of AIS_BLOCK chains of an AIS run of n_chains chains."""
    return -(-n_chains // AIS_BLOCK)


def blocked_ais(loop, kernels, *arrays, n_chains, first_chain=0, **options):
    """The log weights of chains first_chain .. first_chain + n_chains - 1 (first_chain a
    multiple of AIS_BLOCK), made block by block: `loop(kernels, *arrays, n_chains=size,
    first_chain=start, **options)` on each block of AIS_BLOCK chains, every BLAS call on one
    thread (see AIS_BLOCK)."""
    if first_chain % AIS_BLOCK:
        raise ValueError(f"first_chain must be a multiple of {AIS_BLOCK}, got {first_chain}")
    stop = first_chain + n_chains
    with one_blas_thread:
        parts = [loop(kernels, *arrays, n_chains=min(AIS_BLOCK, stop - start), first_chain=start, **options)
                 for start in range(first_chain, stop, AIS_BLOCK)]
    return kernels.xp.concatenate(parts)


def default_ais_betas() -> np.ndarray:
    """The schedule of Salakhutdinov & Murray (2008): inverse temperatures from 0 to 0.5 in
    steps of 1e-3, to 0.9 in steps of 1e-4, to 1 in steps of 1e-5 (14,501 values)."""
    return np.concatenate([
        np.linspace(0.0, 0.5, 500, endpoint=False),
        np.linspace(0.5, 0.9, 4000, endpoint=False),
        np.linspace(0.9, 1.0, 10000, endpoint=False),
        [1.0],
    ])


def base_visible_bias(X: Any, smoothing: float = 1.0) -> np.ndarray:
    """Visible biases of the AIS base model from binary data X (n_samples, n_visible): the
    logits of the per-pixel frequencies of ones, (count + smoothing) / (n + 2 smoothing),
    so that pixels never on (or always on) get a finite bias."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1:
        raise ValueError(f"X must be 2-D with at least one row, got shape {X.shape}")
    smoothing = check_real("smoothing", smoothing, 0.0, math.inf, low_open=True, high_open=True)
    p = (X.sum(axis=0) + smoothing) / (X.shape[0] + 2.0 * smoothing)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class AISResult:
    """An AIS estimate of log Z.

    log_z: log of the estimate Z_hat = Z_base * mean(w).
    log_z_std: its standard error in log space, std(w) / (sqrt(n_chains) mean(w)).
    log_z_lower, log_z_upper: log(Z_hat -+ 3 sigma_hat) as in Salakhutdinov & Murray,
        sigma_hat the standard error of Z_hat (lower is -inf when Z_hat - 3 sigma_hat <= 0).
    log_weights: the log importance weight of each chain (float64).
    log_z_base: log Z of the base model.
    """

    log_z: float
    log_z_std: float
    log_z_lower: float
    log_z_upper: float
    log_weights: object
    log_z_base: float


def ais_result(log_weights, log_z_base, wrap=lambda a: a):
    """The AISResult of chains' log importance weights (a backend array) from a base model
    with log Z = `log_z_base`; its log_weights are `wrap(log_weights)` (the caller's kind of array)."""
    host_weights = np.asarray(host(log_weights), dtype=np.float64)
    top = host_weights.max()
    w = np.exp(host_weights - top)
    mean = w.mean()
    log_z = float(log_z_base + top + np.log(mean))
    relative = float(w.std(ddof=1) / (math.sqrt(w.size) * mean)) if w.size > 1 else math.inf
    lower = log_z + math.log1p(-3.0 * relative) if 3.0 * relative < 1.0 else -math.inf
    upper = log_z + math.log1p(3.0 * relative) if math.isfinite(relative) else math.inf
    return AISResult(log_z, relative, lower, upper, wrap(log_weights), float(log_z_base))


def log_sum_over_states(xp, n_units, row_size, log_weight):
    """log of the sum over all 2^n_units binary states s of exp(log_weight(s)), float64.

    The states are enumerated in chunks (float64 arrays of shape (chunk, n_units)) of at most
    _EXACT_CHUNK_ELEMENTS / row_size states, `row_size` the width of the largest temporary
    that `log_weight` makes per state; each chunk is reduced by its own maximum first."""
    n_states = 1 << n_units
    chunk = max(1, min(n_states, _EXACT_CHUNK_ELEMENTS // row_size))
    bits = xp.arange(n_units, dtype=xp.int64)
    maxima, sums = [], []
    for start in range(0, n_states, chunk):
        index = xp.arange(start, min(start + chunk, n_states), dtype=xp.int64)
        log_p = log_weight(((index[:, None] >> bits) & 1).astype(xp.float64))
        top = log_p.max()
        maxima.append(top)
        sums.append(xp.exp(log_p - top).sum())
    maxima = np.array([float(m) for m in maxima])
    sums = np.array([float(s) for s in sums])
    top = maxima.max()
    return float(top + np.log(np.sum(sums * np.exp(maxima - top))))
