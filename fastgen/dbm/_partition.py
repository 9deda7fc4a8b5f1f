"""Partition functions of DBMs: exact enumeration of the smaller parity class, and annealed
importance sampling over the odd layers (Salakhutdinov & Hinton, 2009). Public through fastgen.dbm."""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import _dask
from .._arrays import dispatch_layers, host
from .._constants import DbmStream
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
from .._validation import (
    check_betas,
    check_count,
    check_dbm,
    check_layer_list,
    check_seed,
    check_vector,
)
from ._loops import layer_input

# ---------------------------------------------------------------- unchecked versions


def parity_classes(n_layers, sizes):
    """(enumerated, summed) layer indices: the parity class with fewer units is enumerated."""
    odd, even = list(range(1, n_layers + 1, 2)), list(range(0, n_layers + 1, 2))
    return (odd, even) if sum(sizes[i] for i in odd) <= sum(sizes[i] for i in even) else (even, odd)


def exact(kernels, weights, biases) -> float:
    """log Z: the smaller parity class enumerated in chunks, the other summed out, float64."""
    xp = kernels.xp
    weights = [W.astype(xp.float64) for W in weights]
    biases = [b.astype(xp.float64) for b in biases]
    n_layers = len(weights)
    sizes = [b.shape[0] for b in biases]
    enumerated, summed = parity_classes(n_layers, sizes)
    offsets = np.cumsum([0] + [sizes[i] for i in enumerated])

    def log_p(states):
        layers = [None] * (n_layers + 1)
        for k, layer in enumerate(enumerated):
            layers[layer] = states[:, offsets[k]:offsets[k + 1]]
        total = states @ xp.concatenate([biases[i] for i in enumerated])
        for layer in summed:  # sum_i softplus(a_i) as minus a free energy with no visible term
            total -= kernels.rbm.free_energy(layer_input(layers, weights, layer), biases[layer], xp.zeros_like(total))
        return total

    return log_sum_over_states(xp, int(offsets[-1]), max(sizes), log_p)


def even_log_terms(kernels, inputs, base_bias, beta, zeros):
    """sum over the even layers of sum_i softplus(beta a_i + (1 - beta) base_i), float64 per chain."""
    total = zeros.copy()
    for a, base in zip(inputs, base_bias):
        total -= kernels.rbm.free_energy(beta * a, (1.0 - beta) * base, zeros)
    return total


def ais(kernels, weights, biases, n_chains, betas, base, seed, wrap=lambda a: a, bar=OFF, client=None) -> AISResult:
    """The AISResult of checked backend arrays, chains over the odd layers (log weights through
    `wrap`); each beta step of a block of chains (fastgen._partition.blocked_ais) ticks `bar`
    (fastgen._progress). With a distributed `client`, the chains in one range of blocks per
    worker (fastgen._dask.chain_log_weights; the same weights, and no bar)."""
    run = functools.partial(blocked_ais, ais_log_weights, betas=betas, seed=seed,
                            bar=OFF if client is not None else bar)
    log_w = _dask.chain_log_weights(kernels, run, (weights, biases, base), n_chains, client, AIS_BLOCK)
    hidden_units = sum(b.shape[0] for b in biases[1:])
    log_z_base = float(np.logaddexp(0.0, host(base)).sum()) + hidden_units * math.log(2.0)
    return ais_result(log_w, log_z_base, wrap)


def ais_log_weights(kernels, weights, biases, base, *, betas, seed, n_chains, first_chain=0, bar=OFF):
    """The log weights of chains first_chain .. first_chain + n_chains - 1, row i of every draw
    being chain first_chain + i, so that chain i's draws depend on (seed, i) only."""
    xp = kernels.xp
    n_layers = len(weights)
    dtype = weights[0].dtype
    odd, even = list(range(1, n_layers + 1, 2)), list(range(0, n_layers + 1, 2))
    base = base.astype(xp.float64)
    base_bias = [base] + [xp.zeros(biases[layer].shape[0]) for layer in even[1:]]
    odd_bias = [biases[layer].astype(xp.float64) for layer in odd]
    no_bias = [xp.zeros_like(b) for b in biases]  # the logits below carry their biases
    states = [None] * (n_layers + 1)
    for layer in odd:  # the base model's odd layers are uniform: call = layer, RbmStream.INIT
        states[layer] = kernels.random.random_binary((n_chains, biases[layer].shape[0]), dtype, seed, layer,
                                                     first_chain)
    zeros = xp.zeros(n_chains)
    log_w = zeros.copy()
    for k in range(1, betas.size):  # step k: weight increment from beta_{k-1} to beta_k, then transition k
        beta, beta_prev = float(betas[k]), float(betas[k - 1])
        inputs = [(layer_input(states, weights, layer) + biases[layer]).astype(xp.float64) for layer in even]
        for x, b in zip((states[layer] for layer in odd), odd_bias):
            log_w += (beta - beta_prev) * (x @ b)
        log_w += even_log_terms(kernels, inputs, base_bias, beta, zeros)
        log_w -= even_log_terms(kernels, inputs, base_bias, beta_prev, zeros)
        bar.update()
        if k == betas.size - 1:
            break
        # the transition at beta: even layers given the odd ones, then the odd layers
        for layer, a, b0 in zip(even, inputs, base_bias):
            logits = (beta * a + (1.0 - beta) * b0).astype(dtype)
            states[layer], _ = kernels.rbm.bernoulli(logits, no_bias[layer], seed, k, DbmStream.LAYER0 + layer,
                                                     first_chain)
        for layer in odd:
            logits = layer_input(states, weights, layer)
            logits += biases[layer]
            logits *= dtype.type(beta)
            states[layer], _ = kernels.rbm.bernoulli(logits, no_bias[layer], seed, k, DbmStream.LAYER0 + layer,
                                                     first_chain)
    return log_w


