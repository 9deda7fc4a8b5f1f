"""Partition functions of binary RBMs: exact enumeration of the smaller layer, and
annealed importance sampling (Salakhutdinov & Murray, 2008). Public through fastgen.rbm."""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import _dask
from .._arrays import Dispatch, host
from .._partition import (
    MAX_EXACT_UNITS,
    AISResult,
    ais_result,
    default_ais_betas,
    log_sum_over_states,
)
from .._progress import waiting
from .._typing import Array, Backend
from .._validation import check_betas, check_count, check_rbm, check_seed, check_vector

# ---------------------------------------------------------------- unchecked versions


def exact(kernels, W, b, c) -> float:
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
    return log_sum_over_states(
        xp, M.shape[0], M.shape[1], lambda states: -kernels.rbm.free_energy(states @ M, other_bias, states @ own_bias)
    )


def ais(kernels, W, b, c, n_chains, betas, base, seed, wrap=lambda a: a, client=None) -> AISResult:
    """The AISResult of checked backend arrays (its log weights through `wrap`); with a
    distributed `client`, the chains in one range per worker (the same weights)."""
    log_weights = _dask.chain_log_weights(kernels, functools.partial(ais_log_weights, betas=betas, seed=seed),
                                          (W, b, c, base), n_chains, client)
    # the base model's hidden units (zero bias) are in its partition function too, see rbm.h
    base = np.asarray(host(base), dtype=np.float64)
    log_z_base = float(np.logaddexp(0.0, base).sum()) + W.shape[1] * math.log(2.0)
    return ais_result(log_weights, log_z_base, wrap)


def ais_log_weights(kernels, W, b, c, base, *, betas, seed, n_chains, first_chain=0):
    """The log weights of chains first_chain .. first_chain + n_chains - 1 (one kernel call)."""
    return kernels.rbm.ais(W, b, c, base, kernels.xp.asarray(betas), seed, n_chains, first_chain)


# ---------------------------------------------------------------- checked public ops


def log_partition_exact(W: Array, b: Array, c: Array, *, backend: Backend = None) -> float:
    """log Z of the RBM (W, b, c), exactly: every state of the smaller layer (at most
    2^25), the other layer summed analytically, float64 throughout."""
    call = Dispatch(backend, W=W, b=b, c=c)
    W, b, c = check_rbm(call.kernels.xp, *call.arrays, nonempty=True)
    if min(W.shape) > MAX_EXACT_UNITS:
        raise ValueError(
            f"W of shape {tuple(W.shape)}: exact log Z enumerates the smaller layer, at most {MAX_EXACT_UNITS} "
            f"units (2^{MAX_EXACT_UNITS} states); use log_partition_ais for larger models"
        )
    return exact(call.kernels, W, b, c)


def log_partition_ais(W: Array, b: Array, c: Array, *, n_chains: int = 100, betas: Array | None = None,
                      base_visible_bias: Array | None = None, seed: int = 0, backend: Backend = None,
                      client: Any = None, progress: bool = False) -> AISResult:
    """AIS estimate of log Z (Salakhutdinov & Murray, 2008).

    The base model has no weights and visible biases `base_visible_bias` (e.g. from
    `base_visible_bias(X)` of the training data; zeros, the uniform distribution, when
    None). `betas`: increasing inverse temperatures from 0 to 1 (default:
    `default_ais_betas()`, about 14,500 steps). Each chain walks all of them in one kernel
    call; chain i's draws depend on (seed, i) only. `progress`: show a bar while it runs; as
    the chains walk the betas inside that one call, it shows the elapsed time, not a fraction.

    client: a distributed.Client (fastgen[dask]) to spread the chains over its workers, one
    range of chains each; only their log weights come back. The result is bit for bit the
    one-process run's with the same seed, whatever the number of workers (each worker runs
    the backend named by `backend`, or the default, on its host). Fewer chains than workers is a
    ValueError."""
    call = Dispatch(backend, W=W, b=b, c=c, base_visible_bias=base_visible_bias)
    xp = call.kernels.xp
    W, b, c, base = call.arrays
    W, b, c = check_rbm(xp, W, b, c, nonempty=True)
    if base is None:
        base = xp.zeros_like(b)
    else:
        base = check_vector(xp, "base_visible_bias", base, W.shape[0], None, "visible units").astype(W.dtype)
    n_chains = check_count("n_chains", n_chains)
    betas = default_ais_betas() if betas is None else check_betas(betas, from_zero=True)
    seed = check_seed("seed", seed)
    if client is not None:
        _dask.check_rows_per_worker("n_chains", n_chains, client)
    with waiting(progress, "AIS"):
        return ais(call.kernels, W, b, c, n_chains, betas, base, seed, call.wrap, client)
