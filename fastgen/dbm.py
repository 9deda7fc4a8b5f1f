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
(DbmStream in dbm.h) and call n, through the RBM's fused Bernoulli kernel, so `cpu` and
`numba` give bit-identical samples. `_`-prefixed functions are the unchecked versions on
a backend's own arrays that the estimator calls.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._arrays import Dispatch
from ._rbm_partition import (
    MAX_EXACT_UNITS,
    AISResult,
    _log_sum_over_states,
    _summarise,
    default_ais_betas,
)
from ._validation import (
    check_betas,
    check_binary,
    check_count,
    check_counter,
    check_float_array,
    check_rows,
    check_seed,
)

STREAM_LAYER0 = 16  # DBM_STREAM_LAYER0 in csrc/include/fastgen/dbm.h: layer l draws on stream 16 + l
# On the GPU the convergence flag is read back every this many sweeps (sweeps run past it change nothing).
DEVICE_CHECK_EVERY = 4


# ---------------------------------------------------------------- unchecked versions


def _odd_then_even(n_layers):
    """The hidden layers in the order of a mean-field sweep: odd ones, then even ones >= 2."""
    return list(range(1, n_layers + 1, 2)) + list(range(2, n_layers + 1, 2))


def _mean_field(kernels, v, weights, biases, n_steps, tol, damping):
    """[mu_1 .. mu_L] by the algorithm of `mean_field`, on the backend's arrays."""
    xp = kernels.xp
    n_layers = len(weights)
    rows = v.shape[0]
    bottom = v @ weights[0]  # v W_0: v does not change
    mu = [v] + [xp.zeros((rows, W.shape[1]), dtype=v.dtype) for W in weights]
    down = [None, bottom] + [xp.empty_like(m) for m in mu[2:]]  # down[l] = mu_{l-1} W_{l-1}
    up = [None] + [xp.empty_like(m) for m in mu[1:-1]] + [None]  # up[l] = mu_{l+1} W_l^T
    changes = xp.zeros(n_steps + 1, dtype=v.dtype)
    changes[0] = math.inf  # the slot of the initial pass: never "converged"
    limit = -1.0 if tol is None else tol
    # the recognition up-pass with doubled weights (bottom + bottom = 2 v W_0, exactly)
    for layer in range(1, n_layers + 1):
        if layer > 1:
            xp.matmul(mu[layer - 1], weights[layer - 1], out=down[layer])
        second = down[layer] if layer < n_layers else None
        kernels.mean_field_update(down[layer], second, biases[layer], 0.0, mu[layer], changes, 0, -1.0)
    order = _odd_then_even(n_layers)
    check_every = 1 if xp is np else DEVICE_CHECK_EVERY
    for sweep in range(1, n_steps + 1):
        for layer in order:
            if layer > 1:
                xp.matmul(mu[layer - 1], weights[layer - 1], out=down[layer])
            second = None
            if layer < n_layers:
                second = xp.matmul(mu[layer + 1], weights[layer].T, out=up[layer])
            kernels.mean_field_update(down[layer], second, biases[layer], damping, mu[layer], changes, sweep, limit)
        if tol is not None and (sweep % check_every == 0 or sweep == n_steps) and bool(changes[sweep] < tol):
            break
    return mu[1:]


def _layer_input(states, weights, layer):
    """x_{l-1} W_{l-1} + x_{l+1} W_l^T, without the bias."""
    total = None
    if layer > 0:
        total = states[layer - 1] @ weights[layer - 1]
    if layer < len(weights):
        product = states[layer + 1] @ weights[layer].T
        if total is None:
            return product
        total += product
    return total


def _gibbs(kernels, states, weights, biases, n_steps, seed, counter):
    """`n_steps` sweeps (odd layers given the even ones, then the even ones); a new list."""
    states = list(states)
    n_layers = len(weights)
    for sweep in range(n_steps):
        for parity in (1, 0):
            for layer in range(parity, n_layers + 1, 2):
                states[layer], _ = kernels.bernoulli(
                    _layer_input(states, weights, layer), biases[layer], seed, counter + sweep, STREAM_LAYER0 + layer
                )
    return states


