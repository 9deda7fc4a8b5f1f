"""The `numba` backend: the fused epilogues as Numba kernels, GEMMs through NumPy's BLAS.

Same methods as CpuKernels (see _kernels_cpu.py). Each kernel mirrors the per-element
code of csrc/include/fastgen/rbm.h operation for operation (float32 stays float32), so
that `cpu` and `numba` round identically and give bit-identical samples."""
import math
import warnings

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import overload


# ---- Philox4x32-10, as csrc/include/fastgen/philox.h (see there for the counter layout).
# All arithmetic is in uint64 with explicit masks: Numba would turn a mix of signed and
# unsigned 64-bit integers into floats. It lives in this file because Numba's cache only
# notices changes to the file of the cached function itself.

_MASK32 = np.uint64(0xFFFFFFFF)
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_SHIFT32 = np.uint64(32)
_SHIFT9 = np.uint64(9)
_INV_2_23 = np.float32(1.1920928955078125e-07)
_HALF = np.float32(0.5)


@njit(cache=True, inline="always")
def _philox_round(c0, c1, c2, c3, k0, k1):
    """philox_round of philox.h on uint64 values < 2**32: the next counter words."""
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
    return (np.float32(word >> _SHIFT9) + _HALF) * _INV_2_23


# ---- per-element math, as csrc/include/fastgen/mathx.h

_EXP_MIN = np.float32(-87.33654475)
_LOG2E = np.float32(1.44269504088896341)
_ROUND = np.float32(12582912.0)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_EXP_P = (
    np.float32(1.9875691500e-4),
    np.float32(1.3981999507e-3),
    np.float32(8.3334519073e-3),
    np.float32(4.1665795894e-2),
    np.float32(1.6666665459e-1),
    np.float32(5.0000001201e-1),
)
_F32_ONE = np.float32(1.0)
_F32_ZERO = np.float32(0.0)


def _sigmoid_row(logits, r, bias, p, bits):
    """p[j] = sigmoid(logits[r, j] + bias[j]) as mathx.h computes it (see the overload)."""


@overload(_sigmoid_row, inline="always")
def _sigmoid_row_overload(logits, r, bias, p, bits):
    if logits.dtype == types.float32:

        def sigmoid_row_f32(logits, r, bias, p, bits):
            # exp_nonpositive of mathx.h, operation for operation, in two loops: the second
            # reads 2^n through a float view of the exponent bits written by the first
            # (Numba has no scalar bit cast), so that both loops vectorise.
            scale = bits.view(np.float32)
            for j in range(p.shape[0]):
                x = logits[r, j] + bias[j]
                z = -x if x >= _F32_ZERO else x
                z = _EXP_MIN if z < _EXP_MIN else z
                n = (z * _LOG2E + _ROUND) - _ROUND
                t = z - n * _LN2_HI
                t = t - n * _LN2_LO
                q = _EXP_P[0]
                q = q * t + _EXP_P[1]
                q = q * t + _EXP_P[2]
                q = q * t + _EXP_P[3]
                q = q * t + _EXP_P[4]
                q = q * t + _EXP_P[5]
                q = q * (t * t) + t
                p[j] = q + _F32_ONE
                bits[j] = (np.int32(n) + np.int32(127)) << np.int32(23)
            for j in range(p.shape[0]):
                e = p[j] * scale[j]
                x = logits[r, j] + bias[j]
                p[j] = (_F32_ONE if x >= _F32_ZERO else e) / (_F32_ONE + e)

        return sigmoid_row_f32

    def sigmoid_row_f64(logits, r, bias, p, bits):
        for j in range(p.shape[0]):
            x = logits[r, j] + bias[j]
            z = np.exp(-x if x >= 0.0 else x)
            p[j] = (1.0 if x >= 0.0 else z) / (1.0 + z)

    return sigmoid_row_f64


_LOG2E_F64 = 1.4426950408889634
_ROUND_F64 = 6755399441055744.0
_LN2_HI_F64 = 6.93147180369123816490e-01
_LN2_LO_F64 = 1.90821492927058770002e-10
_EXP_TAYLOR_F64 = np.array([1.0 / math.factorial(k) for k in range(13, 1, -1)])  # 1/13! .. 1/2!


