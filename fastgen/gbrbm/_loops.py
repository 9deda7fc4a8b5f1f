"""The loops of the Gaussian-Bernoulli RBM on one backend's arrays, unchecked: Gibbs
half-steps, sweeps, free energies and CD-k statistics. The ops of fastgen.gbrbm check
their arguments and call these; the estimator calls them in its loops. Model and
conventions as in fastgen.gbrbm."""
from __future__ import annotations

from .._blas import blas_threads_for
from .._constants import RbmStream
from .._progress import OFF


def inverse_variance(sigma):
    return 1 / (sigma * sigma)


def sample_hidden(kernels, scaled_v, W, c, seed, counter):
    """h ~ p(h | v) from `scaled_v` = v / sigma^2 (scaling the batch, not W: fewer values,
    and the weight gradient needs it too)."""
    return kernels.rbm.bernoulli(scaled_v @ W, c, seed, counter, RbmStream.HIDDEN)


def sample_visible(kernels, h, W, b, sigma, seed, counter):
    return kernels.gbrbm.gaussian(h @ W.T, b, sigma, seed, counter, RbmStream.VISIBLE)


def gibbs(kernels, v, W, b, c, sigma, n_steps, seed, counter, bar=OFF):
    """`n_steps` sweeps from v, each ticking `bar` (fastgen._progress)."""
    precision = inverse_variance(sigma)
    with blas_threads_for(v.shape[0] * W.shape[0] * W.shape[1]):
        for step in range(n_steps):
            h, _ = sample_hidden(kernels, v * precision, W, c, seed, counter + step)
            v, _ = sample_visible(kernels, h, W, b, sigma, seed, counter + step)
            bar.update()
    return v, h


def free_energy(kernels, v, W, b, c, sigma):
    xp = kernels.xp
    z = (v.astype(xp.float64) - b.astype(xp.float64)) / sigma.astype(xp.float64)
    return kernels.rbm.free_energy((v * inverse_variance(sigma)) @ W, c, -0.5 * (z * z).sum(axis=1))


def log_variance_term(v, b, p_h, W):
    """Sum over rows of 0.5 (v - b)^2 - v (W p_h): times 1 / sigma^2, minus the same under the
    model, it is the gradient of log sigma^2 (Cho, Ilin & Raiko, 2011)."""
    d = v - b
    return (0.5 * d * d - v * (p_h @ W.T)).sum(axis=0)


def cd_statistics(kernels, v_data, W, b, c, sigma, k, chains, seed, counter, scale=1.0, sigma_gradient=False):
    """CD-k (chains None) or PCD-k (chains = persistent hidden states) gradient estimate,
    as fastgen.rbm._loops.cd_statistics: draws at counters counter .. counter + k, statistics of
    the last visible sample and p(h | v), everything times `scale`. Returns (dW, db, dc,
    d_log_var or None, chains)."""
    precision = inverse_variance(sigma)
    scaled_data = v_data * precision
    h, p_h_data = sample_hidden(kernels, scaled_data, W, c, seed, counter)
    if chains is not None:
        h = chains
    for step in range(k):
        v_model, _ = sample_visible(kernels, h, W, b, sigma, seed, counter + step)
        scaled_model = v_model * precision
        h, p_h_model = sample_hidden(kernels, scaled_model, W, c, seed, counter + step + 1)
    scale_data, scale_model = scale / v_data.shape[0], scale / v_model.shape[0]
    dW = scaled_data.T @ p_h_data
    dW *= scale_data
    dW -= (scaled_model.T @ p_h_model) * scale_model
    db = (v_data.sum(axis=0) * scale_data - v_model.sum(axis=0) * scale_model) * precision
    dc = p_h_data.sum(axis=0) * scale_data - p_h_model.sum(axis=0) * scale_model
    d_log_var = None
    if sigma_gradient:
        d_log_var = (log_variance_term(v_data, b, p_h_data, W) * scale_data
                     - log_variance_term(v_model, b, p_h_model, W) * scale_model) * precision
    return dW, db, dc, d_log_var, h
