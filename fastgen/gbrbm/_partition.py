"""Partition functions of Gaussian-Bernoulli RBMs: exact (every hidden state, the visible
layer integrated analytically) and annealed importance sampling. Public through
fastgen.gbrbm, whose docstring states the model."""
from __future__ import annotations

import functools
import math
from typing import Any

from .. import _dask
from .._arrays import Dispatch
from .._constants import RbmStream
from .._partition import (
    AIS_BLOCK,
    MAX_EXACT_UNITS,
    AISResult,
    ais_blocks,
    ais_result,
    blocked_ais,
    default_ais_betas,
    log_sum_over_states,
)
from .._progress import OFF, waiting
from .._progress import bar as progress_bar
from .._typing import Array, Backend
from .._validation import check_betas, check_count, check_rbm, check_seed


def _log_z_gaussian(xp, sigma):
    """log of the integral of exp(-sum_i v_i^2 / (2 sigma_i^2)) over v: the visible layer's
    share of log Z, (n_v / 2) log 2 pi + sum_i log sigma_i."""
    return 0.5 * sigma.shape[0] * math.log(2.0 * math.pi) + float(xp.log(sigma.astype(xp.float64)).sum())


def _softplus(xp, x):
    return xp.logaddexp(0.0, x)


# ---------------------------------------------------------------- unchecked versions


def exact(xp, W, b, c, sigma) -> float:
    """log Z = log Z_gaussian + logsumexp_h [c.h + sum_i ((b + W h)_i^2 - b_i^2) / (2 sigma_i^2)]
    (completing the square), the square difference taken as (W h)_i ((W h)_i + 2 b_i) so
    that it does not cancel; every hidden state in chunks, float64."""
    W, b, c, sigma = (a.astype(xp.float64) for a in (W, b, c, sigma))
    half_precision = 0.5 / (sigma * sigma)

    def log_weight(states):
        wh = states @ W.T
        return states @ c + (wh * (wh + 2.0 * b) * half_precision).sum(axis=1)

    return _log_z_gaussian(xp, sigma) + log_sum_over_states(xp, W.shape[1], W.shape[0], log_weight)


def ais(kernels, W, b, c, sigma, n_chains, betas, seed, wrap=lambda a: a, bar=OFF, client=None) -> AISResult:
    """The AISResult of checked backend arrays (its log weights through `wrap`); each beta
    step of a block of chains ticks `bar` (fastgen._progress). With a distributed `client`, the
    chains in one range of blocks per worker (fastgen._dask.chain_log_weights; the same
    weights, and no bar)."""
    run = functools.partial(blocked_ais, ais_log_weights, betas=betas, seed=seed,
                            bar=OFF if client is not None else bar)
    log_weights = _dask.chain_log_weights(kernels, run, (W, b, c, sigma), n_chains, client, AIS_BLOCK)
    return ais_result(log_weights, _log_z_gaussian(kernels.xp, sigma) + W.shape[1] * math.log(2.0), wrap)


def ais_log_weights(kernels, W, b, c, sigma, *, betas, seed, n_chains, first_chain=0, bar=OFF):
    """The log weights of chains first_chain .. first_chain + n_chains - 1.

    Anneals the weights and the hidden bias: p*_beta(v) = exp(-sum_i (v_i - b_i)^2 /
    (2 sigma_i^2)) prod_j (1 + exp(beta a_j)), a = c + (v / sigma^2) W. At beta = 0 this is
    N(b, sigma^2) times 2^n_hidden. The transition at beta: h ~ sigmoid(beta a), then
    v ~ N(b + beta W h, sigma^2). One Python step per beta on all these chains at once (a
    block of them: fastgen._partition.blocked_ais), GEMMs and the weights in float64, the draws
    from the backend's kernels, row i of a draw being chain first_chain + i (so chain i's draws
    depend on (seed, i) only, whichever chains run together): counter 0 of RbmStream.INIT for
    the start, counter k of RbmStream.HIDDEN and RbmStream.VISIBLE for the transition at
    betas[k]."""
    xp = kernels.xp
    W, b, c, sigma = (a.astype(xp.float64) for a in (W, b, c, sigma))
    n_visible, n_hidden = W.shape
    scaled = W / (sigma * sigma)[:, None]
    zero_bias = xp.zeros(n_hidden)
    v, _ = kernels.gbrbm.gaussian(xp.zeros((n_chains, n_visible)), b, sigma, seed, 0, RbmStream.INIT, first_chain)
    log_weights = xp.zeros(n_chains)
    last = betas.size - 1
    for k in range(1, last + 1):
        beta, beta_prev = float(betas[k]), float(betas[k - 1])
        a = v @ scaled
        a += c
        log_weights += (_softplus(xp, beta * a) - _softplus(xp, beta_prev * a)).sum(axis=1)
        bar.update()
        if k == last:
            break
        h, _ = kernels.rbm.bernoulli(beta * a, zero_bias, seed, k, RbmStream.HIDDEN, first_chain)
        v, _ = kernels.gbrbm.gaussian(beta * (h @ W.T), b, sigma, seed, k, RbmStream.VISIBLE, first_chain)
    return log_weights


