"""The NADE tests' float64 NumPy reference, written from the model's definition one visible
unit at a time (no fastgen code), and the random tiny models the tests use."""
import itertools

import numpy as np


def random_model(D, H, dtype=np.float64, seed=0, scale=1.0):
    """(W, V, b, c) with standard-normal entries times `scale`."""
    rng = np.random.default_rng(seed)
    W, V = (scale * rng.normal(size=(D, H)) for _ in range(2))
    b, c = scale * rng.normal(size=D), scale * rng.normal(size=H)
    return tuple(a.astype(dtype) for a in (W, V, b, c))


def log_likelihood(v, W, V, b, c):
    """log p(v) of each row: the sum over d of log p(v_d | v_<d), h_d = sigmoid(c + W[:d]^T v[:d])."""
    W, V, b, c = (np.asarray(a, dtype=np.float64) for a in (W, V, b, c))
    out = []
    for row in np.asarray(v, dtype=np.float64):
        total = 0.0
        for d in range(W.shape[0]):
            h = 1.0 / (1.0 + np.exp(-(c + row[:d] @ W[:d])))
            logit = b[d] + V[d] @ h
            total -= np.logaddexp(0.0, -logit if row[d] else logit)
        out.append(total)
    return np.array(out)


def all_states(D):
    """The 2^D binary vectors of length D, as float64 rows."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=D)))


def finite_difference_gradient(v, W, V, b, c, step=1e-6):
    """Central differences of the reference's mean log p with respect to W, V, b and c."""
    params = [np.array(a, dtype=np.float64) for a in (W, V, b, c)]
    grads = []
    for i, p in enumerate(params):
        g = np.empty_like(p)
        for index in np.ndindex(p.shape):
            values = []
            for sign in (1.0, -1.0):
                shifted = [q.copy() for q in params]
                shifted[i][index] += sign * step
                values.append(log_likelihood(v, *shifted).mean())
            g[index] = (values[0] - values[1]) / (2 * step)
        grads.append(g)
    return grads
