"""Per-element math of csrc/include/fastgen/mathx.h for the Numba kernels, operation for
operation (float32 stays float32, FMA contraction off in the C++ build), so that the `cpu`
and `numba` backends round identically. Shared by the Numba modules of every family: they
list this module in their NUMBA_DEPENDENCIES (fastgen/_numba.py says why)."""
import math

import numpy as np
from numba import njit, types
from numba.extending import overload

_EXP_MIN = np.float32(-87.33654475)
_LOG2E = np.float32(1.44269504088896341)
ROUND_F32 = np.float32(12582912.0)
LN2_HI_F32 = np.float32(0.693359375)
LN2_LO_F32 = np.float32(-2.12194440e-4)
_EXP_P = (
    np.float32(1.9875691500e-4),
    np.float32(1.3981999507e-3),
    np.float32(8.3334519073e-3),
    np.float32(4.1665795894e-2),
    np.float32(1.6666665459e-1),
    np.float32(5.0000001201e-1),
)
ONE_F32 = np.float32(1.0)
ZERO_F32 = np.float32(0.0)
HALF_F32 = np.float32(0.5)


def sigmoid_row(logits, r, bias, p, bits):
    """p[j] = sigmoid(logits[r, j] + bias[j]) as mathx.h computes it (see the overload)."""


@overload(sigmoid_row, inline="always")
def _sigmoid_row_overload(logits, r, bias, p, bits):
    if logits.dtype == types.float32:

        def sigmoid_row_f32(logits, r, bias, p, bits):
            # exp_nonpositive of mathx.h, operation for operation, in two loops: the second
            # reads 2^n through a float view of the exponent bits written by the first
            # (Numba has no scalar bit cast), so that both loops vectorise.
            scale = bits.view(np.float32)
            for j in range(p.shape[0]):
                x = logits[r, j] + bias[j]
                z = -x if x >= ZERO_F32 else x
                z = _EXP_MIN if z < _EXP_MIN else z
                n = (z * _LOG2E + ROUND_F32) - ROUND_F32
                t = z - n * LN2_HI_F32
                t = t - n * LN2_LO_F32
                q = _EXP_P[0]
                q = q * t + _EXP_P[1]
                q = q * t + _EXP_P[2]
                q = q * t + _EXP_P[3]
                q = q * t + _EXP_P[4]
                q = q * t + _EXP_P[5]
                q = q * (t * t) + t
                p[j] = q + ONE_F32
                bits[j] = (np.int32(n) + np.int32(127)) << np.int32(23)
            for j in range(p.shape[0]):
                e = p[j] * scale[j]
                x = logits[r, j] + bias[j]
                p[j] = (ONE_F32 if x >= ZERO_F32 else e) / (ONE_F32 + e)

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
def exp_nonpositive_parts_f64(x):
    """exp_nonpositive(double) of mathx.h before its last step: (p, n) with e^x = p 2^n, n a
    whole number held as a float. Loops that must vectorise scale by 2^n through the exponent
    bits themselves (math.ldexp does not vectorise)."""
    x = -708.0 if x < -708.0 else x
    n = (x * _LOG2E_F64 + _ROUND_F64) - _ROUND_F64
    r = x - n * _LN2_HI_F64
    r = r - n * _LN2_LO_F64
    p = _EXP_TAYLOR_F64[0]
    for k in range(1, _EXP_TAYLOR_F64.shape[0]):
        p = p * r + _EXP_TAYLOR_F64[k]
    p = p * r + 1.0
    p = p * r + 1.0
    return p, n


@njit(cache=True, inline="always")
def exp_nonpositive_f64(x):
    """exp_nonpositive(double) of mathx.h, operation for operation (2^n scaling is exact)."""
    p, n = exp_nonpositive_parts_f64(x)
    return math.ldexp(p, int(n))


@njit(cache=True, inline="always")
def log1p_unit(y):
    """log1p_unit of mathx.h: log(1 + y) for 0 <= y <= 1 as 2 atanh(y / (2 + y))."""
    s = y / (2.0 + y)
    s2 = s * s
    p = 1.0 / 33.0
    for k in range(15, -1, -1):
        p = p * s2 + 1.0 / (2 * k + 1)
    return 2.0 * s * p


def softplus(x, zero):
    """softplus of mathx.h: max(x, 0) + log(1 + e^-|x|), float32 through the library as there."""


@overload(softplus, inline="always")
def _softplus_overload(x, zero):
    if x == types.float64:

        def softplus_f64(x, zero):
            return (x if x > 0.0 else 0.0) + log1p_unit(exp_nonpositive_f64(-x if x > 0.0 else x))

        return softplus_f64

    def softplus_f32(x, zero):
        if x > zero:
            return x + np.log1p(np.exp(-x))
        return zero + np.log1p(np.exp(x))

    return softplus_f32
