"""The `numba` backend of the random family: Philox4x32-10 uniforms and Box-Muller normals,
operation for operation as csrc/include/fastgen/random.h and the loops of csrc/cpu/random.h,
so that `cpu` and `numba` draw bit-identical numbers. The Philox rounds and the row
helpers here are the shared random draws of every other family's Numba kernels. All
arithmetic is in uint64 with explicit masks: Numba would turn a mix of signed and unsigned
64-bit integers into floats."""
import numpy as np
from numba import njit, prange

from .._constants import PARALLEL_NORMALS, PARALLEL_WORK, RbmStream
from .._numba import Variants
from .._numba_math import HALF_F32, LN2_HI_F32, LN2_LO_F32, ONE_F32, ROUND_F32
from ._kernels import RandomKernels

# ---- Philox4x32-10, as csrc/include/fastgen/random.h (see there for the counter layout)


_MASK32 = np.uint64(0xFFFFFFFF)
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_SHIFT32 = np.uint64(32)
_SHIFT9 = np.uint64(9)
_INV_2_23 = np.float32(1.1920928955078125e-07)


@njit(cache=True, inline="always")
def _philox_round(c0, c1, c2, c3, k0, k1):
    """philox_round of random.h on uint64 values < 2**32: the next counter words."""
    p0 = _M0 * c0
    p1 = _M1 * c2
    return ((p1 >> _SHIFT32) ^ c1 ^ k0) & _MASK32, p1 & _MASK32, ((p0 >> _SHIFT32) ^ c3 ^ k1) & _MASK32, p0 & _MASK32


@njit(cache=True, inline="always")
def _round_key(key, rnd, increment):
    """The key of round `rnd`: key + rnd * increment mod 2**32."""
    return (key + np.uint64(rnd) * increment) & _MASK32


