"""Binary restricted Boltzmann machine ops on plain arrays (NumPy, CuPy or torch).

Conventions: W has shape (n_visible, n_hidden), b is the visible bias (n_visible,),
c the hidden bias (n_hidden,); states are float arrays of 0/1 of shape
(n_chains, n_units). Energy E(v, h) = -b.v - c.h - v.W.h.

Randomness: every draw is a pure function of (seed, counter, kind of draw, element),
see csrc/include/fastgen/random.h. `sample_hidden` and `sample_visible` with counter n
are the two halves of Gibbs sweep n: `gibbs(v, ..., n_steps, seed=s, counter=n)` is
exactly sample_hidden/sample_visible with counters n, n+1, ..., n+n_steps-1.

Each conditional is a product with W followed by one fused kernel (bias + sigmoid +
Philox uniform + Bernoulli draw). The product is a GEMM through the backend's BLAS,
except on the CPU backends when the input states are binary with at most 20% ones:
then it is a sum of the selected rows of W, fused with the epilogue (the CD weight
gradient likewise). Both paths are deterministic and identical on `cpu` and `numba`.
The unchecked loops on a backend's own arrays, which the estimators call, are in _loops.py.
"""
from __future__ import annotations

from .._arrays import Dispatch
from .._partition import AISResult, base_visible_bias, default_ais_betas
from .._typing import Array, Backend
from .._validation import (
    check_count,
    check_counter,
    check_counters,
    check_float_array,
    check_products,
    check_rbm,
    check_seed,
    check_states,
)
from . import _loops
from ._partition import log_partition_ais, log_partition_exact
from ._tempering import PTResult, parallel_tempering

__all__ = ["AISResult", "PTResult", "base_visible_bias", "cd_statistics", "default_ais_betas",
           "free_energy", "gibbs", "log_partition_ais", "log_partition_exact", "parallel_tempering", "sample_hidden",
           "sample_visible"]


# ---------------------------------------------------------------- checked public ops


def sample_hidden(v: Array, W: Array, c: Array, *, seed: int, counter: int = 0,
                  backend: Backend = None) -> tuple[Array, Array]:
    """h ~ p(h | v) = Bernoulli(sigmoid(v W + c)). Returns (h, p_h)."""
    call = Dispatch(backend, v=v, W=W, c=c)
    xp = call.kernels.xp
    v, W, c = call.arrays
    W, c = check_rbm(xp, W, c=c)
    v = check_states(xp, "v", v, W.shape[0], W.dtype, "visible units of W")
    seed, counter = check_seed("seed", seed), check_counter("counter", counter)
    h, p = _loops.sample_hidden(call.kernels, v, W, c, seed, counter, _loops.is_sparse(call.kernels, v))
    return call.wrap(h), call.wrap(p)


def sample_visible(h: Array, W: Array, b: Array, *, seed: int, counter: int = 0,
                   backend: Backend = None) -> tuple[Array, Array]:
    """v ~ p(v | h) = Bernoulli(sigmoid(h W^T + b)). Returns (v, p_v)."""
    call = Dispatch(backend, h=h, W=W, b=b)
    xp = call.kernels.xp
    h, W, b = call.arrays
    W, b = check_rbm(xp, W, b=b)
    h = check_states(xp, "h", h, W.shape[1], W.dtype, "hidden units of W")
    seed, counter = check_seed("seed", seed), check_counter("counter", counter)
    v, p = _loops.sample_visible(call.kernels, h, W, b, seed, counter)
    return call.wrap(v), call.wrap(p)


def gibbs(v: Array, W: Array, b: Array, c: Array, n_steps: int, *, seed: int, counter: int = 0,
          backend: Backend = None) -> tuple[Array, Array]:
    """`n_steps` block Gibbs sweeps (h ~ p(h|v), then v ~ p(v|h)) of every chain (row of v).
    Returns the final (v, h)."""
    call = Dispatch(backend, v=v, W=W, b=b, c=c)
    xp = call.kernels.xp
    v, W, b, c = call.arrays
    W, b, c = check_rbm(xp, W, b, c)
    v = check_states(xp, "v", v, W.shape[0], W.dtype, "visible units of W")
    n_steps = check_count("n_steps", n_steps)
    counter = check_counters(counter, n_steps, "counter + n_steps - 1")
    v, h = _loops.gibbs(call.kernels, v, W, b, c, n_steps, check_seed("seed", seed), counter)
    return call.wrap(v), call.wrap(h)


def free_energy(v: Array, W: Array, b: Array, c: Array, *, backend: Backend = None) -> Array:
    """F(v) = -b.v - sum_j softplus(c_j + (v W)_j), one float64 value per row of v.
    v may be any real-valued visible vector (probabilities too), not only binary."""
    call = Dispatch(backend, v=v, W=W, b=b, c=c)
    xp = call.kernels.xp
    v, W, b, c = call.arrays
    W, b, c = check_rbm(xp, W, b, c)
    v = check_float_array(xp, "v", v, 2, W.dtype)
    if v.shape[1] != W.shape[0]:
        raise ValueError(f"v must have {W.shape[0]} columns (visible units of W), got shape {tuple(v.shape)}")
    if v.size:
        check_products(xp, W, visible=float(xp.abs(v).max()), biases=[c])
    return call.wrap(_loops.free_energy(call.kernels, v, W, b, c))


def cd_statistics(v_data: Array, W: Array, b: Array, c: Array, k: int, *, chains: Array | None = None, seed: int,
                  counter: int = 0, backend: Backend = None) -> tuple[Array, Array, Array, Array]:
    """CD-k gradient estimate of the mean log-likelihood of `v_data`.

    Returns (dW, db, dc, chains): the positive minus negative statistics
    (mean v h^T under data - mean v h^T under the chains; ascend them), and the new
    hidden chain states. With `chains=None` the negative chains start at
    h0 ~ p(h | v_data) (CD-k); pass the returned chains back in for PCD-k (persistent
    chains are hidden states, as scikit-learn's `h_samples_`; their number may differ
    from the batch size). Uses counters counter .. counter + k.
    """
    call = Dispatch(backend, v_data=v_data, W=W, b=b, c=c, chains=chains)
    xp = call.kernels.xp
    v_data, W, b, c, chains = call.arrays
    W, b, c = check_rbm(xp, W, b, c)
    v_data = check_states(xp, "v_data", v_data, W.shape[0], W.dtype, "visible units of W")
    if chains is not None:
        chains = check_states(xp, "chains", chains, W.shape[1], W.dtype, "hidden units of W")
    k = check_count("k", k)
    counter = check_counters(counter, k + 1, "counter + k")
    seed = check_seed("seed", seed)
    dW, db, dc, chains = _loops.cd_statistics(call.kernels, v_data, W, b, c, k, chains, seed, counter)
    return call.wrap(dW), call.wrap(db), call.wrap(dc), call.wrap(chains)