@njit(cache=True, inline="always")
def _exp_nonpositive_f64(x):
    """exp_nonpositive(double) of mathx.h, operation for operation (2^n scaling is exact)."""
    x = -708.0 if x < -708.0 else x
    n = (x * _LOG2E_F64 + _ROUND_F64) - _ROUND_F64
    r = x - n * _LN2_HI_F64
    r = r - n * _LN2_LO_F64
    p = _EXP_TAYLOR_F64[0]
    for k in range(1, _EXP_TAYLOR_F64.shape[0]):
        p = p * r + _EXP_TAYLOR_F64[k]
    p = p * r + 1.0
    p = p * r + 1.0
    return math.ldexp(p, int(n))


@njit(cache=True, inline="always")
def _log1p_unit(y):
    """log1p_unit of mathx.h: log(1 + y) for 0 <= y <= 1 as 2 atanh(y / (2 + y))."""
    s = y / (2.0 + y)
    s2 = s * s
    p = 1.0 / 33.0
    for k in range(15, -1, -1):
        p = p * s2 + 1.0 / (2 * k + 1)
    return 2.0 * s * p


def _softplus(x, zero):
    """softplus of mathx.h: max(x, 0) + log(1 + e^-|x|), float32 through the library as there."""


@overload(_softplus, inline="always")
def _softplus_overload(x, zero):
    if x == types.float64:

        def softplus_f64(x, zero):
            return (x if x > 0.0 else 0.0) + _log1p_unit(_exp_nonpositive_f64(-x if x > 0.0 else x))

        return softplus_f64

    def softplus_f32(x, zero):
        if x > zero:
            return x + np.log1p(np.exp(-x))
        return zero + np.log1p(np.exp(x))

    return softplus_f32


# ---- kernels, each the loop structure of its twin in csrc/cpu


_LANES = 32  # as kLanes in row_uniforms (rbm_cpu.h)


@njit(cache=True, inline="always")
def _row_uniforms(begin, n, seed, call, stream, u):
    """row_uniforms of rbm_cpu.h: the uniforms of elements [begin, begin + n) into u,
    the Philox blocks of _LANES consecutive groups at a time so that the rounds vectorise."""
    key0 = np.uint64(seed) & _MASK32
    key1 = np.uint64(seed) >> _SHIFT32
    c0 = np.empty(_LANES, np.uint64)
    c1 = np.empty(_LANES, np.uint64)
    c2 = np.empty(_LANES, np.uint64)
    c3 = np.empty(_LANES, np.uint64)
    block = np.empty(4 * _LANES, np.float32)
    end = begin + n
    g0 = begin >> 2
    while g0 * 4 < end:
        for lane in range(_LANES):
            g = np.uint64(g0 + lane)
            c0[lane] = g & _MASK32
            c1[lane] = g >> _SHIFT32
            c2[lane] = np.uint64(call)
            c3[lane] = np.uint64(stream)
        for rnd in range(10):
            k0 = _round_key(key0, rnd, _W0)
            k1 = _round_key(key1, rnd, _W1)
            for lane in range(_LANES):
                c0[lane], c1[lane], c2[lane], c3[lane] = _philox_round(c0[lane], c1[lane], c2[lane], c3[lane], k0, k1)
        for lane in range(_LANES):
            block[4 * lane] = uniform_open01(c0[lane])
            block[4 * lane + 1] = uniform_open01(c1[lane])
            block[4 * lane + 2] = uniform_open01(c2[lane])
            block[4 * lane + 3] = uniform_open01(c3[lane])
        for i in range(max(begin, g0 * 4), min(end, (g0 + _LANES) * 4)):
            u[i - begin] = block[i - g0 * 4]
        g0 += _LANES


# ---- standard normals from Philox, as csrc/include/fastgen/normal.h (see there for the
# layout): Box-Muller on the uniforms of each pair of elements, log and sincos from float
# arithmetic alone, operation for operation, so that `cpu` and `numba` draw bit-identical
# normals. Frozen like Philox: the diffusion and Gaussian-Bernoulli RBM kernels import them.

