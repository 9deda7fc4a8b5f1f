"""The binary RBM on Dask (fastgen[dask]): sampling over a cluster's workers, and training on a
Dask array.

BernoulliRBM.sample(..., client=) splits the chains into one contiguous block per worker;
each worker runs the same chains as one process would (the kernels' first_row: a chain's
draws depend on (seed, chain index) only), and the blocks come back concatenated: the
one-process samples, where the GEMMs give a block's rows the whole batch's bits
(fastgen._dask.ROW_TILE).

Training: mini-batches streamed from its row chunks, one
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

from .. import _backend
from .. import _dask as shared
from .._arrays import host
from .._progress import OFF
from . import _sampling


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


def sample_on_workers(client, backend, W, b, c, n_samples, n_steps, seed, counter, betas, bar=OFF):
    """sample_chains of all n_samples chains, in one block per worker of `client`: the host
    samples and, for tempering (betas not None), the swaps accepted and attempted, summed."""
    model = (backend, *(host(a) for a in (W, b, c)), n_steps, seed, counter, betas, n_samples)
    blocks = shared.map_row_blocks(client, _sample_block, model, n_samples, bar)
    samples = np.concatenate([block[0] for block in blocks])
    if betas is None:
        return samples, None, None
    return samples, sum(block[1] for block in blocks), sum(block[2] for block in blocks)


def _sample_block(model, first, count):
    """(samples, accepted, attempts) of chains first .. first + count - 1 (a task on a Dask worker)."""
    backend, W, b, c, n_steps, seed, counter, betas, n_samples = model
    kernels = _backend.resolve(backend, on_device=False)
    xp = kernels.xp
    samples, accepted, attempts = _sampling.sample_chains(kernels, *(xp.asarray(a) for a in (W, b, c)), count, n_steps,
                                                          seed, counter, betas, first, n_samples)
    return host(samples), accepted, attempts
