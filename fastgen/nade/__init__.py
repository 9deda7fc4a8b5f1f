"""NADE, the neural autoregressive density estimator (Larochelle & Murray, 2011), as ops on
plain arrays (NumPy, CuPy or torch); the estimator is fastgen.NADE.

Conventions: binary rows v (n, D); input weights W and output weights V, both (D, H), row d
of W being the paper's W[:, d]; the visible bias b (D,) and hidden bias c (H,). In the fixed
order d = 0 .. D-1:

    h_d = sigmoid(c + sum_{k<d} v_k W_k),   p(v_d = 1 | v_<d) = sigmoid(b_d + V_d . h_d)

Each op is one fused loop per example over its D steps, O(D H) per example: the running
pre-activation a_d gains one row of W at each v_d = 1 (csrc/include/fastgen/nade.h).

    log_likelihood(v, W, V, b, c)       exact log p(v) of each row (float64)
    log_likelihood_grad(v, W, V, b, c)  (log p, dW, dV, db, dc): the gradient of mean log p
    sample(n, W, V, b, c, seed=...)     ancestral samples, the D steps inside the kernel

Randomness: v_d of sample r takes uniform r * D + d of draw (seed, counter,
NadeStream.SAMPLE) (csrc/include/fastgen/random.h): `cpu` and `numba` draw bit-identical
samples, and a sample does not depend on how many are drawn with it.
"""
from __future__ import annotations

from .._arrays import Dispatch
from .._validation import check_count, check_counter, check_nade, check_seed, check_states
from ._kernels import split_gradient

__all__ = ["log_likelihood", "log_likelihood_grad", "sample"]


def _checked(backend, v, W, V, b, c):
    """(kernels, wrap, v, W, V, b, c), all checked; v binary rows of D columns."""
    call = Dispatch(backend, v=v, W=W, V=V, b=b, c=c)
    xp = call.kernels.xp
    v, W, V, b, c = call.arrays
    W, V, b, c = check_nade(xp, W, V, b, c)
    v = check_states(xp, "v", v, W.shape[0], W.dtype, "visible units of W")
    return call, v, W, V, b, c


def log_likelihood(v, W, V, b, c, *, backend=None):
    """log p(v) of each row of the binary v (n, D), exact: float64 (n,)."""
    call, v, W, V, b, c = _checked(backend, v, W, V, b, c)
    return call.wrap(call.kernels.nade.log_likelihood(v, W, V, b, c))


def log_likelihood_grad(v, W, V, b, c, *, backend=None):
    """(log_p, dW, dV, db, dc): log p(v) of each row (float64), and the gradient of the mean
    of log p over the rows with respect to W, V, b and c (W's dtype), by the reverse sweep."""
    call, v, W, V, b, c = _checked(backend, v, W, V, b, c)
    grad, log_p = call.kernels.nade.gradient(v, W, V, b, c, 1.0 / v.shape[0])
    return (call.wrap(log_p), *(call.wrap(g) for g in split_gradient(grad, *W.shape)))


def sample(n_samples, W, V, b, c, *, seed, counter=0, backend=None):
    """`n_samples` binary rows (n_samples, D) of W's dtype, drawn exactly from the model by
    ancestral sampling with the Philox draw (seed, counter, NadeStream.SAMPLE)."""
    call = Dispatch(backend, W=W, V=V, b=b, c=c)
    W, V, b, c = check_nade(call.kernels.xp, *call.arrays)
    n_samples = check_count("n_samples", n_samples, minimum=0)
    seed, counter = check_seed("seed", seed), check_counter("counter", counter)
    return call.wrap(call.kernels.nade.sample(n_samples, W, V, b, c, seed, counter))
