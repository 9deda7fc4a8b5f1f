"""What fastgen's Dask paths share (the optional extra fastgen[dask]): telling a Dask array
apart without importing Dask, checking one for row-wise work, and summing per-chunk results
in a tree.

fastgen runs its kernels inside Dask tasks, as they are: a task holds one block of rows, so
the feature axis must be one chunk (rechunked here, with the rows' chunks kept), and every
chunk size must be known (a reduction needs to know which rows it holds, and the
initialisation draws row indices). Nothing here starts a cluster: the tasks run on the
scheduler in use (a `distributed.Client`, when one exists, else Dask's local threads).
"""
from __future__ import annotations

import math
import sys

import numpy as np

from ._arrays import host
from ._backend import resolve
from ._progress import OFF

# Partial sums combined per task of the reduction tree: log_8 of the chunks levels, few
# enough tasks above the leaves (1/7 of them) and few inputs per task for its transfers.
SPLIT_EVERY = 8


def is_dask_array(x):
    """Whether `x` is a dask.array.Array (False when Dask was never imported: then it is not one)."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(x, module.Array)


def require_dask():
    """dask.array and dask, or an ImportError that names the extra to install."""
    try:
        import dask
        import dask.array
    except ImportError as exc:  # pragma: no cover - exercised where dask is absent
        raise ImportError("this needs Dask: pip install 'fastgen[dask]'") from exc
    return dask, dask.array


def check_row_blocks(name, X, ndim=2):
    """A Dask array `X` of `ndim` dims (rows first) ready for row-block tasks: float32 or
    float64 (integers and booleans become float64), every chunk size known, the non-row
    axes in one chunk (rechunked if they were split)."""
    if X.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {X.shape}")
    if any(math.isnan(size) for sizes in X.chunks for size in sizes):
        raise ValueError(f"{name} has unknown chunk sizes (a Dask array made by boolean indexing or from a "
                         f"dataframe): call {name}.compute_chunk_sizes() first")
    if X.dtype.kind in "biu":
        X = X.astype(np.float64)
    if X.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must hold float32 or float64 numbers, got dtype {X.dtype}")
    if any(len(sizes) > 1 for sizes in X.chunks[1:]):
        X = X.rechunk({axis: -1 for axis in range(1, ndim)})  # a task needs whole rows
    return X


def check_row_weights(name, weights, X):
    """`weights` (a Dask or NumPy vector, one value per row of X) as a float64 Dask array in
    X's row chunks; its values are checked where it is reduced."""
    _, da = require_dask()
    if not is_dask_array(weights):
        weights = np.asarray(weights)
        if weights.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got dtype {weights.dtype}")
        weights = da.from_array(weights, chunks=X.chunks[0] if weights.ndim == 1 else -1)
    if weights.ndim != 1 or weights.shape[0] != X.shape[0]:
        raise ValueError(f"{name} must have shape ({X.shape[0]},) to match X's rows, got {weights.shape}")
    weights = check_row_blocks(name, weights, ndim=1)
    if weights.chunks[0] != X.chunks[0]:
        weights = weights.rechunk((X.chunks[0],))
    return weights.astype(np.float64)


