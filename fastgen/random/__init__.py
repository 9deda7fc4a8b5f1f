"""Counter-based random numbers: the Philox4x32-10 draws that fastgen's kernels make, as a
public API.

Element i (the flat, row-major index) of a draw is a pure function of (seed, counter,
stream, i): the word i % 4 of the Philox4x32-10 block with counter (i // 4, counter,
stream) and key seed (the layout in csrc/include/fastgen/random.h). So every backend gives
the same numbers, whatever its number of threads or its launch geometry, any slice of a
draw can be recomputed alone, and a draw made by fastgen's kernels (an RBM's hidden units
use stream 0 with the Gibbs sweep's counter, a diffusion step's noise stream 0 with the
timestep: see fastgen._constants) can be reproduced here.

    uniform(shape, seed, counter)   uniforms in (0, 1): ((word >> 9) + 0.5) * 2^-23
    normal(shape, seed, counter)    standard normals: Box-Muller on pairs of those uniforms

float64 results hold exactly the float32 values (23-bit uniforms, the float32 Box-Muller
normals, |z| <= 5.77), which is what fastgen's float64 kernels draw too.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import _backend
from .._typing import Array, Backend
from .._validation import check_counter, check_float_dtype, check_seed

__all__ = ["normal", "uniform"]


def _shape(shape):
    """`shape` as a tuple of ints >= 0 (an int is a 1-D shape)."""
    if isinstance(shape, (numbers.Integral, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(s, (numbers.Integral, np.integer)) and not isinstance(s, (bool, np.bool_)) for s in shape
    ):
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}")
    if any(s < 0 for s in shape):
        raise ValueError(f"shape must hold sizes >= 0, got {tuple(shape)}")
    return tuple(int(s) for s in shape)


def _draw(kind, shape, seed, counter, stream, dtype, backend):
    shape = _shape(shape)
    seed = check_seed("seed", seed)
    counter = check_counter("counter", counter)
    stream = check_counter("stream", stream)
    dtype = check_float_dtype("dtype", dtype)
    kernels = _backend.resolve(backend, on_device=False)
    draws = getattr(kernels.random, kind)(int(np.prod(shape)), seed, counter, stream)
    return draws.reshape(shape).astype(dtype, copy=False)


def uniform(shape: int | tuple[int, ...], seed: int, counter: int = 0, *, stream: int = 0, dtype: Any = np.float32,
            backend: Backend = None) -> Array:
    """Uniforms in the open interval (0, 1) of draw (seed, counter, stream).

    Parameters
    ----------
    shape : int or tuple of int
        The output's shape; element i of its flattened form is element i of the draw.
    seed : int in [0, 2**64)
    counter : int in [0, 2**32), default 0
        The call counter: successive counters give independent draws.
    stream : int in [0, 2**32), default 0
        Separates kinds of draw within one counter.
    dtype : float32 or float64
        float64 holds exactly the float32 values.
    backend : "cpu", "numba", "cuda" or None (the current default)

    Returns
    -------
    A NumPy array (a CuPy array on "cuda").
    """
    return _draw("uniforms", shape, seed, counter, stream, dtype, backend)


def normal(shape: int | tuple[int, ...], seed: int, counter: int = 0, *, stream: int = 0, dtype: Any = np.float32,
           backend: Backend = None) -> Array:
    """Standard normals of draw (seed, counter, stream): Box-Muller on the uniforms of
    elements (2k, 2k + 1), z_2k = r cos(2 pi a), z_2k+1 = r sin(2 pi a) with
    r = sqrt(-2 log u_2k), a = u_2k+1. Parameters and result as `uniform`."""
    return _draw("normals", shape, seed, counter, stream, dtype, backend)
