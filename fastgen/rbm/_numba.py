"""The `numba` backend of the binary RBM family: the loops of csrc/cpu/rbm.h over the math of
csrc/include/fastgen/rbm.h, operation for operation (float32 stays float32), so that `cpu`
and `numba` round identically and give bit-identical samples."""
import warnings

import numba
import numpy as np
from numba import njit, prange

from .._constants import PARALLEL_ADDS, PARALLEL_WORK, RbmStream
from .._numba import Variants
from .._numba_math import sigmoid_row, softplus
from ..random._numba import row_uniforms
from ._kernels import RbmKernels


@njit(cache=True, inline="always")
def _bernoulli_row(r, begin, logits, bias, prob, state, seed, call, stream):
    """bernoulli_row of csrc/cpu/rbm.h on row r, whose elements are `begin`.. in the Philox
    layout: prob = sigmoid(logits + bias), state = u < prob."""
    n_cols = logits.shape[1]
    one = logits.dtype.type(1)
    zero = logits.dtype.type(0)
    u = np.empty(n_cols, np.float32)
    p = np.empty(n_cols, logits.dtype)
    bits = np.empty(n_cols, np.int32)
    row_uniforms(begin, n_cols, seed, call, stream, u)
    sigmoid_row(logits, r, bias, p, bits)
    for j in range(n_cols):
        prob[r, j] = p[j]
        state[r, j] = one if logits.dtype.type(u[j]) < p[j] else zero


@njit(cache=True, inline="always")
def _add_rows(dst, src, which, count):
    """add_rows of csrc/cpu/rbm.h: dst += the rows `which[:count]` of src, four at a time as
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


@njit(cache=True, nogil=True)
def _rows_by_column(states):
    """by_column of csrc/cpu/rbm.h: for each column k, the rows r with states[r, k] == 1, increasing r."""
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
    # selected_outer_pair of csrc/cpu/rbm.h: out[k] = scale_a * sum_a[k] + scale_b * sum_b[k]
    n_out = values_a.shape[1]
    for k in prange(out.shape[0]):
        sum_a = np.zeros(n_out, dtype=values_a.dtype)
        sum_b = np.zeros(n_out, dtype=values_a.dtype)
        _add_rows(sum_a, values_a, rows_a[offsets_a[k]:], offsets_a[k + 1] - offsets_a[k])
        _add_rows(sum_b, values_b, rows_b[offsets_b[k]:], offsets_b[k + 1] - offsets_b[k])
        for j in range(n_out):
            out[k, j] = scale_a * sum_a[j] + scale_b * sum_b[j]


def _free_energy(logits, hidden_bias, visible_term, out):
    zero = logits.dtype.type(0)
    for r in prange(logits.shape[0]):
        total = 0.0
        for j in range(logits.shape[1]):
            total += np.float64(softplus(logits[r, j] + hidden_bias[j], zero))
        out[r] = -visible_term[r] - total


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
    """lane_sum of csrc/cpu/rbm.h: eight interleaved partial sums, combined pairwise."""
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


def _ais(W, Wt, b, c, base, gain, betas, seed, first_chain, log_w):
    """ais_block of csrc/cpu/rbm.h, chain by chain (each output element adds the same rows in the
    same order, so the weights are those of the cpu backend); threads take chains. log_w[r] is
    chain first_chain + r's weight."""
    n_visible, n_hidden = W.shape
    n_betas = betas.shape[0]
    scalar = W.dtype.type
    for r in prange(log_w.shape[0]):
        chain = first_chain + r
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
        _bernoulli_row(0, chain * n_visible, x_v, zero_v, p_v, v, seed, 0, RbmStream.INIT)
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
                increment[j] = softplus(beta * a, 0.0) - softplus(beta_prev * a, 0.0)
            total += (beta - beta_prev) * visible_term + _lane_sum(increment)
            if k == n_betas - 1:
                break
            tbeta = scalar(beta)
            for j in range(n_hidden):
                x_h[0, j] = tbeta * (sum_v[j] + c[j])
            _bernoulli_row(0, chain * n_hidden, x_h, zero_h, p_h, h, seed, k, RbmStream.HIDDEN)
            count = _ones(h[0], which)
            sum_h[:] = 0
            _add_rows(sum_h, Wt, which, count)
            for i in range(n_visible):
                x_v[0, i] = tbeta * (sum_h[i] + b[i]) + (scalar(1) - tbeta) * base[i]
            _bernoulli_row(0, chain * n_visible, x_v, zero_v, p_v, v, seed, k, RbmStream.VISIBLE)
        log_w[r] = total


_bernoulli_kernel = Variants(_bernoulli_logits, PARALLEL_WORK)
_bernoulli_binary_kernel = Variants(_bernoulli_binary, PARALLEL_ADDS)
_outer_pair_kernel = Variants(_outer_pair, PARALLEL_ADDS)
_free_energy_kernel = Variants(_free_energy, PARALLEL_WORK)
_ais_kernel = Variants(_ais, PARALLEL_WORK)


class Kernels(RbmKernels):
    sparse_products = True

    def bernoulli(self, logits, bias, seed, call, stream):
        state = np.empty_like(logits)
        _bernoulli_kernel(logits.size, logits, bias, logits, state, np.uint64(seed), np.uint64(call), np.uint64(stream))
        return state, logits

    def bernoulli_binary(self, states, W, bias, seed, call, stream):
        prob = np.empty((states.shape[0], W.shape[1]), dtype=W.dtype)
        state = np.empty_like(prob)
        _bernoulli_binary_kernel(int(np.count_nonzero(states)) * W.shape[1], states, W, bias, prob, state,
                                 np.uint64(seed), np.uint64(call), np.uint64(stream))
        return state, prob

    def outer_pair(self, a, values_a, scale_a, b, values_b, scale_b):
        out = np.empty((a.shape[1], values_a.shape[1]), dtype=values_a.dtype)
        offsets_a, rows_a = _rows_by_column(a)
        offsets_b, rows_b = _rows_by_column(b)
        scalar = out.dtype.type
        _outer_pair_kernel((rows_a.size + rows_b.size) * out.shape[1], offsets_a, rows_a, values_a, scalar(scale_a),
                           offsets_b, rows_b, values_b, scalar(scale_b), out)
        return out

    def free_energy(self, logits, hidden_bias, visible_term):
        out = np.empty(logits.shape[0], dtype=np.float64)
        _free_energy_kernel(logits.size, logits, hidden_bias, np.asarray(visible_term, dtype=np.float64), out)
        return out

    def ais(self, W, b, c, base, betas, seed, n_chains, first_chain=0):
        log_w = np.empty(n_chains)
        gain = b.astype(np.float64) - base.astype(np.float64)
        with warnings.catch_warnings():
            # Compiling the parallel loop over inlined overloads trips a pedantic internal
            # check of Numba's (NumbaIRAssumptionWarning); the compiled code is correct
            # (the tests compare it with the cpu backend bit for bit).
            warnings.simplefilter("ignore", numba.errors.NumbaIRAssumptionWarning)
            _ais_kernel(n_chains * betas.size * (W.shape[0] + W.shape[1]), W, np.ascontiguousarray(W.T), b, c, base,
                        gain, betas, np.uint64(seed), np.int64(first_chain), log_w)
        return log_w


NUMBA_DEPENDENCIES = {
    "fastgen._constants": "27d7c413d2ac9110",
    "fastgen._numba": "883eca73908d4f79",
    "fastgen._numba_math": "620c77386a45edcb",
    "fastgen.random._numba": "39051576eea4e9e5",
}