def tree_sum(parts, combine, split_every=SPLIT_EVERY):
    """One Delayed: `parts` (Delayed) reduced by `combine(*group)` over groups of `split_every`, level by level."""
    dask, _ = require_dask()
    while len(parts) > 1:
        parts = [dask.delayed(combine)(*parts[i:i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


# ---------------------------------------------------------------- chains over a cluster's workers


def check_client(client):
    """`client` as a connected distributed.Client with at least one worker, or a TypeError /
    ValueError naming it."""
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - exercised where distributed is absent
        raise ImportError("client= needs Dask's distributed scheduler: pip install 'fastgen[dask]'") from exc
    if not isinstance(client, distributed.Client):
        raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}")
    if client.status != "running":  # a closed client fails deep inside Dask ("IOLoop is closed")
        raise ValueError(f"client is {client.status}, not running: connect a client to the cluster first")
    n_workers = len(client.scheduler_info().get("workers", {}))
    if n_workers < 1:
        raise ValueError("client has no workers: start them (or wait for them) before spreading chains over them")
    return n_workers


def check_rows_per_worker(name, n_rows, client):
    """The number of blocks to split `n_rows` rows into, one per worker of `client`
    (check_client); fewer rows than workers is a ValueError naming `name`."""
    n_workers = check_client(client)
    if n_rows < n_workers:
        raise ValueError(f"{name}={n_rows} is fewer than the client's {n_workers} workers: each worker takes a "
                         f"block of at least one row; ask for more rows, or run without client")
    return n_workers


def chain_ranges(n_chains, n_parts, align=1):
    """[(first, count)]: chains 0 .. n_chains - 1 in at most `n_parts` contiguous ranges of near-equal
    sizes, each starting at a multiple of `align` (whole blocks of `align` chains, the last one shorter)."""
    n_blocks = -(-n_chains // align)
    n_parts = max(1, min(n_parts, n_blocks))
    bounds = [min(n_chains, align * (n_blocks * part // n_parts)) for part in range(n_parts + 1)]
    return [(start, stop - start) for start, stop in zip(bounds[:-1], bounds[1:])]


def map_chain_ranges(client, function, model, n_chains, align=1):
    """np.concatenate of `function(model, first, count)` over ranges of the chains, one range per
    worker of `client` (model, a tuple of host arrays and numbers, sent to every worker once), the
    ranges starting at multiples of `align`. Correct whatever the split only if each chain's
    result depends on its index alone."""
    n_workers = check_client(client)
    return np.concatenate(map_ranges(client, function, model, chain_ranges(n_chains, n_workers, align)))


def map_ranges(client, function, shared, ranges, bar=OFF):
    """[function(shared, first, count)] for the (first, count) `ranges`, one task each, in their
    order (`shared` sent to every worker once; `bar` ticked as each task finishes). A task lost
    with its worker is run again by Dask (the same result, when a range's result depends on its
    indices only), or the call raises."""
    from distributed import as_completed

    [shipped] = client.scatter([shared], broadcast=True)
    futures = [client.submit(function, shipped, first, count, pure=False) for first, count in ranges]
    for _ in as_completed(futures):
        bar.update()
    return client.gather(futures)


# ---------------------------------------------------------------- a batch's rows over a cluster's workers


# Rows by which blocks of a batch start where it is large enough. A BLAS GEMM rounds a row's
# product the same way in a block as in the whole batch only when the block starts where the
# whole batch's row tile starts: measured with OpenBLAS here (single-threaded, sgemm and dgemm
# of 784 x 500), blocks starting at multiples of 96 rows gave the whole batch's products bit
# for bit, blocks at 64, 256, 512 or 1000 did not.
ROW_TILE = 96


def row_blocks(n_rows, n_parts):
    """[(first, count)]: rows 0 .. n_rows - 1 in `n_parts` contiguous blocks of near-equal sizes,
    every block starting at a multiple of ROW_TILE when each can hold one (else anywhere)."""
    return chain_ranges(n_rows, n_parts, ROW_TILE if n_rows >= n_parts * ROW_TILE else 1)


def map_row_blocks(client, function, shared, n_rows, bar=OFF):
    """[function(shared, first, count)] over the row_blocks of rows 0 .. n_rows - 1, one block
    per worker of `client`, in row order (map_ranges)."""
    return map_ranges(client, function, shared, row_blocks(n_rows, check_client(client)), bar)


def chain_log_weights(kernels, function, arrays, n_chains, client=None, align=1):
    """The log weights (a backend array) of chains 0 .. n_chains - 1 of an AIS run:
    `function(kernels, *arrays, n_chains=count, first_chain=first)` once for all of them, or,
    with a distributed `client`, once per worker on a range of them starting at a multiple of
    `align` (map_chain_ranges), the `arrays` (backend arrays, or lists of them) sent to the
    workers on the host and run there on the backend of `kernels`. The same weights either way
    if a chain's weight depends on (seed, chain index) only; `function` is a module-level
    function (or a functools.partial of one) so that it pickles."""
    if client is None:
        return function(kernels, *arrays, n_chains=n_chains, first_chain=0)
    model = (kernels.name, function, _on_host(arrays))
    return kernels.xp.asarray(map_chain_ranges(client, _chain_range, model, n_chains, align))


def _chain_range(model, first, count):
    """The log weights of chains first .. first + count - 1 on the host (a task on a Dask worker)."""
    backend, function, arrays = model
    kernels = resolve(backend, on_device=False)
    return host(function(kernels, *_on_backend(kernels.xp, arrays), n_chains=count, first_chain=first))


def _on_host(arrays):
    """`arrays` (a tuple of backend arrays, lists of them, or None) with every array on the host."""
    return tuple([host(a) for a in x] if isinstance(x, list) else None if x is None else host(x) for x in arrays)


def _on_backend(xp, arrays):
    """The host `arrays` of _on_host as arrays of the array module `xp`."""
    return tuple([xp.asarray(a) for a in x] if isinstance(x, list) else None if x is None else xp.asarray(x)
                 for x in arrays)
