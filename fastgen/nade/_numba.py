"""The `numba` backend of the NADE family: the loops of csrc/cpu/nade.h over the math of
csrc/include/fastgen/nade.h, operation for operation (float32 stays float32, the dot
products in the same interleaved lanes), so that `cpu` and `numba` give bit-identical
samples and gradients."""
import warnings

import numba
import numpy as np
from numba import njit, prange

from .._constants import NADE_CHUNK, NADE_DOT_LANES, NADE_PARALLEL_WORK, NadeStream
from .._numba import Variants
from .._numba_math import sigmoid_row, softplus
from ..random._numba import row_uniforms
from ._kernels import NadeKernels


@njit(cache=True, inline="always")
def _dot_lanes(x, y, n, lane):
    """dot_lanes of csrc/cpu/nade.h: NADE_DOT_LANES interleaved sums, combined pairwise, then
    the tail in order. `lane` is a buffer of NADE_DOT_LANES values."""
    for k in range(NADE_DOT_LANES):
        lane[k] = 0
    j = 0
    while j + NADE_DOT_LANES <= n:
        for k in range(NADE_DOT_LANES):
            lane[k] += x[j + k] * y[j + k]
        j += NADE_DOT_LANES
    width = NADE_DOT_LANES // 2
    while width >= 1:
        for k in range(width):
            lane[k] += lane[k + width]
        width //= 2
    total = lane[0]
    for i in range(j, n):
        total += x[i] * y[i]
    return total


@njit(cache=True, inline="always")
def _logit(V, b, d, h, lane):
    """nade_logit: b_d + V_d . h."""
    return b[d] + _dot_lanes(V[d], h, h.shape[0], lane)


@njit(cache=True, inline="always")
def _add_input_row(W, d, acc):
    for j in range(W.shape[1]):
        acc[0, j] += W[d, j]


@njit(cache=True, inline="always")
def _forward_row(v, W, V, b, c, keep, acc, hidden, row_of, logits, bits, lane):
    """forward_row: log p(v) of one row, the logits in logits[0]; h recomputed (sigmoid_row:
    sigmoid(acc + c), acc being (1, H)) only after a one; with `keep`, every distinct h in a row
    of `hidden` and step d's in row row_of[d], else all in hidden[0]."""
    acc[0, :] = 0
    log_p = 0.0
    row = -1
    changed = True
    for d in range(b.shape[0]):
        if changed:
            row = row + 1 if keep else 0
            sigmoid_row(acc, 0, c, hidden[row], bits)
            changed = False
        row_of[d] = row
        l = _logit(V, b, d, hidden[row], lane)
        logits[0, d] = l
        x = np.float64(l)
        log_p += -softplus(-x if v[d] != 0 else x, 0.0)
        if v[d] != 0:
            _add_input_row(W, d, acc)
            changed = True
    return log_p


@njit(cache=True, inline="always")
def _reverse_row(v, V, hidden, row_of, logits, zeros, g, bits, dacc, dW, dV, db, dc):
    """reverse_row: adds the gradient of log p(v) to (dW, dV, db, dc); the sigmoids of the
    logits first, in one row (adding a zero bias leaves every logit as it is)."""
    D, H = V.shape
    sigmoid_row(logits, 0, zeros, g, bits)
    dacc[:] = 0
    one = V.dtype.type(1)
    for d in range(D - 1, -1, -1):
        row = row_of[d]
        gd = v[d] - g[d]
        db[d] += gd
        if v[d] != 0:
            for j in range(H):
                dW[d, j] += dacc[j]
        for j in range(H):
            h = hidden[row, j]
            dV[d, j] += gd * h
            dacc[j] += ((gd * V[d, j]) * h) * (one - h)
    for j in range(H):
        dc[j] += dacc[j]


def _log_likelihood(v, W, V, b, c, out):
    D, H = W.shape
    for r in prange(v.shape[0]):
        acc = np.empty((1, H), W.dtype)
        hidden = np.empty((1, H), W.dtype)
        row_of = np.empty(D, np.int64)
        logits = np.empty((1, D), W.dtype)
        bits = np.empty(H, np.int32)
        lane = np.empty(NADE_DOT_LANES, W.dtype)
        out[r] = _forward_row(v[r], W, V, b, c, False, acc, hidden, row_of, logits, bits, lane)


