"""Gaussian-Bernoulli restricted Boltzmann machine ops on plain arrays (NumPy, CuPy or torch).

Model: real-valued visible units v, binary hidden units h, W of shape (n_visible, n_hidden),
visible bias b (n_visible,), hidden bias c (n_hidden,), per-unit standard deviations sigma
(n_visible,), all > 0:
    E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h - sum_ij (v_i / sigma_i^2) W_ij h_j
    p(v | h) = N(b + W h, diag sigma^2),   p(h | v) = sigmoid(c + (v / sigma^2) W)
    F(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + ((v / sigma^2) W)_j)
so the mean of v given h does not scale with sigma. Hidden states are float arrays of 0/1
of shape (n_chains, n_hidden), visible states any finite reals of shape (n_chains, n_visible).

Randomness as in fastgen.rbm: `sample_hidden` and `sample_visible` with counter n are the
two halves of Gibbs sweep n, and `gibbs(..., n_steps, seed=s, counter=n)` is exactly them
with counters n .. n + n_steps - 1. The hidden half-step is the GEMM (v / sigma^2) W and the
binary RBM's fused Bernoulli epilogue; the visible half-step is the GEMM h W^T and one fused
kernel (bias + Philox normal, csrc/include/fastgen/gbrbm.h): bit-identical on `cpu` and
`numba`. The unchecked loops on a backend's own arrays, which the estimator calls, are in _loops.py.
"""
from __future__ import annotations

import math

import numpy as np

from .._arrays import Dispatch
from .._partition import AISResult, default_ais_betas
from .._typing import Array, Backend
from .._validation import (
    check_count,
    check_counter,
    check_counters,
    check_flag,
    check_products,
    check_rbm,
    check_rows,
    check_seed,
    check_states,
)
from . import _loops
from ._partition import log_partition_ais, log_partition_exact

__all__ = ["AISResult", "cd_statistics", "default_ais_betas", "free_energy", "gibbs", "log_partition_ais",
           "log_partition_exact", "sample_hidden", "sample_visible"]

# ---------------------------------------------------------------- checked public ops


def _check_visible_rows(xp, name, v, W, sigma, biases):
    """Real-valued visible rows whose scaled products (v / sigma^2) W cannot overflow."""
    v = check_rows(xp, name, v, W.shape[0], W.dtype, "visible units of W")
    check_products(xp, W, visible=float(xp.abs(v).max()) / float((sigma * sigma).min()), biases=biases)
    return v


def _check_energy(xp, v, b, sigma):
    """The quadratic energy sum_i (v_i - b_i)^2 / (2 sigma_i^2) of each row is finite in float64."""
    reach = float(xp.abs(v).max()) + float(xp.abs(b).max())
    if not reach <= math.sqrt(2 * float((sigma * sigma).min()) / v.shape[1]) * math.sqrt(np.finfo(np.float64).max):
        raise ValueError(f"v holds values up to {float(xp.abs(v).max()):.3g}: the energy (v - b)^2 / (2 sigma^2) "
                         f"overflows float64")


def sample_hidden(v: Array, W: Array, c: Array, sigma: Array, *, seed: int, counter: int = 0,
                  backend: Backend = None) -> tuple[Array, Array]:
    """h ~ p(h | v) = Bernoulli(sigmoid(c + (v / sigma^2) W)). Returns (h, p_h)."""
    call = Dispatch(backend, v=v, W=W, c=c, sigma=sigma)
    xp = call.kernels.xp
    v, W, c, sigma = call.arrays
    W, c, sigma = check_rbm(xp, W, c=c, sigma=sigma)
    v = _check_visible_rows(xp, "v", v, W, sigma, [c])
    seed, counter = check_seed("seed", seed), check_counter("counter", counter)
    h, p = _loops.sample_hidden(call.kernels, v * _loops.inverse_variance(sigma), W, c, seed, counter)
    return call.wrap(h), call.wrap(p)