# ---------------------------------------------------------------- checked public ops


def log_partition_exact(weights: list[Array], biases: list[Array], *, backend: Backend = None) -> float:
    """log Z exactly, float64: every state of the parity class (odd or even layers, v
    included) with fewer units, at most 25, the other class summed analytically."""
    call, (weights, biases) = dispatch_layers(backend, weights=check_layer_list("weights", weights),
                                              biases=check_layer_list("biases", biases))
    weights, biases = check_dbm(call.kernels.xp, weights, biases)
    sizes = [b.shape[0] for b in biases]
    enumerated, _ = parity_classes(len(weights), sizes)
    n_units = sum(sizes[i] for i in enumerated)
    if n_units > MAX_EXACT_UNITS:
        raise ValueError(f"layer sizes {sizes}: exact log Z enumerates the smaller parity class ({n_units} units), "
                         f"at most {MAX_EXACT_UNITS}; use log_partition_ais for larger models")
    return exact(call.kernels, weights, biases)


def log_partition_ais(weights: list[Array], biases: list[Array], *, n_chains: int = 100, betas: Array | None = None,
                      base_visible_bias: Array | None = None, seed: int = 0, backend: Backend = None,
                      client: Any = None, progress: bool = False) -> AISResult:
    """AIS estimate of log Z (Salakhutdinov & Hinton, 2009): chains over the odd layers,
    the even layers (v included) summed analytically at every inverse temperature.

    Base model: no weights, visible bias `base_visible_bias` (zeros if None; e.g.
    fastgen.rbm.base_visible_bias(X)), hidden biases 0, so log Z_0 = sum softplus(base) +
    (n_1 + ... + n_L) log 2. The intermediate model at beta has
    log p*_beta(x_odd) = beta sum_{odd l} b_l.x_l + sum_{even l} sum_i softplus(beta a_{l,i}
    + (1 - beta) base_{l,i}); a transition samples the even layers, then the odd ones, at
    beta. `betas`: from 0 to 1, increasing (default `default_ais_betas()`). Chain i's draws
    depend on (seed, i) only. `progress`: show a bar of the steps (fastgen._progress; with
    `client`, the elapsed time).

    client: a distributed.Client (fastgen[dask]) to spread the chains over its workers, one
    range of chains each; only their log weights come back, bit for bit those of the
    one-process run with the same seed, whatever the number of workers (each worker runs the
    backend named by `backend`, or the default, on its host). Fewer chains than workers is a
    ValueError."""
    call, (weights, biases, base) = dispatch_layers(backend, weights=check_layer_list("weights", weights),
                                                    biases=check_layer_list("biases", biases),
                                                    base_visible_bias=base_visible_bias)
    xp = call.kernels.xp
    weights, biases = check_dbm(xp, weights, biases)
    n_visible = weights[0].shape[0]
    if base is None:
        base = xp.zeros(n_visible, dtype=weights[0].dtype)
    else:
        base = check_vector(xp, "base_visible_bias", base, n_visible, None, "visible units")
    n_chains = check_count("n_chains", n_chains)
    betas = default_ais_betas() if betas is None else check_betas(betas, from_zero=True)
    seed = check_seed("seed", seed)
    if client is not None:
        _dask.check_rows_per_worker("n_chains", n_chains, client)
        with waiting(progress, "AIS"):
            return ais(call.kernels, weights, biases, n_chains, betas, base, seed, call.wrap, client=client)
    with progress_bar(progress, (betas.size - 1) * ais_blocks(n_chains), "AIS", unit="beta") as shown:
        return ais(call.kernels, weights, biases, n_chains, betas, base, seed, call.wrap, shown)