def _gradient(v, W, V, b, c, scale, partials, grad, log_p):
    n = v.shape[0]
    D, H = W.shape
    DH = D * H
    for k in prange(partials.shape[0]):
        acc = np.empty((1, H), W.dtype)
        hidden = np.empty((D, H), W.dtype)
        row_of = np.empty(D, np.int64)
        logits = np.empty((1, D), W.dtype)
        zeros = np.zeros(D, W.dtype)
        g = np.empty(D, W.dtype)
        bits = np.empty(max(D, H), np.int32)
        lane = np.empty(NADE_DOT_LANES, W.dtype)
        dacc = np.empty(H, W.dtype)
        part = partials[k]
        dW = part[:DH].reshape((D, H))
        dV = part[DH:2 * DH].reshape((D, H))
        db = part[2 * DH:2 * DH + D]
        dc = part[2 * DH + D:]
        for r in range(k * NADE_CHUNK, min(n, (k + 1) * NADE_CHUNK)):
            log_p[r] = _forward_row(v[r], W, V, b, c, True, acc, hidden, row_of, logits, bits, lane)
            _reverse_row(v[r], V, hidden, row_of, logits, zeros, g, bits, dacc, dW, dV, db, dc)
    for i in prange(grad.shape[0]):
        total = partials[0, i]
        for k in range(1, partials.shape[0]):
            total += partials[k, i]
        grad[i] = scale * total


def _sample(out, W, V, b, c, seed, call):
    D, H = W.shape
    one = W.dtype.type(1)
    zero = W.dtype.type(0)
    for r in prange(out.shape[0]):
        acc = np.zeros((1, H), W.dtype)
        hidden = np.empty(H, W.dtype)
        logit = np.empty((1, 1), W.dtype)
        no_bias = np.zeros(1, W.dtype)
        p = np.empty(1, W.dtype)
        bits = np.empty(H, np.int32)
        lane = np.empty(NADE_DOT_LANES, W.dtype)
        u = np.empty(D, np.float32)
        row_uniforms(r * D, D, seed, call, NadeStream.SAMPLE, u)
        changed = True  # as in _forward_row: h changes only after a one
        for d in range(D):
            if changed:
                sigmoid_row(acc, 0, c, hidden, bits)
                changed = False
            logit[0, 0] = _logit(V, b, d, hidden, lane)
            sigmoid_row(logit, 0, no_bias, p, bits)
            out[r, d] = one if W.dtype.type(u[d]) < p[0] else zero
            if out[r, d] != 0:
                _add_input_row(W, d, acc)
                changed = True


_log_likelihood_kernel = Variants(_log_likelihood, NADE_PARALLEL_WORK)
_gradient_kernel = Variants(_gradient, NADE_PARALLEL_WORK)
_sample_kernel = Variants(_sample, NADE_PARALLEL_WORK)


def _run(kernel, *args):
    """kernel(*args), quiet about a pedantic internal check of Numba's that compiling the
    parallel loops over the inlined sigmoid rows trips (NumbaIRAssumptionWarning, as in
    fastgen/rbm/_numba.py): the compiled code is correct (the tests compare it with the cpu
    backend bit for bit)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", numba.errors.NumbaIRAssumptionWarning)
        kernel(*args)


class Kernels(NadeKernels):
    def log_likelihood(self, v, W, V, b, c):
        out = np.empty(v.shape[0], dtype=np.float64)
        _run(_log_likelihood_kernel, v.shape[0] * W.size, v, W, V, b, c, out)
        return out

    def gradient(self, v, W, V, b, c, scale):
        D, H = W.shape
        n_chunks = max(1, -(-v.shape[0] // NADE_CHUNK))
        partials = np.zeros((n_chunks, 2 * D * H + D + H), dtype=W.dtype)
        grad = np.empty(partials.shape[1], dtype=W.dtype)
        log_p = np.empty(v.shape[0], dtype=np.float64)
        _run(_gradient_kernel, v.shape[0] * W.size, v, W, V, b, c, W.dtype.type(scale), partials, grad, log_p)
        return grad, log_p

    def sample(self, n, W, V, b, c, seed, call):
        out = np.empty((n, W.shape[0]), dtype=W.dtype)
        _run(_sample_kernel, n * W.size, out, W, V, b, c, np.uint64(seed), np.uint64(call))
        return out


NUMBA_DEPENDENCIES = {
    "fastgen._constants": "357de233da57d201",
    "fastgen._numba": "ed1a5bbaf7344969",
    "fastgen._numba_math": "90e6c4648a2765f0",
    "fastgen.random._numba": "fc18639b27286561",
}