_SQRT_HALF = np.float32(0.707106781186547524)
_LOG_P = tuple(np.float32(c) for c in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                                  1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                                  3.3333331174e-1))
_QUARTER, _TWO_PI = np.float32(0.25), np.float32(6.28318530717958648)
_SIN_P = (np.float32(-1.9515295891e-4), np.float32(8.3321608736e-3), np.float32(-1.6666654611e-1))
_COS_P = (np.float32(2.443315711809948e-5), np.float32(-1.388731625493765e-3), np.float32(4.166664568298827e-2))
_MINUS_TWO = np.float32(-2.0)
_FOUR = np.float32(4.0)


@njit(cache=True)
def _box_muller_pairs(radius, angle, mantissa_bits, pairs, n_pairs):
    """box_muller of normal.h on pairs (radius[p], angle[p]) into pairs[2p], pairs[2p+1]. The
    mantissa of log_positive is read through a float view of bits written by a first loop
    (Numba has no scalar bit cast)."""
    radius_bits = radius.view(np.uint32)
    for p in range(n_pairs):
        mantissa_bits[p] = (radius_bits[p] & np.uint32(0x007FFFFF)) | np.uint32(0x3F000000)
    mantissa = mantissa_bits.view(np.float32)
    for p in range(n_pairs):
        e = np.float32(np.int32(radius_bits[p] >> np.uint32(23)) - np.int32(126))
        f = mantissa[p]
        low = f < _SQRT_HALF
        e = e - _F32_ONE if low else e
        m = (f + f) - _F32_ONE if low else f - _F32_ONE
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
        y = y + e * _LN2_LO
        y = y - _HALF * z
        log = (m + y) + e * _LN2_HI
        r = np.sqrt(_MINUS_TWO * log)
        a = angle[p]
        q = (a * _FOUR + _ROUND) - _ROUND
        x = (a - q * _QUARTER) * _TWO_PI
        z = x * x
        ps = _SIN_P[0]
        ps = ps * z + _SIN_P[1]
        ps = ps * z + _SIN_P[2]
        ps = ((ps * z) * x) + x
        pc = _COS_P[0]
        pc = pc * z + _COS_P[1]
        pc = pc * z + _COS_P[2]
        pc = ((pc * z) * z - _HALF * z) + _F32_ONE
        quadrant = np.int32(q) & np.int32(3)
        swap = (quadrant & np.int32(1)) != 0
        sin_sign = -_F32_ONE if quadrant >= 2 else _F32_ONE
        cos_sign = -_F32_ONE if (quadrant == 1 or quadrant == 2) else _F32_ONE
        s = sin_sign * (pc if swap else ps)
        c = cos_sign * (ps if swap else pc)
        pairs[2 * p] = r * c
        pairs[2 * p + 1] = r * s


@njit(cache=True)
def _row_normals(begin, n, seed, call, stream, u, radius, angle, mantissa_bits, z):
    """row_normals of rbm_cpu.h: normals of elements [begin, begin + n) into z."""
    first = begin - (begin & 1)
    last = (begin + n + 1) - ((begin + n + 1) & 1)
    n_pairs = (last - first) // 2
    _row_uniforms(first, last - first, seed, call, stream, u)
    for p in range(n_pairs):
        radius[p] = u[2 * p]
        angle[p] = u[2 * p + 1]
    _box_muller_pairs(radius, angle, mantissa_bits, u, n_pairs)
    shift = begin - first
    for j in range(n):
        z[j] = u[j + shift]


@njit(cache=True, inline="always")
def _bernoulli_row(r, begin, logits, bias, prob, state, seed, call, stream):
    """bernoulli_row of rbm_cpu.h on row r, whose elements are `begin`.. in the Philox
    layout: prob = sigmoid(logits + bias), state = u < prob."""
    n_cols = logits.shape[1]
    one = logits.dtype.type(1)
    zero = logits.dtype.type(0)
    u = np.empty(n_cols, np.float32)
    p = np.empty(n_cols, logits.dtype)
    bits = np.empty(n_cols, np.int32)
    _row_uniforms(begin, n_cols, seed, call, stream, u)
    _sigmoid_row(logits, r, bias, p, bits)
    for j in range(n_cols):
        prob[r, j] = p[j]
        state[r, j] = one if logits.dtype.type(u[j]) < p[j] else zero


