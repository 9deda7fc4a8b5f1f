"""Philox4x32-10 for Numba: the same generator and counter layout as
csrc/include/fastgen/philox.h (see there), so `numba` draws the uniforms `cpu` and
`cuda` draw. All arithmetic is in uint64 with explicit masks: Numba would turn a mix
of signed and unsigned 64-bit integers into floats."""
import numpy as np
from numba import njit

_MASK32 = np.uint64(0xFFFFFFFF)
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_SHIFT32 = np.uint64(32)
_SHIFT8 = np.uint64(8)
_INV_2_24 = np.float32(5.9604644775390625e-08)
_HALF = np.float32(0.5)


@njit(cache=True, inline="always")
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds on counter (c0..c3) with key (k0, k1); uint64 values < 2**32."""
    for rnd in range(10):
        if rnd > 0:
            k0 = (k0 + _W0) & _MASK32
            k1 = (k1 + _W1) & _MASK32
        p0 = _M0 * c0
        p1 = _M1 * c2
        n0 = ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32
        n1 = p1 & _MASK32
        n2 = ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32
        n3 = p0 & _MASK32
        c0, c1, c2, c3 = n0, n1, n2, n3
    return c0, c1, c2, c3


@njit(cache=True, inline="always")
def philox_block(seed, call, stream, group):
    """The four words of elements 4*group .. 4*group+3 of draw (seed, call, stream)."""
    seed = np.uint64(seed)
    group = np.uint64(group)
    return philox4x32_10(
        group & _MASK32, group >> _SHIFT32, np.uint64(call), np.uint64(stream), seed & _MASK32, seed >> _SHIFT32
    )


@njit(cache=True, inline="always")
def uniform_open01(word):
    """Top 24 bits of a word as a float32 in (0, 1), exactly as uniform_open01 in C++."""
    return (np.float32(word >> _SHIFT8) + _HALF) * _INV_2_24