def _parity_classes(n_layers, sizes):
    """(enumerated, summed) layer indices: the parity class with fewer units is enumerated."""
    odd, even = list(range(1, n_layers + 1, 2)), list(range(0, n_layers + 1, 2))
    return (odd, even) if sum(sizes[i] for i in odd) <= sum(sizes[i] for i in even) else (even, odd)


def _log_partition_exact(kernels, weights, biases) -> float:
    xp = kernels.xp
    weights = [W.astype(xp.float64) for W in weights]
    biases = [b.astype(xp.float64) for b in biases]
    n_layers = len(weights)
    sizes = [b.shape[0] for b in biases]
    enumerated, summed = _parity_classes(n_layers, sizes)
    offsets = np.cumsum([0] + [sizes[i] for i in enumerated])

    def log_p(states):
        layers = [None] * (n_layers + 1)
        for k, layer in enumerate(enumerated):
            layers[layer] = states[:, offsets[k]:offsets[k + 1]]
        total = states @ xp.concatenate([biases[i] for i in enumerated])
        for layer in summed:  # sum_i softplus(a_i) as minus a free energy with no visible term
            total -= kernels.free_energy(_layer_input(layers, weights, layer), biases[layer], xp.zeros_like(total))
        return total

    return _log_sum_over_states(xp, int(offsets[-1]), max(sizes), log_p)


def _even_log_terms(kernels, inputs, base_bias, beta, zeros):
    """sum over the even layers of sum_i softplus(beta a_i + (1 - beta) base_i), float64 per chain."""
    total = zeros.copy()
    for a, base in zip(inputs, base_bias):
        total -= kernels.free_energy(beta * a, (1.0 - beta) * base, zeros)
    return total


def _log_partition_ais(kernels, weights, biases, n_chains, betas, base, seed):
    """(log_z, std, lower, upper), log weights, log Z_base; chains over the odd layers."""
    xp = kernels.xp
    n_layers = len(weights)
    dtype = weights[0].dtype
    odd, even = list(range(1, n_layers + 1, 2)), list(range(0, n_layers + 1, 2))
    base = base.astype(xp.float64)
    base_bias = [base] + [xp.zeros(biases[layer].shape[0]) for layer in even[1:]]
    odd_bias = [biases[layer].astype(xp.float64) for layer in odd]
    no_bias = [xp.zeros_like(b) for b in biases]  # the logits below carry their biases
    states = [None] * (n_layers + 1)
    for layer in odd:  # the base model's odd layers are uniform: call = layer on the STREAM_INIT of rbm.h
        states[layer] = kernels.random_binary((n_chains, biases[layer].shape[0]), dtype, seed, layer)
    zeros = xp.zeros(n_chains)
    log_w = zeros.copy()
    for k in range(1, betas.size):  # step k: weight increment from beta_{k-1} to beta_k, then transition k
        beta, beta_prev = float(betas[k]), float(betas[k - 1])
        inputs = [(_layer_input(states, weights, layer) + biases[layer]).astype(xp.float64) for layer in even]
        for x, b in zip((states[layer] for layer in odd), odd_bias):
            log_w += (beta - beta_prev) * (x @ b)
        log_w += _even_log_terms(kernels, inputs, base_bias, beta, zeros)
        log_w -= _even_log_terms(kernels, inputs, base_bias, beta_prev, zeros)
        if k == betas.size - 1:
            break
        # the transition at beta: even layers given the odd ones, then the odd layers
        for layer, a, b0 in zip(even, inputs, base_bias):
            logits = (beta * a + (1.0 - beta) * b0).astype(dtype)
            states[layer], _ = kernels.bernoulli(logits, no_bias[layer], seed, k, STREAM_LAYER0 + layer)
        for layer in odd:
            logits = _layer_input(states, weights, layer)
            logits += biases[layer]
            logits *= dtype.type(beta)
            states[layer], _ = kernels.bernoulli(logits, no_bias[layer], seed, k, STREAM_LAYER0 + layer)
    hidden_units = sum(b.shape[0] for b in biases[1:])
    log_z_base = float(np.logaddexp(0.0, _host(base)).sum()) + hidden_units * math.log(2.0)
    host_w = np.asarray(_host(log_w), dtype=np.float64)
    return _summarise(host_w, log_z_base), log_w, log_z_base