@njit(cache=True, inline="always")
def _add_rows(dst, src, which, count):
    """add_rows of rbm_cpu.h: dst += the rows `which[:count]` of src, four at a time as
    dst + ((x0 + x1) + (x2 + x3)), then one at a time."""
    a = 0
    while a + 4 <= count:
        i0, i1, i2, i3 = which[a], which[a + 1], which[a + 2], which[a + 3]
        for j in range(dst.shape[0]):
            dst[j] += (src[i0, j] + src[i1, j]) + (src[i2, j] + src[i3, j])
        a += 4
    while a < count:
        i = which[a]
        for j in range(dst.shape[0]):
            dst[j] += src[i, j]
        a += 1


def _bernoulli_logits(logits, bias, prob, state, seed, call, stream):
    for r in prange(logits.shape[0]):
        _bernoulli_row(r, r * logits.shape[1], logits, bias, prob, state, seed, call, stream)


def _bernoulli_binary(states, W, bias, prob, state, seed, call, stream):
    # prob[r] = states[r] @ W as the sum of the selected rows of W, then the epilogue.
    n_in = states.shape[1]
    for r in prange(states.shape[0]):
        which = np.empty(n_in, dtype=np.int64)
        count = 0
        for k in range(n_in):
            if states[r, k] != 0:
                which[count] = k
                count += 1
        prob[r, :] = 0
        _add_rows(prob[r], W, which, count)
        _bernoulli_row(r, r * prob.shape[1], prob, bias, prob, state, seed, call, stream)


@njit(cache=True)
def _rows_by_column(states):
    """by_column of rbm_cpu.h: for each column k, the rows r with states[r, k] == 1, increasing r."""
    n_rows, n_cols = states.shape
    counts = np.zeros(n_cols + 1, dtype=np.int64)
    for r in range(n_rows):
        for k in range(n_cols):
            if states[r, k] != 0:
                counts[k + 1] += 1
    offsets = np.cumsum(counts)
    rows = np.empty(offsets[n_cols], dtype=np.int64)
    fill = offsets[:n_cols].copy()
    for r in range(n_rows):
        for k in range(n_cols):
            if states[r, k] != 0:
                rows[fill[k]] = r
                fill[k] += 1
    return offsets, rows


def _outer_pair(offsets_a, rows_a, values_a, scale_a, offsets_b, rows_b, values_b, scale_b, out):
    # selected_outer_pair of rbm_cpu.h: out[k] = scale_a * sum_a[k] + scale_b * sum_b[k]
    n_out = values_a.shape[1]
    for k in prange(out.shape[0]):
        sum_a = np.zeros(n_out, dtype=values_a.dtype)
        sum_b = np.zeros(n_out, dtype=values_a.dtype)
        _add_rows(sum_a, values_a, rows_a[offsets_a[k]:], offsets_a[k + 1] - offsets_a[k])
        _add_rows(sum_b, values_b, rows_b[offsets_b[k]:], offsets_b[k + 1] - offsets_b[k])
        for j in range(n_out):
            out[k, j] = scale_a * sum_a[j] + scale_b * sum_b[j]


