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
`numba`. `_`-prefixed functions are the unchecked versions on a backend's own arrays that
the estimator calls in its loops.
"""
from __future__ import annotations

from ._arrays import Dispatch
from ._gbrbm_partition import (  # noqa: F401
    STREAM_HIDDEN,
    STREAM_VISIBLE,
    check_sigma,
    log_partition_ais,
    log_partition_exact,
)
from ._rbm_partition import AISResult, default_ais_betas  # noqa: F401
from ._validation import check_count, check_counter, check_rows, check_seed
from .rbm import _check_params, _check_states

# ---------------------------------------------------------------- unchecked kernels


def _precision(sigma):
    return 1 / (sigma * sigma)


def _sample_hidden(kernels, scaled_v, W, c, seed, counter):
    """h ~ p(h | v) from `scaled_v` = v / sigma^2 (scaling the batch, not W: fewer values,
    and the weight gradient needs it too)."""
    return kernels.bernoulli(scaled_v @ W, c, seed, counter, STREAM_HIDDEN)


def _sample_visible(kernels, h, W, b, sigma, seed, counter):
    return kernels.gaussian(h @ W.T, b, sigma, seed, counter, STREAM_VISIBLE)


def _gibbs(kernels, v, W, b, c, sigma, n_steps, seed, counter):
    precision = _precision(sigma)
    for step in range(n_steps):
        h, _ = _sample_hidden(kernels, v * precision, W, c, seed, counter + step)
        v, _ = _sample_visible(kernels, h, W, b, sigma, seed, counter + step)
    return v, h


def _free_energy(kernels, v, W, b, c, sigma):
    xp = kernels.xp
    z = (v.astype(xp.float64) - b.astype(xp.float64)) / sigma.astype(xp.float64)
    return kernels.free_energy((v * _precision(sigma)) @ W, c, -0.5 * (z * z).sum(axis=1))


def _log_variance_term(v, b, p_h, W):
    """Sum over rows of 0.5 (v - b)^2 - v (W p_h): times 1 / sigma^2, minus the same under the
    model, it is the gradient of log sigma^2 (Cho, Ilin & Raiko, 2011)."""
    d = v - b
    return (0.5 * d * d - v * (p_h @ W.T)).sum(axis=0)


def _cd_statistics(kernels, v_data, W, b, c, sigma, k, chains, seed, counter, scale=1.0, sigma_gradient=False):
    """CD-k (chains None) or PCD-k (chains = persistent hidden states) gradient estimate,
    as fastgen.rbm._cd_statistics: draws at counters counter .. counter + k, statistics of
    the last visible sample and p(h | v), everything times `scale`. Returns (dW, db, dc,
    d_log_var or None, chains)."""
    precision = _precision(sigma)
    scaled_data = v_data * precision
    h, p_h_data = _sample_hidden(kernels, scaled_data, W, c, seed, counter)
    if chains is not None:
        h = chains
    for step in range(k):
        v_model, _ = _sample_visible(kernels, h, W, b, sigma, seed, counter + step)
        scaled_model = v_model * precision
        h, p_h_model = _sample_hidden(kernels, scaled_model, W, c, seed, counter + step + 1)
    scale_data, scale_model = scale / v_data.shape[0], scale / v_model.shape[0]
    dW = scaled_data.T @ p_h_data
    dW *= scale_data
    dW -= (scaled_model.T @ p_h_model) * scale_model
    db = (v_data.sum(axis=0) * scale_data - v_model.sum(axis=0) * scale_model) * precision
    dc = p_h_data.sum(axis=0) * scale_data - p_h_model.sum(axis=0) * scale_model
    d_log_var = None
    if sigma_gradient:
        d_log_var = (_log_variance_term(v_data, b, p_h_data, W) * scale_data
                     - _log_variance_term(v_model, b, p_h_model, W) * scale_model) * precision
    return dW, db, dc, d_log_var, h


# ---------------------------------------------------------------- checked public ops


def _check_model(xp, W, b=None, c=None, sigma=None):
    """(W, [b], [c], sigma) checked: the biases given, then sigma (always needed)."""
    checked = _check_params(xp, W, b, c)
    return (*checked, check_sigma(xp, sigma, checked[0].shape[0], checked[0].dtype))


def sample_hidden(v, W, c, sigma, *, seed, counter=0, backend=None):
    """h ~ p(h | v) = Bernoulli(sigmoid(c + (v / sigma^2) W)). Returns (h, p_h)."""
    call = Dispatch(backend, v=v, W=W, c=c, sigma=sigma)
    xp = call.kernels.xp
    v, W, c, sigma = call.arrays
    W, c, sigma = _check_model(xp, W, c=c, sigma=sigma)
    v = check_rows(xp, "v", v, W.shape[0], W.dtype, "visible units of W")
    h, p = _sample_hidden(call.kernels, v * _precision(sigma), W, c, check_seed("seed", seed),
                          check_counter("counter", counter))
    return call.wrap(h), call.wrap(p)


def sample_visible(h, W, b, sigma, *, seed, counter=0, backend=None):
    """v ~ p(v | h) = N(b + W h, diag sigma^2). Returns (v, mean)."""
    call = Dispatch(backend, h=h, W=W, b=b, sigma=sigma)
    xp = call.kernels.xp
    h, W, b, sigma = call.arrays
    W, b, sigma = _check_model(xp, W, b=b, sigma=sigma)
    h = _check_states(xp, "h", h, W.shape[1], W.dtype, units="hidden")
    v, mean = _sample_visible(call.kernels, h, W, b, sigma, check_seed("seed", seed), check_counter("counter", counter))
    return call.wrap(v), call.wrap(mean)


def gibbs(v, W, b, c, sigma, n_steps, *, seed, counter=0, backend=None):
    """`n_steps` block Gibbs sweeps (h ~ p(h|v), then v ~ p(v|h)) of every chain (row of v).
    Returns the final (v, h)."""
    call = Dispatch(backend, v=v, W=W, b=b, c=c, sigma=sigma)
    xp = call.kernels.xp
    v, W, b, c, sigma = call.arrays
    W, b, c, sigma = _check_model(xp, W, b, c, sigma)
    v = check_rows(xp, "v", v, W.shape[0], W.dtype, "visible units of W")
    n_steps = check_count("n_steps", n_steps)
    counter = check_counter("counter", counter)
    check_counter("counter + n_steps - 1", counter + n_steps - 1)  # the last counter used
    v, h = _gibbs(call.kernels, v, W, b, c, sigma, n_steps, check_seed("seed", seed), counter)
    return call.wrap(v), call.wrap(h)


def free_energy(v, W, b, c, sigma, *, backend=None):
    """F(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + ((v / sigma^2) W)_j),
    one float64 value per row of v; log p(v) = -F(v) - log Z."""
    call = Dispatch(backend, v=v, W=W, b=b, c=c, sigma=sigma)
    xp = call.kernels.xp
    v, W, b, c, sigma = call.arrays
    W, b, c, sigma = _check_model(xp, W, b, c, sigma)
    v = check_rows(xp, "v", v, W.shape[0], W.dtype, "visible units of W")
    return call.wrap(_free_energy(call.kernels, v, W, b, c, sigma))


def cd_statistics(v_data, W, b, c, sigma, k, *, chains=None, seed, counter=0, sigma_gradient=False, backend=None):
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
    W, b, c, sigma = _check_model(xp, W, b, c, sigma)
    v_data = check_rows(xp, "v_data", v_data, W.shape[0], W.dtype, "visible units of W")
    if chains is not None:
        chains = _check_states(xp, "chains", chains, W.shape[1], W.dtype, units="hidden")
    k = check_count("k", k)
    counter = check_counter("counter", counter)
    check_counter("counter + k", counter + k)
    if not isinstance(sigma_gradient, bool):
        raise ValueError(f"sigma_gradient must be True or False, got {sigma_gradient!r}")
    stats = _cd_statistics(call.kernels, v_data, W, b, c, sigma, k, chains, check_seed("seed", seed), counter,
                           sigma_gradient=sigma_gradient)
    return tuple(call.wrap(s) for s in stats)
