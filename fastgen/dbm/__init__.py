"""Deep Boltzmann machine ops on plain arrays (NumPy, CuPy or torch).

Conventions: layers x_0 = v (n_0 visible units), x_1 .. x_L hidden (L >= 2), all binary;
`weights` = [W_0 .. W_{L-1}] with W_l of shape (n_l, n_{l+1}), `biases` = [b_0 .. b_L].
Energy E(x) = -sum_l b_l.x_l - sum_l x_l W_l x_{l+1}. The input to layer l from its
neighbours is a_l = b_l + x_{l-1} W_{l-1} + x_{l+1} W_l^T (terms that do not exist left
out): odd layers are conditionally independent given the even ones, and vice versa.

Mean field: every product goes through the backend's BLAS, then one fused kernel per
layer update (csrc/include/fastgen/dbm.h) adds the products and the bias, applies the
sigmoid and the damping and folds the largest change into a per-sweep slot on the
backend; the host reads it only to stop early (on the GPU every few sweeps).

Randomness: Gibbs sweep n (counter n) samples layer l with the Philox stream 16 + l
(DbmStream in random.h) and call n, through the RBM's fused Bernoulli kernel, so `cpu` and
`numba` give bit-identical samples. The unchecked loops on a backend's own arrays, which
the estimator calls, are in _loops.py.
"""
from __future__ import annotations

import math

from .._arrays import dispatch_layers
from .._partition import AISResult, default_ais_betas
from .._typing import Array, Backend
from .._validation import (
    check_count,
    check_counters,
    check_dbm,
    check_layer_list,
    check_layers,
    check_probabilities,
    check_real,
    check_rows,
    check_seed,
)
from . import _loops
from ._partition import log_partition_ais, log_partition_exact

__all__ = ["AISResult", "default_ais_betas", "gibbs", "log_partition_ais", "log_partition_exact", "mean_field",
           "variational_bound"]


def mean_field(v: Array, weights: list[Array], biases: list[Array], *, n_steps: int = 10, tol: float | None = None,
               damping: float = 0.0, backend: Backend = None) -> list[Array]:
    """Mean-field posterior of the hidden layers given visible rows `v` (binary or
    probabilities in [0, 1]). Returns [mu_1 .. mu_L], each (rows, n_l).

    Start: the recognition up-pass with doubled weights (Salakhutdinov & Hinton, 2009),
    mu_l = sigmoid(2 mu_{l-1} W_{l-1} + b_l) for l < L, mu_L = sigmoid(mu_{L-1} W_{L-1} + b_L).
    Each sweep updates the odd layers, then the even ones (increasing l):
    mu_l <- (1 - damping) sigmoid(b_l + mu_{l-1} W_{l-1} + mu_{l+1} W_l^T) + damping mu_l.
    Stops after `n_steps` sweeps, or after the first sweep whose largest |change| over all
    entries is below `tol` (None: never early)."""
    call, (v, weights, biases) = dispatch_layers(backend, v=v, weights=check_layer_list("weights", weights),
                                                 biases=check_layer_list("biases", biases))
    xp = call.kernels.xp
    weights, biases = check_dbm(xp, weights, biases)
    v = check_rows(xp, "v", v, weights[0].shape[0], weights[0].dtype, "visible units of weights[0]")
    check_probabilities(xp, "v", v)
    n_steps = check_count("n_steps", n_steps, minimum=0)
    if tol is not None:
        tol = check_real("tol", tol, 0.0, math.inf, low_open=True, high_open=True)
    damping = check_real("damping", damping, 0.0, 1.0, high_open=True)
    return [call.wrap(m) for m in _loops.mean_field(call.kernels, v, weights, biases, n_steps, tol, damping)]


def gibbs(states: list[Array], weights: list[Array], biases: list[Array], n_steps: int, *, seed: int, counter: int = 0,
          backend: Backend = None) -> list[Array]:
    """`n_steps` block Gibbs sweeps of every chain: the odd layers given the even ones, then
    the even layers (v included) given the odd ones. `states` = [x_0 .. x_L], binary, one
    row per chain. Sweep n uses counter `counter + n`. Returns the new list of states."""
    call, (states, weights, biases) = dispatch_layers(backend, states=check_layer_list("states", states),
                                                      weights=check_layer_list("weights", weights),
                                                      biases=check_layer_list("biases", biases))
    xp = call.kernels.xp
    weights, biases = check_dbm(xp, weights, biases)
    if len(states) != len(biases):
        raise ValueError(f"states must hold one array per layer ({len(biases)}), got {len(states)}")
    checked = check_layers(xp, [f"states[{i}]" for i in range(len(states))], states, biases, binary=True)
    n_steps = check_count("n_steps", n_steps)
    counter = check_counters(counter, n_steps, "counter + n_steps - 1")
    result = _loops.gibbs(call.kernels, checked, weights, biases, n_steps, check_seed("seed", seed), counter)
    return [call.wrap(x) for x in result]


def variational_bound(v: Array, mu: list[Array], weights: list[Array], biases: list[Array]) -> Array:
    """The mean-field lower bound on log p*(v) (log p(v) + log Z) of each row, float64:
    sum_l b_l.mu_l + sum_l mu_l W_l mu_{l+1} + sum_{l >= 1} H(mu_l), with mu_0 = v and H the
    entropy of independent Bernoulli units. `mu` = [mu_1 .. mu_L], e.g. from `mean_field`."""
    layers = {"v": v, **{f"mu[{i + 1}]": m for i, m in enumerate(check_layer_list("mu", mu))}}
    call, (*given, weights, biases) = dispatch_layers(None, **layers, weights=check_layer_list("weights", weights),
                                                      biases=check_layer_list("biases", biases))
    xp = call.kernels.xp
    weights, biases = check_dbm(xp, weights, biases)
    if len(given) != len(biases):
        raise ValueError(f"mu must hold one array per hidden layer ({len(biases) - 1}), got {len(given) - 1}")
    given = check_layers(xp, list(layers), given, biases, binary=False)
    return call.wrap(_loops.variational_bound(given[0], given[1:], weights, biases))