def _random_binary(state, seed, call):
    flat = state.reshape(-1)
    n = flat.size
    one = state.dtype.type(1)
    zero = state.dtype.type(0)
    for g in prange((n + 3) // 4):
        words = philox_block(seed, call, 2, g)  # stream 2 = STREAM_INIT in rbm.h
        for k in range(4):
            i = g * 4 + k
            if i < n:
                flat[i] = one if (words[k] >> np.uint64(31)) != 0 else zero


def _free_energy(logits, hidden_bias, visible_term, out):
    zero = logits.dtype.type(0)
    for r in prange(logits.shape[0]):
        total = 0.0
        for j in range(logits.shape[1]):
            total += np.float64(_softplus(logits[r, j] + hidden_bias[j], zero))
        out[r] = -visible_term[r] - total


def _uniforms(out, seed, call, stream):
    chunk = 4096  # as in _core.uniforms: chunks start on Philox blocks
    n = out.size
    for c in prange((n + chunk - 1) // chunk):
        begin = c * chunk
        _row_uniforms(begin, min(chunk, n - begin), seed, call, stream, out[begin:])


@njit(cache=True, inline="always")
def _ones(row, which):
    """The indices of the ones of `row` into which[:count], increasing; returns count."""
    count = 0
    for k in range(row.shape[0]):
        if row[k] != 0:
            which[count] = k
            count += 1
    return count


@njit(cache=True, inline="always")
def _lane_sum(x):
    """lane_sum of ais_cpu.h: eight interleaved partial sums, combined pairwise."""
    acc = np.zeros(8)
    n = x.shape[0]
    j = 0
    while j + 8 <= n:
        for lane in range(8):
            acc[lane] += x[j + lane]
        j += 8
    lane = 0
    while j < n:
        acc[lane] += x[j]
        j += 1
        lane += 1
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))


@njit(cache=True, parallel=True)
def _ais_rbm(W, Wt, b, c, base, gain, betas, seed, log_w):
    """ais_block of ais_cpu.h, chain by chain (each output element adds the same rows in the
    same order, so the weights are those of the cpu backend); threads take chains."""
    n_visible, n_hidden = W.shape
    n_betas = betas.shape[0]
    scalar = W.dtype.type
    for chain in prange(log_w.shape[0]):
        x_v = np.empty((1, n_visible), W.dtype)
        p_v = np.empty((1, n_visible), W.dtype)
        v = np.empty((1, n_visible), W.dtype)
        x_h = np.empty((1, n_hidden), W.dtype)
        p_h = np.empty((1, n_hidden), W.dtype)
        h = np.empty((1, n_hidden), W.dtype)
        zero_v = np.zeros(n_visible, W.dtype)
        zero_h = np.zeros(n_hidden, W.dtype)
        sum_v = np.empty(n_hidden, W.dtype)  # v W
        sum_h = np.empty(n_visible, W.dtype)  # h W^T
        increment = np.empty(n_hidden)
        which = np.empty(max(n_visible, n_hidden), np.int64)
        x_v[0, :] = base
        _bernoulli_row(0, chain * n_visible, x_v, zero_v, p_v, v, seed, 0, 2)  # 2 = STREAM_INIT
        total = 0.0
        for k in range(1, n_betas):
            beta = betas[k]
            beta_prev = betas[k - 1]
            count = _ones(v[0], which)
            sum_v[:] = 0
            _add_rows(sum_v, W, which, count)
            visible_term = 0.0
            for q in range(count):
                visible_term += gain[which[q]]
            for j in range(n_hidden):
                a = np.float64(sum_v[j] + c[j])
                increment[j] = _softplus(beta * a, 0.0) - _softplus(beta_prev * a, 0.0)
            total += (beta - beta_prev) * visible_term + _lane_sum(increment)
            if k == n_betas - 1:
                break
            tbeta = scalar(beta)
            for j in range(n_hidden):
                x_h[0, j] = tbeta * (sum_v[j] + c[j])
            _bernoulli_row(0, chain * n_hidden, x_h, zero_h, p_h, h, seed, k, 0)  # 0 = STREAM_HIDDEN
            count = _ones(h[0], which)
            sum_h[:] = 0
            _add_rows(sum_h, Wt, which, count)
            for i in range(n_visible):
                x_v[0, i] = tbeta * (sum_h[i] + b[i]) + (scalar(1) - tbeta) * base[i]
            _bernoulli_row(0, chain * n_visible, x_v, zero_v, p_v, v, seed, k, 1)  # 1 = STREAM_VISIBLE
        log_w[chain] = total


# Below this much work a kernel runs serially: elements for the element-wise kernels,
# vector additions for the selected-row sums (as kParallelWork and kParallelAdds in
# csrc/cpu/rbm_cpu.h, which say why).
_PARALLEL_ELEMENTS = 1 << 22
_PARALLEL_ADDS = 1 << 25


