"""GaussianMixture on Dask arrays: the distributed half of EM (fastgen.GaussianMixture runs the
loop; this module runs each iteration's E-step where the chunks live).

One iteration: the client ships each run's kernel parameters (O(K D^2), one graph key per run,
fetched once per worker); every row chunk runs the fused E-step (`chunk_statistics`, the one
adapter between Dask and the GMM kernels) and returns its float64 sufficient statistics
(log-likelihood, nk, s1, s2: O(K D^2)); a tree of sums (fastgen._dask.tree_sum) brings one
set per run back to the client, which does the M-step. The n_init restarts advance together:
one `dask.compute` per iteration holds every run still iterating, so their tasks run
concurrently. The sums of the chunks' statistics are those of one pass over X summed in
another order (the results agree to rounding; they do not depend on the number of workers).
"""
from __future__ import annotations

import numpy as np

from .. import _backend
from .._dask import require_dask, tree_sum


def chunk_statistics(backend, X, params, weights=None):
    """(sum w log p, nk, s1, s2) of one chunk of rows by the backend's fused E-step (its
    em_pass, fastgen/gmm/_kernels.py), `params` = (means_t, prec_t, full, bias). The rows are
    checked here, in their task, since only the task reads them."""
    X = np.ascontiguousarray(X)
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity")
    if weights is not None:
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        if not (np.isfinite(weights).all() and (weights >= 0).all()):
            raise ValueError("sample_weight must hold finite values >= 0")
    kernels = _backend.resolve(backend, on_device=False).gmm
    return kernels.em_pass(X, *params, weights)


def _add(*parts):
    """The sum of chunks' statistics tuples."""
    return tuple(sum(values[1:], start=values[0]) for values in zip(*parts))


def em_statistics(X, weights, backend, runs_params):
    """[(sum w log p, nk, s1, s2) over all of X] for each run's kernel parameters, computed in
    one `dask.compute` (every run's tasks at once)."""
    dask, _ = require_dask()
    rows = X.to_delayed().ravel()
    row_weights = [None] * len(rows) if weights is None else weights.to_delayed().ravel()
    sums = []
    for params in runs_params:
        # Keys unique to this call (dask.delayed's default): two runs, or two iterations, with
        # equal parameters must not share keys, which the scheduler may be forgetting.
        shipped = dask.delayed(params)  # one key: each worker fetches it once
        parts = [dask.delayed(chunk_statistics)(backend, block, shipped, w)
                 for block, w in zip(rows, row_weights)]
        sums.append(tree_sum(parts, _add))
    return list(dask.compute(*sums))


def weight_summary(weights):
    """(sum, number of positive values) of a Dask vector of sample weights, checked finite and >= 0."""
    dask, da = require_dask()
    total, n_positive, bad = dask.compute(weights.sum(), da.count_nonzero(weights > 0),
                                          da.any(~da.isfinite(weights) | (weights < 0)))
    if bad:
        raise ValueError("sample_weight must hold finite values >= 0")
    return float(total), int(n_positive)


def row_sample(X, weights, max_rows, random_state):
    """(rows of X, their weights or None) in memory for the initialisation: all of X (in order)
    when it has at most `max_rows` rows, else about `max_rows` rows drawn uniformly with
    `random_state` (with replacement, duplicates dropped: fewer than max_rows when some repeat)."""
    dask, _ = require_dask()
    n_rows = X.shape[0]
    if n_rows > max_rows:
        picked = np.unique(random_state.randint(0, n_rows, size=max_rows))
        X = X[picked]
        weights = None if weights is None else weights[picked]
    if weights is None:
        return X.compute(), None
    return dask.compute(X, weights)


def map_rows(X, model, method, dtype, n_columns=None):
    """Lazy `model.<method>(block)` on each row chunk of X: (N,) or, with `n_columns`, (N, n_columns).
    The fitted model is shipped once (one graph key)."""
    dask, _ = require_dask()
    shipped = dask.delayed(model)
    if n_columns is None:
        return X.map_blocks(_apply, shipped, method, dtype=dtype, meta=np.empty((0,), dtype), drop_axis=1,
                            chunks=(X.chunks[0],))
    return X.map_blocks(_apply, shipped, method, dtype=dtype, meta=np.empty((0, 0), dtype),
                        chunks=(X.chunks[0], (n_columns,)))


def _apply(block, model, method):
    return getattr(model, method)(block)


def backend_name(backend):
    """The resolved backend's name, checked on the client (the tasks resolve it again on the workers)."""
    return _backend.resolve(backend, on_device=False).name
