"""fastgen.sample(..., client=) (fastgen[dask]): the batch split into one contiguous block of
samples per worker of a distributed cluster. Every worker runs the whole loop on its block
with its own copy of the model (the denoiser is pickled to it) and draws what those samples
draw in the one-process loop (the kernels' first_row: sample i's noise depends on (seed, i)
only), so the concatenated blocks are the one-process result, bit for bit when the model's
output for a sample does not depend on the rest of its batch.

Left to one process: a torch.Generator seed (one sequential stream, whose draws for a block
depend on every sample before it) and cuda_graph (a capture of one process's loop).
"""
from __future__ import annotations

import sys

import numpy as np

from .. import _backend
from .. import _dask as shared
from .._progress import bar as progress_bar


def sample_on_workers(client, sample_rows, model, shape, scheduler, seed, options, progress, torch_generator,
                      cuda_graph):
    """`sample_rows(model, (count, *shape[1:]), scheduler, seed, options, first)` on a block of
    rows per worker of `client`, concatenated; everything checked before any task starts."""
    n_blocks = shared.check_rows_per_worker("shape[0]", shape[0], client)
    if torch_generator:
        raise ValueError("seed: a torch.Generator cannot be split over workers (its draws for a block depend on "
                         "every sample before it); pass an int seed with client=")
    if cuda_graph:
        raise ValueError("cuda_graph captures one process's loop; with client= each worker runs its own loop: "
                         "pass cuda_graph=False")
    if options["backend"] is not None and options["backend"] not in _backend.BACKEND_ORDER:
        _backend._check_name(options["backend"])  # the error naming the backends there are
    for name, value in (("model", model), ("scheduler", scheduler), ("condition", options["condition"])):
        _check_picklable(name, value)
    work = (sample_rows, model, tuple(shape), scheduler, seed, options)
    with progress_bar(progress, n_blocks, "diffusion sampling on Dask workers", unit="block") as shown:
        blocks = shared.map_row_blocks(client, _sample_block, work, shape[0], shown)
    return _concatenate(blocks)


def _sample_block(work, first, count):
    """Samples first .. first + count - 1 of the batch (a task on a Dask worker)."""
    sample_rows, model, shape, scheduler, seed, options = work
    condition = options["condition"]
    if getattr(condition, "shape", ()) and condition.shape[0] == shape[0]:  # one condition per sample
        options = {**options, "condition": condition[first:first + count]}
    return sample_rows(model, (count, *shape[1:]), scheduler, seed, options, first)


def _check_picklable(name, value):
    """A TypeError naming `name` when `value` cannot be pickled (cloudpickle, as Dask sends it)."""
    import cloudpickle

    try:
        cloudpickle.dumps(value)
    except Exception as exc:  # noqa: BLE001 - whatever pickling raises, the cause is the value
        raise TypeError(f"{name} must be picklable to go to the Dask workers (client=): {exc}") from exc


def _concatenate(blocks):
    """The blocks along the batch axis, as their kind of array (NumPy, torch or CuPy)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(blocks[0], torch.Tensor):
        return torch.cat(blocks)
    if isinstance(blocks[0], np.ndarray):
        return np.concatenate(blocks)
    return sys.modules["cupy"].concatenate(blocks)