class _Variants:
    """A kernel body compiled twice, serial and parallel; called with the work it has."""

    def __init__(self, body, threshold):
        self.serial = njit(cache=True)(body)
        self.parallel = njit(cache=True, parallel=True)(body)
        self.threshold = threshold

    def __call__(self, work, *args):
        (self.parallel if work >= self.threshold else self.serial)(*args)


_bernoulli_kernel = _Variants(_bernoulli_logits, _PARALLEL_ELEMENTS)
_bernoulli_binary_kernel = _Variants(_bernoulli_binary, _PARALLEL_ADDS)
_outer_pair_kernel = _Variants(_outer_pair, _PARALLEL_ADDS)
_random_binary_kernel = _Variants(_random_binary, _PARALLEL_ELEMENTS)
_free_energy_kernel = _Variants(_free_energy, _PARALLEL_ELEMENTS)
_uniforms_kernel = _Variants(_uniforms, _PARALLEL_ELEMENTS)


class NumbaKernels:
    name = "numba"
    xp = np
    sparse_products = True  # has bernoulli_binary and outer_pair

    @staticmethod
    def set_num_threads(n):
        numba.set_num_threads(n)

    @staticmethod
    def get_num_threads():
        return numba.get_num_threads()

    def bernoulli(self, logits, bias, seed, call, stream):
        state = np.empty_like(logits)
        _bernoulli_kernel(logits.size, logits, bias, logits, state, np.uint64(seed), np.uint64(call), np.uint64(stream))
        return state, logits

    def bernoulli_binary(self, states, W, bias, seed, call, stream):
        prob = np.empty((states.shape[0], W.shape[1]), dtype=W.dtype)
        state = np.empty_like(prob)
        _bernoulli_binary_kernel(int(np.count_nonzero(states)) * W.shape[1], states, W, bias, prob, state, np.uint64(seed),
                                 np.uint64(call), np.uint64(stream))
        return state, prob

    def outer_pair(self, a, values_a, scale_a, b, values_b, scale_b):
        out = np.empty((a.shape[1], values_a.shape[1]), dtype=values_a.dtype)
        offsets_a, rows_a = _rows_by_column(a)
        offsets_b, rows_b = _rows_by_column(b)
        scalar = out.dtype.type
        _outer_pair_kernel((rows_a.size + rows_b.size) * out.shape[1], offsets_a, rows_a, values_a, scalar(scale_a),
                           offsets_b, rows_b, values_b, scalar(scale_b), out)
        return out

    def random_binary(self, shape, dtype, seed, call):
        state = np.empty(shape, dtype=dtype)
        _random_binary_kernel(state.size, state, np.uint64(seed), np.uint64(call))
        return state

    def free_energy(self, logits, hidden_bias, visible_term):
        out = np.empty(logits.shape[0], dtype=np.float64)
        _free_energy_kernel(logits.size, logits, hidden_bias, np.asarray(visible_term, dtype=np.float64), out)
        return out

    def uniforms(self, n, seed, call, stream):
        out = np.empty(n, dtype=np.float32)
        _uniforms_kernel(n, out, np.uint64(seed), np.uint64(call), np.uint64(stream))
        return out

    def ais_rbm(self, W, b, c, base, betas, seed, n_chains):
        log_w = np.empty(n_chains)
        gain = b.astype(np.float64) - base.astype(np.float64)
        with warnings.catch_warnings():
            # Compiling the parallel loop over inlined overloads trips a pedantic internal
            # check of Numba's (NumbaIRAssumptionWarning); the compiled code is correct
            # (tests/test_rbm_partition.py compares it with the cpu backend bit for bit).
            warnings.simplefilter("ignore", numba.errors.NumbaIRAssumptionWarning)
            _ais_rbm(W, np.ascontiguousarray(W.T), b, c, base, gain, betas, np.uint64(seed), log_w)
        return log_w

    def mean_field_update(self, first, second, bias, damping, mu, changes, slot, tol):
        from . import _numba_dbm  # its own module: Numba's cache tracks one file per function

        _numba_dbm.mean_field_update(first, second, bias, damping, mu, changes, slot, tol)

    def gaussian(self, means, bias, sigma, seed, call, stream):
        from ._numba_gbrbm import gaussian

        return gaussian(means, bias, sigma, seed, call, stream)