def sample_visible(h: Array, W: Array, b: Array, sigma: Array, *, seed: int, counter: int = 0,
                   backend: Backend = None) -> tuple[Array, Array]:
    """v ~ p(v | h) = N(b + W h, diag sigma^2). Returns (v, mean)."""
    call = Dispatch(backend, h=h, W=W, b=b, sigma=sigma)
    xp = call.kernels.xp
    h, W, b, sigma = call.arrays
    W, b, sigma = check_rbm(xp, W, b=b, sigma=sigma)
    h = check_states(xp, "h", h, W.shape[1], W.dtype, "hidden units of W")
    seed, counter = check_seed("seed", seed), check_counter("counter", counter)
    v, mean = _loops.sample_visible(call.kernels, h, W, b, sigma, seed, counter)
    return call.wrap(v), call.wrap(mean)


def gibbs(v: Array, W: Array, b: Array, c: Array, sigma: Array, n_steps: int, *, seed: int, counter: int = 0,
          backend: Backend = None) -> tuple[Array, Array]:
    """`n_steps` block Gibbs sweeps (h ~ p(h|v), then v ~ p(v|h)) of every chain (row of v).
    Returns the final (v, h)."""
    call = Dispatch(backend, v=v, W=W, b=b, c=c, sigma=sigma)
    xp = call.kernels.xp
    v, W, b, c, sigma = call.arrays
    W, b, c, sigma = check_rbm(xp, W, b, c, sigma)
    v = _check_visible_rows(xp, "v", v, W, sigma, [b, c])
    n_steps = check_count("n_steps", n_steps)
    counter = check_counters(counter, n_steps, "counter + n_steps - 1")
    v, h = _loops.gibbs(call.kernels, v, W, b, c, sigma, n_steps, check_seed("seed", seed), counter)
    return call.wrap(v), call.wrap(h)


def free_energy(v: Array, W: Array, b: Array, c: Array, sigma: Array, *, backend: Backend = None) -> Array:
    """F(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + ((v / sigma^2) W)_j),
    one float64 value per row of v; log p(v) = -F(v) - log Z."""
    call = Dispatch(backend, v=v, W=W, b=b, c=c, sigma=sigma)
    xp = call.kernels.xp
    v, W, b, c, sigma = call.arrays
    W, b, c, sigma = check_rbm(xp, W, b, c, sigma)
    v = _check_visible_rows(xp, "v", v, W, sigma, [b, c])
    _check_energy(xp, v, b, sigma)
    return call.wrap(_loops.free_energy(call.kernels, v, W, b, c, sigma))


def cd_statistics(v_data: Array, W: Array, b: Array, c: Array, sigma: Array, k: int, *, chains: Array | None = None,
                  seed: int, counter: int = 0, sigma_gradient: bool = False, backend: Backend = None) -> tuple:
    """CD-k gradient estimate of the mean log-likelihood of `v_data`.

    Returns (dW, db, dc, d_log_var, chains): data minus model statistics (ascend them),
        dW = <(v / sigma^2) h^T>,  db = <(v - b) / sigma^2>,  dc = <h>,
        d_log_var = <(0.5 (v - b)^2 - v (W h)) / sigma^2>, the gradient of z = log sigma^2
        (Cho, Ilin & Raiko, 2011), None unless `sigma_gradient`,
    with h replaced by p(h | v) in every statistic, and the new hidden chain states. With
    `chains=None` the negative chains start at h0 ~ p(h | v_data) (CD-k); pass the returned
    chains back in for PCD-k (their number may differ from the batch size). Uses counters
    counter .. counter + k.
    """
    call = Dispatch(backend, v_data=v_data, W=W, b=b, c=c, sigma=sigma, chains=chains)
    xp = call.kernels.xp
    v_data, W, b, c, sigma, chains = call.arrays
    W, b, c, sigma = check_rbm(xp, W, b, c, sigma)
    v_data = _check_visible_rows(xp, "v_data", v_data, W, sigma, [b, c])
    if chains is not None:
        chains = check_states(xp, "chains", chains, W.shape[1], W.dtype, "hidden units of W")
    k = check_count("k", k)
    counter = check_counters(counter, k + 1, "counter + k")
    sigma_gradient = check_flag("sigma_gradient", sigma_gradient)
    stats = _loops.cd_statistics(call.kernels, v_data, W, b, c, sigma, k, chains, check_seed("seed", seed), counter,
                                 sigma_gradient=sigma_gradient)
    return tuple(call.wrap(s) for s in stats)