@njit(cache=True, inline="always")
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds on counter (c0..c3) with key (k0, k1); uint64 values < 2**32."""
    for rnd in range(10):
        c0, c1, c2, c3 = _philox_round(c0, c1, c2, c3, _round_key(k0, rnd, _W0), _round_key(k1, rnd, _W1))
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
    """Top 23 bits of a word as a float32 in (0, 1), exactly as uniform_open01 in C++."""
    return (np.float32(word >> _SHIFT9) + HALF_F32) * _INV_2_23


# ---- rows of uniforms and normals, as csrc/cpu/random.h

_LANES = 32  # as kLanes of csrc/cpu/random.h


@njit(cache=True, inline="always")
def _round_keys(seed, rnd):
    """The round keys (k0, k1) of round `rnd` for a 64-bit seed."""
    seed = np.uint64(seed)
    return _round_key(seed & _MASK32, rnd, _W0), _round_key(seed >> _SHIFT32, rnd, _W1)


@njit(cache=True, inline="always")
def _lane_block(g, seed, call, stream):
    """philox_block with the ten rounds written out in one loop body: called in a loop over
    lanes, LLVM unrolls the rounds and vectorises the lane loop with the counters in registers
    (32 x 32 -> 64-bit products on SIMD lanes; 3x faster than rounds over lane arrays, which
    go through memory)."""
    c0 = g & _MASK32
    c1 = g >> _SHIFT32
    c2 = np.uint64(call)
    c3 = np.uint64(stream)
    for rnd in range(10):
        k0, k1 = _round_keys(seed, rnd)
        c0, c1, c2, c3 = _philox_round(c0, c1, c2, c3, k0, k1)
    return c0, c1, c2, c3


@njit(cache=True)
def _uniform_lanes(g0, seed, call, stream, out):
    """uniform_lanes of csrc/cpu/random.h: the uniforms of groups g0 .. g0 + _LANES - 1 into
    out[0 .. 4 _LANES), in element order."""
    for lane in range(_LANES):
        c0, c1, c2, c3 = _lane_block(np.uint64(g0 + lane), seed, call, stream)
        out[4 * lane] = uniform_open01(c0)
        out[4 * lane + 1] = uniform_open01(c1)
        out[4 * lane + 2] = uniform_open01(c2)
        out[4 * lane + 3] = uniform_open01(c3)


@njit(cache=True)
def row_uniforms(begin, n, seed, call, stream, u):
    """row_uniforms of csrc/cpu/random.h: the uniforms of elements [begin, begin + n) into u,
    _LANES Philox blocks at a time; a lane block wholly inside the range is written in place."""
    block = np.empty(4 * _LANES, np.float32)
    end = begin + n
    g0 = begin >> 2
    while g0 * 4 < end:
        first = max(begin, g0 * 4)
        last = min(end, (g0 + _LANES) * 4)
        if first == g0 * 4 and last == (g0 + _LANES) * 4:
            _uniform_lanes(g0, seed, call, stream, u[first - begin:last - begin])
        else:
            _uniform_lanes(g0, seed, call, stream, block)
            for i in range(first, last):
                u[i - begin] = block[i - g0 * 4]
        g0 += _LANES


_SQRT_HALF = np.float32(0.707106781186547524)
_LOG_P = tuple(np.float32(c) for c in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                                  1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                                  3.3333331174e-1))
_QUARTER, _TWO_PI = np.float32(0.25), np.float32(6.28318530717958648)
_SIN_P = (np.float32(-1.9515295891e-4), np.float32(8.3321608736e-3), np.float32(-1.6666654611e-1))
_COS_P = (np.float32(2.443315711809948e-5), np.float32(-1.388731625493765e-3), np.float32(4.166664568298827e-2))
_MINUS_TWO = np.float32(-2.0)
_FOUR = np.float32(4.0)
_TWO, _THREE = np.float32(2.0), np.float32(3.0)
_EXPONENT_BIAS = np.float32(126.0)


@njit(cache=True)
def _box_muller_pairs(radius, angle, mantissa_bits, pairs, n_pairs):
    """box_muller of random.h on pairs (radius[p], angle[p]) into pairs[2p], pairs[2p+1]. The
    mantissa of log_positive is read through a float view of bits written by a first loop
    (Numba has no scalar bit cast). The integer steps of random.h (exponent, quadrant) are
    done on uint32 and float values that are exactly the same numbers: Numba widens int32
    arithmetic to int64, which halved the SIMD width of the loop (2x slower, measured)."""
    radius_bits = radius.view(np.uint32)
    for p in range(n_pairs):
        mantissa_bits[p] = (radius_bits[p] & np.uint32(0x007FFFFF)) | np.uint32(0x3F000000)
    mantissa = mantissa_bits.view(np.float32)
    for p in range(n_pairs):
        e = np.float32(radius_bits[p] >> np.uint32(23)) - _EXPONENT_BIAS  # exact: small integers
        f = mantissa[p]
        low = f < _SQRT_HALF
        e = e - ONE_F32 if low else e
        m = (f + f) - ONE_F32 if low else f - ONE_F32
        z = m * m
        y = _LOG_P[0]
        y = y * m + _LOG_P[1]
        y = y * m + _LOG_P[2]
        y = y * m + _LOG_P[3]
        y = y * m + _LOG_P[4]
        y = y * m + _LOG_P[5]
        y = y * m + _LOG_P[6]
        y = y * m + _LOG_P[7]
        y = y * m + _LOG_P[8]
        y = (y * m) * z
        y = y + e * LN2_LO_F32
        y = y - HALF_F32 * z
        log = (m + y) + e * LN2_HI_F32
        r = np.sqrt(_MINUS_TWO * log)
        a = angle[p]
        q = (a * _FOUR + ROUND_F32) - ROUND_F32
        x = (a - q * _QUARTER) * _TWO_PI
        z = x * x
        ps = _SIN_P[0]
        ps = ps * z + _SIN_P[1]
        ps = ps * z + _SIN_P[2]
        ps = ((ps * z) * x) + x
        pc = _COS_P[0]
        pc = pc * z + _COS_P[1]
        pc = pc * z + _COS_P[2]
        pc = ((pc * z) * z - HALF_F32 * z) + ONE_F32
        # q is 0, 1, 2, 3 or 4 (quadrant q & 3 of random.h; 4 is quadrant 0)
        swap = (q == ONE_F32) | (q == _THREE)
        sin_sign = -ONE_F32 if (q == _TWO) | (q == _THREE) else ONE_F32
        cos_sign = -ONE_F32 if (q == ONE_F32) | (q == _TWO) else ONE_F32
        s = sin_sign * (pc if swap else ps)
        c = cos_sign * (ps if swap else pc)
        pairs[2 * p] = r * c
        pairs[2 * p + 1] = r * s


@njit(cache=True)
def row_normals(begin, n, seed, call, stream, u, radius, angle, mantissa_bits, z):
    """row_normals of csrc/cpu/random.h: normals of elements [begin, begin + n) into z. The
    Box-Muller pairs of the enclosing Philox blocks are taken in element order (pair 2 i:
    words 0, 1 of block i; pair 2 i + 1: words 2, 3), the blocks in one vectorised loop, then
    all pairs in one _box_muller_pairs call (per-call costs made calls of 64 pairs 2x slower).
    The scratch arrays (u: 4 per block; radius, angle, mantissa_bits: 2 per block) are made
    here when too small."""
    g_first = begin >> 2
    n_blocks = ((begin + n + 3) >> 2) - g_first
    if u.shape[0] < 4 * n_blocks:
        u = np.empty(4 * n_blocks, np.float32)
    if radius.shape[0] < 2 * n_blocks or angle.shape[0] < 2 * n_blocks or mantissa_bits.shape[0] < 2 * n_blocks:
        radius = np.empty(2 * n_blocks, np.float32)
        angle = np.empty(2 * n_blocks, np.float32)
        mantissa_bits = np.empty(2 * n_blocks, np.uint32)
    for i in range(n_blocks):
        c0, c1, c2, c3 = _lane_block(np.uint64(g_first + i), seed, call, stream)
        radius[2 * i] = uniform_open01(c0)
        angle[2 * i] = uniform_open01(c1)
        radius[2 * i + 1] = uniform_open01(c2)
        angle[2 * i + 1] = uniform_open01(c3)
    shift = begin - 4 * g_first
    if shift == 0 and n == 4 * n_blocks:  # whole blocks: straight into z
        _box_muller_pairs(radius, angle, mantissa_bits, z, 2 * n_blocks)
    else:
        _box_muller_pairs(radius, angle, mantissa_bits, u, 2 * n_blocks)
        for j in range(n):
            z[j] = u[j + shift]


# ---- the kernels of the random family

_CHUNK = 4096  # elements per parallel task; a multiple of 4, so chunks start on Philox blocks


def _random_binary(state, seed, call, first):
    """Elements first .. first + state.size - 1 of the draw, element i at flat[i - first]."""
    flat = state.reshape(-1)
    end = first + flat.size
    g0 = first // 4
    one = state.dtype.type(1)
    zero = state.dtype.type(0)
    for g in prange((end + 3) // 4 - g0):
        words = philox_block(seed, call, RbmStream.INIT, g0 + g)
        for k in range(4):
            i = (g0 + g) * 4 + k
            if first <= i < end:
                flat[i - first] = one if (words[k] >> np.uint64(31)) != 0 else zero


def _uniforms(out, seed, call, stream, first):
    n = out.size
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        begin = c * _CHUNK
        row_uniforms(first + begin, min(_CHUNK, n - begin), seed, call, stream, out[begin:])


def _normals(out, seed, call, stream, first):
    n = out.size
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        u = np.empty(_CHUNK + 8, np.float32)
        radius = np.empty(_CHUNK // 2 + 4, np.float32)
        angle = np.empty(_CHUNK // 2 + 4, np.float32)
        bits = np.empty(_CHUNK // 2 + 4, np.uint32)
        begin = c * _CHUNK
        row_normals(first + begin, min(_CHUNK, n - begin), seed, call, stream, u, radius, angle, bits, out[begin:])


_uniforms_kernel = Variants(_uniforms, PARALLEL_WORK)
_normals_kernel = Variants(_normals, PARALLEL_NORMALS)
_random_binary_kernel = Variants(_random_binary, PARALLEL_WORK)


class Kernels(RandomKernels):
    def uniforms(self, n, seed, call, stream, first=0):
        out = np.empty(n, dtype=np.float32)
        _uniforms_kernel(n, out, np.uint64(seed), np.uint64(call), np.uint64(stream), np.int64(first))
        return out

    def normals(self, n, seed, call, stream, first=0):
        out = np.empty(n, dtype=np.float32)
        _normals_kernel(n, out, np.uint64(seed), np.uint64(call), np.uint64(stream), np.int64(first))
        return out

    def random_binary(self, shape, dtype, seed, call, first_row=0):
        state = np.empty(shape, dtype=dtype)
        first = first_row * (state.size // shape[0]) if state.size else 0
        _random_binary_kernel(state.size, state, np.uint64(seed), np.uint64(call), np.int64(first))
        return state


NUMBA_DEPENDENCIES = {
    "fastgen._constants": "357de233da57d201",
    "fastgen._numba": "ed1a5bbaf7344969",
    "fastgen._numba_math": "90e6c4648a2765f0",
}
