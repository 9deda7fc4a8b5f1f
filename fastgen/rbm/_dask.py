"""RBM training on a Dask array (fastgen[dask]): mini-batches streamed from its row chunks, one
chunk in memory at a time (and the next one, computed while the current one trains), so
that X is never loaded whole. The batches are those of the in-memory fit (the same rows in
the same order), so the fitted model is the in-memory one, bit for bit.

Synchronous data-parallel PCD (workers computing gradients of their shards, averaged at every
update) is left out: every update needs the whole gradient of its mini-batch, so each update
would be a round trip to every worker (milliseconds) for a few microseconds of work per row
at the usual batch sizes; the training here is sequential, and the cluster serves the data.
"""
from __future__ import annotations

import concurrent.futures

import numpy as np


def row_batches(X, slices):
    """X[s] as NumPy arrays for the `slices` (in increasing order), loading each chunk of the Dask
    array X once per pass, the next chunk computing in the background."""
    blocks = list(X.to_delayed().ravel())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = [pool.submit(block.compute) for block in blocks[:1]]
        next_block = 1
        held, first_row = np.empty((0, X.shape[1]), dtype=X.dtype), 0  # rows first_row .. of X in memory
        for batch in slices:
            while first_row + held.shape[0] < batch.stop:
                chunk = pending.pop(0).result()
                if not np.isfinite(chunk).all():
                    raise ValueError("X contains NaN or infinity")
                if next_block < len(blocks):
                    pending.append(pool.submit(blocks[next_block].compute))
                    next_block += 1
                held = np.concatenate([held, chunk]) if held.shape[0] else chunk
            start = batch.start - first_row
            yield held[start:batch.stop - first_row]
            held, first_row = held[batch.stop - first_row:], batch.stop


def chunks(X):
    """The row chunks of the Dask array X as NumPy arrays, in order (the next one computing in the background)."""
    bounds = np.cumsum((0, *X.chunks[0]))
    return row_batches(X, [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a])