def _host(a):
    return a.get() if hasattr(a, "get") else a


def _entropy(mu):
    """sum over units of the Bernoulli entropy -mu log mu - (1 - mu) log(1 - mu) (0 log 0 = 0), per row."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(mu > 0, mu * np.log(mu), 0.0) + np.where(mu < 1, (1 - mu) * np.log1p(-mu), 0.0)
    return -terms.sum(axis=1)


def _variational_bound(v, mu, weights, biases):
    """Host float64 bound per row (see `variational_bound`)."""
    layers = [np.asarray(_host(x), dtype=np.float64) for x in [v] + list(mu)]
    weights = [np.asarray(_host(W), dtype=np.float64) for W in weights]
    biases = [np.asarray(_host(b), dtype=np.float64) for b in biases]
    bound = sum(x @ b for x, b in zip(layers, biases))
    for layer, W in enumerate(weights):
        bound += np.einsum("ri,ri->r", layers[layer] @ W, layers[layer + 1])
    for m in layers[1:]:
        bound += _entropy(m)
    return bound


# ---------------------------------------------------------------- checks


def _check_list(name, value):
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of arrays (one per layer), got {type(value).__name__}")


def _dispatch(backend, **extra):
    """Dispatch of a call on the `extra` arrays (results come back as the first one's kind),
    then the weights and biases lists, named weights[l] / biases[l] in errors. Returns
    (call, extra arrays, weights, biases) as the backend's arrays."""
    weights, biases = extra.pop("weights"), extra.pop("biases")
    _check_list("weights", weights)
    _check_list("biases", biases)
    arrays = dict(extra)
    arrays.update({f"weights[{i}]": W for i, W in enumerate(weights)})
    arrays.update({f"biases[{i}]": b for i, b in enumerate(biases)})
    call = Dispatch(backend, **arrays)
    n_extra = len(extra)
    given = call.arrays[:n_extra]
    return call, given, call.arrays[n_extra:n_extra + len(weights)], call.arrays[n_extra + len(weights):]


def _check_model(xp, weights, biases):
    """weights and biases as C-contiguous arrays of one float dtype, their shapes chained."""
    if len(weights) < 2:
        raise ValueError(f"weights must hold at least two matrices (a DBM has >= 2 hidden layers), got {len(weights)}")
    if len(biases) != len(weights) + 1:
        raise ValueError(f"biases must hold one vector per layer ({len(weights) + 1}), got {len(biases)}")
    checked = []
    dtype = None
    for i, W in enumerate(weights):
        W = check_float_array(xp, f"weights[{i}]", W, 2, dtype)
        dtype = W.dtype
        if 0 in W.shape:
            raise ValueError(f"weights[{i}] must have at least one row and one column, got shape {tuple(W.shape)}")
        if checked and checked[-1].shape[1] != W.shape[0]:
            raise ValueError(f"weights[{i}] must have {checked[-1].shape[1]} rows (the columns of weights[{i - 1}]), "
                             f"got shape {tuple(W.shape)}")
        checked.append(W)
    sizes = [W.shape[0] for W in checked] + [checked[-1].shape[1]]
    checked_biases = []
    for i, (b, size) in enumerate(zip(biases, sizes)):
        b = check_float_array(xp, f"biases[{i}]", b, 1, dtype)
        if b.shape[0] != size:
            raise ValueError(f"biases[{i}] must have length {size} (units of layer {i}), got {b.shape[0]}")
        checked_biases.append(b)
    return checked, checked_biases


def _check_layers(xp, names, arrays, biases, binary):
    """One array per layer, matching the biases' sizes and dtype, with as many rows as the
    first; binary states (`binary`) or values in [0, 1]."""
    checked = []
    for i, (name, x, b) in enumerate(zip(names, arrays, biases)):
        x = check_rows(xp, name, x, b.shape[0], b.dtype, f"units of layer {i}")
        if checked and x.shape[0] != checked[0].shape[0]:
            raise ValueError(f"{name} must have {checked[0].shape[0]} rows (those of {names[0]}), got {x.shape[0]}")
        if binary:
            check_binary(xp, name, x)
        else:
            _check_probabilities(xp, name, x)
        checked.append(x)
    return checked


def _check_probabilities(xp, name, a):
    if a.size and not bool(((a >= 0) & (a <= 1)).all()):
        raise ValueError(f"{name} must hold values in [0, 1] (binary states or probabilities)")


def _check_fraction(name, value, low_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if not (0 < value if low_open else 0 <= value < 1):
        raise ValueError(f"{name} must be {'> 0' if low_open else 'in [0, 1)'}, got {value!r}")
    return float(value)


# ---------------------------------------------------------------- checked public ops


def mean_field(v, weights, biases, *, n_steps=10, tol=None, damping=0.0, backend=None):
    """Mean-field posterior of the hidden layers given visible rows `v` (binary or
    probabilities in [0, 1]). Returns [mu_1 .. mu_L], each (rows, n_l).

    Start: the recognition up-pass with doubled weights (Salakhutdinov & Hinton, 2009),
    mu_l = sigmoid(2 mu_{l-1} W_{l-1} + b_l) for l < L, mu_L = sigmoid(mu_{L-1} W_{L-1} + b_L).
    Each sweep updates the odd layers, then the even ones (increasing l):
    mu_l <- (1 - damping) sigmoid(b_l + mu_{l-1} W_{l-1} + mu_{l+1} W_l^T) + damping mu_l.
    Stops after `n_steps` sweeps, or after the first sweep whose largest |change| over all
    entries is below `tol` (None: never early)."""
    call, (v,), weights, biases = _dispatch(backend, v=v, weights=weights, biases=biases)
    xp = call.kernels.xp
    weights, biases = _check_model(xp, weights, biases)
    v = check_rows(xp, "v", v, weights[0].shape[0], weights[0].dtype, "visible units of weights[0]")
    _check_probabilities(xp, "v", v)
    n_steps = check_count("n_steps", n_steps, minimum=0)
    if tol is not None:
        tol = _check_fraction("tol", tol, low_open=True)
    damping = _check_fraction("damping", damping)
    return [call.wrap(m) for m in _mean_field(call.kernels, v, weights, biases, n_steps, tol, damping)]


def gibbs(states, weights, biases, n_steps, *, seed, counter=0, backend=None):
    """`n_steps` block Gibbs sweeps of every chain: the odd layers given the even ones, then
    the even layers (v included) given the odd ones. `states` = [x_0 .. x_L], binary, one
    row per chain. Sweep n uses counter `counter + n`. Returns the new list of states."""
    _check_list("states", states)
    named = {f"states[{i}]": x for i, x in enumerate(states)}
    call, given, weights, biases = _dispatch(backend, **named, weights=weights, biases=biases)
    xp = call.kernels.xp
    weights, biases = _check_model(xp, weights, biases)
    if len(given) != len(biases):
        raise ValueError(f"states must hold one array per layer ({len(biases)}), got {len(given)}")
    checked = _check_layers(xp, list(named), given, biases, binary=True)
    n_steps = check_count("n_steps", n_steps)
    counter = check_counter("counter", counter)
    check_counter("counter + n_steps - 1", counter + n_steps - 1)
    result = _gibbs(call.kernels, checked, weights, biases, n_steps, check_seed("seed", seed), counter)
    return [call.wrap(x) for x in result]


def log_partition_exact(weights, biases, *, backend=None) -> float:
    """log Z exactly, float64: every state of the parity class (odd or even layers, v
    included) with fewer units, at most 25, the other class summed analytically."""
    call, _, weights, biases = _dispatch(backend, weights=weights, biases=biases)
    weights, biases = _check_model(call.kernels.xp, weights, biases)
    sizes = [b.shape[0] for b in biases]
    enumerated, _ = _parity_classes(len(weights), sizes)
    n_units = sum(sizes[i] for i in enumerated)
    if n_units > MAX_EXACT_UNITS:
        raise ValueError(f"layer sizes {sizes}: exact log Z enumerates the smaller parity class ({n_units} units), "
                         f"at most {MAX_EXACT_UNITS}; use log_partition_ais for larger models")
    return _log_partition_exact(call.kernels, weights, biases)


def log_partition_ais(weights, biases, *, n_chains=100, betas=None, base_visible_bias=None, seed=0,
                      backend=None) -> AISResult:
    """AIS estimate of log Z (Salakhutdinov & Hinton, 2009): chains over the odd layers,
    the even layers (v included) summed analytically at every inverse temperature.

    Base model: no weights, visible bias `base_visible_bias` (zeros if None; e.g.
    fastgen.rbm.base_visible_bias(X)), hidden biases 0, so log Z_0 = sum softplus(base) +
    (n_1 + ... + n_L) log 2. The intermediate model at beta has
    log p*_beta(x_odd) = beta sum_{odd l} b_l.x_l + sum_{even l} sum_i softplus(beta a_{l,i}
    + (1 - beta) base_{l,i}); a transition samples the even layers, then the odd ones, at
    beta. `betas`: from 0 to 1, increasing (default `default_ais_betas()`)."""
    given = {} if base_visible_bias is None else {"base_visible_bias": base_visible_bias}
    call, given, weights, biases = _dispatch(backend, **given, weights=weights, biases=biases)
    base = given[0] if given else None
    xp = call.kernels.xp
    weights, biases = _check_model(xp, weights, biases)
    n_visible = weights[0].shape[0]
    if base is None:
        base = xp.zeros(n_visible, dtype=weights[0].dtype)
    else:
        base = check_float_array(xp, "base_visible_bias", base, 1, None)
        if base.shape[0] != n_visible:
            raise ValueError(f"base_visible_bias must have length {n_visible} (visible units), got {base.shape[0]}")
    n_chains = check_count("n_chains", n_chains)
    betas = default_ais_betas() if betas is None else check_betas(betas, from_zero=True)
    (log_z, std, lower, upper), log_weights, log_z_base = _log_partition_ais(
        call.kernels, weights, biases, n_chains, betas, base, check_seed("seed", seed)
    )
    return AISResult(log_z, std, lower, upper, call.wrap(log_weights), log_z_base)


def variational_bound(v, mu, weights, biases):
    """The mean-field lower bound on log p*(v) (log p(v) + log Z) of each row, float64:
    sum_l b_l.mu_l + sum_l mu_l W_l mu_{l+1} + sum_{l >= 1} H(mu_l), with mu_0 = v and H the
    entropy of independent Bernoulli units. `mu` = [mu_1 .. mu_L], e.g. from `mean_field`."""
    _check_list("mu", mu)
    named = {f"mu[{i + 1}]": m for i, m in enumerate(mu)}
    call, given, weights, biases = _dispatch(None, v=v, **named, weights=weights, biases=biases)
    xp = call.kernels.xp
    weights, biases = _check_model(xp, weights, biases)
    if len(given) != len(biases):
        raise ValueError(f"mu must hold one array per hidden layer ({len(biases) - 1}), got {len(given) - 1}")
    layers = _check_layers(xp, ["v", *named], given, biases, binary=False)
    return call.wrap(_variational_bound(layers[0], layers[1:], weights, biases))