# ---------------------------------------------------------------- checked public ops


def log_partition_exact(W: Array, b: Array, c: Array, sigma: Array, *, backend: Backend = None) -> float:
    """log Z of the Gaussian-Bernoulli RBM (W, b, c, sigma), exactly: every hidden state
    (at most 2^25), the visible layer integrated analytically, float64 throughout."""
    call = Dispatch(backend, W=W, b=b, c=c, sigma=sigma)
    xp = call.kernels.xp
    W, b, c, sigma = check_rbm(xp, *call.arrays, nonempty=True)
    if W.shape[1] > MAX_EXACT_UNITS:
        raise ValueError(
            f"W of shape {tuple(W.shape)}: exact log Z enumerates the hidden layer, at most {MAX_EXACT_UNITS} "
            f"units (2^{MAX_EXACT_UNITS} states); use log_partition_ais for larger models"
        )
    return exact(xp, W, b, c, sigma)


def log_partition_ais(W: Array, b: Array, c: Array, sigma: Array, *, n_chains: int = 100, betas: Array | None = None,
                      seed: int = 0, backend: Backend = None, client: Any = None,
                      progress: bool = False) -> AISResult:
    """AIS estimate of log Z (Salakhutdinov & Murray, 2008) of the Gaussian-Bernoulli RBM.

    The base model (beta = 0) is N(b, sigma^2) on the visible units times uniform hidden
    units, log Z_0 = (n_v / 2) log 2 pi + sum_i log sigma_i + n_h log 2; the weights and the
    hidden bias are annealed in. `betas`: increasing inverse temperatures from 0 to 1
    (default: `default_ais_betas()`, about 14,500 steps, one batched step each per block of
    fastgen._partition.AIS_BLOCK chains). Chain i's draws depend on (seed, i) only.
    `progress`: show a bar of the steps (fastgen._progress; with `client`, the elapsed time).

    client: a distributed.Client (fastgen[dask]) to spread the chains over its workers, one
    range of chains each; only their log weights come back, bit for bit those of the
    one-process run with the same seed, whatever the number of workers (each worker runs the
    backend named by `backend`, or the default, on its host). Fewer chains than workers is a
    ValueError."""
    call = Dispatch(backend, W=W, b=b, c=c, sigma=sigma)
    W, b, c, sigma = check_rbm(call.kernels.xp, *call.arrays, nonempty=True)
    n_chains = check_count("n_chains", n_chains)
    betas = default_ais_betas() if betas is None else check_betas(betas, from_zero=True)
    seed = check_seed("seed", seed)
    if client is not None:
        _dask.check_rows_per_worker("n_chains", n_chains, client)
        with waiting(progress, "AIS"):
            return ais(call.kernels, W, b, c, sigma, n_chains, betas, seed, call.wrap, client=client)
    with progress_bar(progress, (betas.size - 1) * ais_blocks(n_chains), "AIS", unit="beta") as shown:
        return ais(call.kernels, W, b, c, sigma, n_chains, betas, seed, call.wrap, shown)
