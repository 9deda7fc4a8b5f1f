"""Partition functions of binary RBMs: exact enumeration of the smaller layer, and
annealed importance sampling (Salakhutdinov & Murray, 2008). Public through fastgen.rbm."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._arrays import Dispatch
from ._validation import check_betas, check_count, check_float_array, check_seed

# Enumeration is exact up to 2^25 states of the smaller layer; beyond it, AIS.
MAX_EXACT_UNITS = 25
# States per chunk times units of the other layer: bounds the memory (32 MiB of float64)
# and is large enough for the free-energy kernel to run on every thread.
_EXACT_CHUNK_ELEMENTS = 1 << 22


def default_ais_betas() -> np.ndarray:
    """The schedule of Salakhutdinov & Murray (2008): inverse temperatures from 0 to 0.5 in
    steps of 1e-3, to 0.9 in steps of 1e-4, to 1 in steps of 1e-5 (14,501 values)."""
    return np.concatenate([
        np.linspace(0.0, 0.5, 500, endpoint=False),
        np.linspace(0.5, 0.9, 4000, endpoint=False),
        np.linspace(0.9, 1.0, 10000, endpoint=False),
        [1.0],
    ])


def base_visible_bias(X, smoothing=1.0) -> np.ndarray:
    """Visible biases of the AIS base model from binary data X (n_samples, n_visible): the
    logits of the per-pixel frequencies of ones, (count + smoothing) / (n + 2 smoothing),
    so that pixels never on (or always on) get a finite bias."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1:
        raise ValueError(f"X must be 2-D with at least one row, got shape {X.shape}")
    if not (smoothing > 0):
        raise ValueError(f"smoothing must be > 0, got {smoothing!r}")
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


def _summarise(log_weights, log_z_base):
    """AISResult from host float64 log weights."""
    top = log_weights.max()
    w = np.exp(log_weights - top)
    mean = w.mean()
    log_z = float(log_z_base + top + np.log(mean))
    relative = float(w.std(ddof=1) / (math.sqrt(w.size) * mean)) if w.size > 1 else math.inf
    lower = log_z + math.log1p(-3.0 * relative) if 3.0 * relative < 1.0 else -math.inf
    upper = log_z + math.log1p(3.0 * relative) if math.isfinite(relative) else math.inf
    return log_z, relative, lower, upper


def _softplus64(x):
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


def _check_model(xp, W, b, c):
    W = check_float_array(xp, "W", W, 2)
    if 0 in W.shape:
        raise ValueError(f"W must have at least one visible and one hidden unit, got shape {tuple(W.shape)}")
    biases = []
    for name, bias, size in (("b", b, W.shape[0]), ("c", c, W.shape[1])):
        bias = check_float_array(xp, name, bias, 1, W.dtype)
        if bias.shape[0] != size:
            raise ValueError(f"{name} must have length {size} to match W of shape {tuple(W.shape)}, got {bias.shape[0]}")
        biases.append(bias)
    return W, biases[0], biases[1]


# ---------------------------------------------------------------- unchecked versions


def _log_sum_over_states(xp, n_units, row_size, log_weight):
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


def _log_partition_exact(kernels, W, b, c) -> float:
    """log Z by summing the smaller layer's states in chunks, the other layer marginalised
    by the free-energy kernel, all in float64."""
    xp = kernels.xp
    W = W.astype(xp.float64)
    b = b.astype(xp.float64)
    c = c.astype(xp.float64)
    if W.shape[1] <= W.shape[0]:  # enumerate h: -F(h) = c.h + sum_i softplus(b_i + (W h)_i)
        M, own_bias, other_bias = xp.ascontiguousarray(W.T), c, b
    else:
        M, own_bias, other_bias = W, b, c
    return _log_sum_over_states(
        xp, M.shape[0], M.shape[1], lambda states: -kernels.free_energy(states @ M, other_bias, states @ own_bias)
    )


def _log_partition_ais(kernels, W, b, c, n_chains, betas, base, seed):
    """(AISResult fields without the wrap) for checked backend arrays."""
    xp = kernels.xp
    log_weights = kernels.ais_rbm(W, b, c, base, xp.asarray(betas), seed, n_chains)
    host = np.asarray(log_weights.get() if hasattr(log_weights, "get") else log_weights, dtype=np.float64)
    # the base model's hidden units (zero bias) are in its partition function too, see ais.h
    log_z_base = float(_softplus64(base.get() if hasattr(base, "get") else base).sum()) + W.shape[1] * math.log(2.0)
    return _summarise(host, log_z_base), log_weights, log_z_base


# ---------------------------------------------------------------- checked public ops


def log_partition_exact(W, b, c, *, backend=None) -> float:
    """log Z of the RBM (W, b, c), exactly: every state of the smaller layer (at most
    2^25), the other layer summed analytically, float64 throughout."""
    call = Dispatch(backend, W=W, b=b, c=c)
    W, b, c = _check_model(call.kernels.xp, *call.arrays)
    if min(W.shape) > MAX_EXACT_UNITS:
        raise ValueError(
            f"W of shape {tuple(W.shape)}: exact log Z enumerates the smaller layer, at most {MAX_EXACT_UNITS} "
            f"units (2^{MAX_EXACT_UNITS} states); use log_partition_ais for larger models"
        )
    return _log_partition_exact(call.kernels, W, b, c)


def log_partition_ais(W, b, c, *, n_chains=100, betas=None, base_visible_bias=None, seed=0, backend=None) -> AISResult:
    """AIS estimate of log Z (Salakhutdinov & Murray, 2008).

    The base model has no weights and visible biases `base_visible_bias` (e.g. from
    `base_visible_bias(X)` of the training data; zeros, the uniform distribution, when
    None). `betas`: increasing inverse temperatures from 0 to 1 (default:
    `default_ais_betas()`, about 14,500 steps). Each chain walks all of them in one kernel
    call; chain i's draws depend on (seed, i) only."""
    call = Dispatch(backend, W=W, b=b, c=c, base_visible_bias=base_visible_bias)
    xp = call.kernels.xp
    W, b, c, base = call.arrays
    W, b, c = _check_model(xp, W, b, c)
    if base is None:
        base = xp.zeros_like(b)
    else:
        base = check_float_array(xp, "base_visible_bias", base, 1, None).astype(W.dtype)
        if base.shape[0] != W.shape[0]:
            raise ValueError(f"base_visible_bias must have length {W.shape[0]} (visible units), got {base.shape[0]}")
    n_chains = check_count("n_chains", n_chains)
    betas = default_ais_betas() if betas is None else check_betas(betas, from_zero=True)
    (log_z, std, lower, upper), log_weights, log_z_base = _log_partition_ais(
        call.kernels, W, b, c, n_chains, betas, base, check_seed("seed", seed)
    )
    return AISResult(log_z, std, lower, upper, call.wrap(log_weights), log_z_base)
