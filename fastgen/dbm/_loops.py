"""The loops of the DBM on one backend's arrays, unchecked: mean field, Gibbs sweeps and the
variational bound. The ops of fastgen.dbm check their arguments and call these; the
estimator calls them in its loops. Conventions as in fastgen.dbm."""
from __future__ import annotations

import math

import numpy as np

from .._arrays import host
from .._blas import blas_threads_for
from .._constants import DbmStream
from .._progress import OFF

# On the GPU the convergence flag is read back every this many sweeps (sweeps run past it change nothing).
DEVICE_CHECK_EVERY = 4


def odd_then_even(n_layers):
    """The hidden layers in the order of a mean-field sweep: odd ones, then even ones >= 2."""
    return list(range(1, n_layers + 1, 2)) + list(range(2, n_layers + 1, 2))


def mean_field(kernels, v, weights, biases, n_steps, tol, damping):
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
        kernels.dbm.mean_field_update(down[layer], second, biases[layer], 0.0, mu[layer], changes, 0, -1.0)
    order = odd_then_even(n_layers)
    check_every = 1 if xp is np else DEVICE_CHECK_EVERY
    for sweep in range(1, n_steps + 1):
        for layer in order:
            if layer > 1:
                xp.matmul(mu[layer - 1], weights[layer - 1], out=down[layer])
            second = None
            if layer < n_layers:
                second = xp.matmul(mu[layer + 1], weights[layer].T, out=up[layer])
            kernels.dbm.mean_field_update(down[layer], second, biases[layer], damping, mu[layer], changes, sweep, limit)
        if tol is not None and (sweep % check_every == 0 or sweep == n_steps) and bool(changes[sweep] < tol):
            break
    return mu[1:]


def layer_input(states, weights, layer):
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


def gibbs(kernels, states, weights, biases, n_steps, seed, counter, bar=OFF):
    """`n_steps` sweeps (odd layers given the even ones, then the even ones), each ticking
    `bar` (fastgen._progress); a new list."""
    states = list(states)
    n_layers = len(weights)
    with blas_threads_for(states[0].shape[0] * max(W.shape[0] * W.shape[1] for W in weights)):
        for sweep in range(n_steps):
            for parity in (1, 0):
                for layer in range(parity, n_layers + 1, 2):
                    states[layer], _ = kernels.rbm.bernoulli(
                        layer_input(states, weights, layer), biases[layer], seed, counter + sweep,
                        DbmStream.LAYER0 + layer
                    )
            bar.update()
    return states


def entropy(mu):
    """sum over units of the Bernoulli entropy -mu log mu - (1 - mu) log(1 - mu) (0 log 0 = 0), per row."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(mu > 0, mu * np.log(mu), 0.0) + np.where(mu < 1, (1 - mu) * np.log1p(-mu), 0.0)
    return -terms.sum(axis=1)


def variational_bound(v, mu, weights, biases):
    """Host float64 bound per row (see `variational_bound`)."""
    layers = [np.asarray(host(x), dtype=np.float64) for x in [v] + list(mu)]
    weights = [np.asarray(host(W), dtype=np.float64) for W in weights]
    biases = [np.asarray(host(b), dtype=np.float64) for b in biases]
    bound = sum(x @ b for x, b in zip(layers, biases))
    for layer, W in enumerate(weights):
        bound += np.einsum("ri,ri->r", layers[layer] @ W, layers[layer + 1])
    for m in layers[1:]:
        bound += entropy(m)
    return bound
