"""The `numba` backend of the binary RBM family: the loops of csrc/cpu/rbm.h over the math of
csrc/include/fastgen/rbm.h, operation for operation (float32 stays float32), so that `cpu`
and `numba` round identically and give bit-identical samples."""
import warnings

import numba
import numpy as np
from numba import njit, prange

from .._constants import PARALLEL_ADDS, PARALLEL_WORK, RbmStream
from .._numba import Variants
from .._numba_math import exp_nonpositive_parts_f64, log1p_unit, sigmoid_row
from ..random._numba import row_uniforms
from ._kernels import RbmKernels, row_scales


@njit(cache=True, inline="always")
def _bernoulli_row(r, begin, logits, bias, prob, state, seed, call, stream):
    """bernoulli_row of csrc/cpu/rbm.h on row r, whose elements are `begin`.. in the Philox
    layout: prob = sigmoid(logits + bias), state = u < prob."""
    n_cols = logits.shape[1]
    u = np.empty(n_cols, np.float32)
    p = np.empty(n_cols, logits.dtype)
    bits = np.empty(n_cols, np.int32)
    _bernoulli_row_in(r, begin, logits, bias, prob, state, seed, call, stream, u, p, bits)


@njit(cache=True, inline="always")
def _bernoulli_row_in(r, begin, logits, bias, prob, state, seed, call, stream, u, p, bits):
    """_bernoulli_row with the caller's buffers: uniforms u, probabilities p, bits (n_cols each)."""
    n_cols = logits.shape[1]
    one = logits.dtype.type(1)
    zero = logits.dtype.type(0)
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


def _bernoulli_logits(logits, bias, prob, state, seed, call, stream, first_row):
    for r in prange(logits.shape[0]):
        _bernoulli_row(r, (first_row + r) * logits.shape[1], logits, bias, prob, state, seed, call, stream)


def _bernoulli_binary(states, W, bias, prob, state, seed, call, stream, first_row):
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
        _bernoulli_row(r, (first_row + r) * prob.shape[1], prob, bias, prob, state, seed, call, stream)


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


# Columns per strip of the AIS products: a strip of W^T (500 x 512 float32, 1 MB) stays in L2
# cache while every chain of the block reads it (256 and 128 columns measured 1.1x and 1.25x
# slower: the loop over a strip pays a fixed cost per row).
_STRIP = 512


@njit(cache=True, inline="always")
def _ones_of_rows(states, counts, which):
    """active_units of csrc/cpu/rbm.h: for each row r, the indices of its ones into
    which[r, :counts[r]], increasing."""
    for r in range(states.shape[0]):
        count = 0
        for k in range(states.shape[1]):
            if states[r, k] != 0:
                which[r, count] = k
                count += 1
        counts[r] = count


@njit(cache=True, inline="always")
def _strip_products(M, counts, which, out):
    """strip_products of csrc/cpu/rbm.h: out[r] = the sum of the rows which[r, :counts[r]] of M,
    in increasing order from 0 (the selected rows only: the dense way there gives the same
    bits), a strip of columns at a time for all rows. Eight rows per pass over the strip of
    out, still added one after the other: 1.6x faster than a pass per row (measured)."""
    n_out = M.shape[1]
    for j0 in range(0, n_out, _STRIP):
        j1 = min(j0 + _STRIP, n_out)
        for r in range(out.shape[0]):
            dst = out[r, j0:j1]
            dst[:] = 0
            rows = which[r, :counts[r]]
            a = 0
            while a + 8 <= rows.shape[0]:
                x0, x1, x2, x3 = M[rows[a], j0:j1], M[rows[a + 1], j0:j1], M[rows[a + 2], j0:j1], M[rows[a + 3], j0:j1]
                x4, x5, x6, x7 = M[rows[a + 4], j0:j1], M[rows[a + 5], j0:j1], M[rows[a + 6], j0:j1], M[rows[a + 7], j0:j1]
                for j in range(j1 - j0):
                    total = dst[j]
                    total += x0[j]
                    total += x1[j]
                    total += x2[j]
                    total += x3[j]
                    total += x4[j]
                    total += x5[j]
                    total += x6[j]
                    total += x7[j]
                    dst[j] = total
                a += 8
            for q in range(a, rows.shape[0]):
                x = M[rows[q], j0:j1]
                for j in range(j1 - j0):
                    dst[j] += x[j]


@njit(cache=True, inline="always")
def _exp_nonpositive_parts(x, p, bits, j):
    """exp_nonpositive(double) of mathx.h for e^x, x <= 0, in two parts: p[j] the polynomial,
    bits[j] the exponent bits of 2^n (the product p 2^n is taken by the caller through a float
    view of the bits). Split like this, the loops over a row vectorise; math.ldexp does not."""
    q, n = exp_nonpositive_parts_f64(x)
    p[j] = q
    bits[j] = (np.int64(n) + np.int64(1023)) << np.int64(52)


@njit(cache=True, inline="always")
def _hidden_increments(sum_v, r, c, beta, beta_prev, increment, parts, bits):
    """ais_hidden_increment of csrc/include/fastgen/rbm.h for every hidden unit of chain r,
    a = sum_v[r] + c: softplus(beta a) - softplus(beta_prev a), operation for operation as
    there. parts and bits: (2, n_hidden) buffers of _exp_nonpositive_parts."""
    n_hidden = increment.shape[0]
    for j in range(n_hidden):
        a = np.float64(sum_v[r, j] + c[j])
        x = beta * a
        y = beta_prev * a
        _exp_nonpositive_parts(-x if x > 0.0 else x, parts[0], bits[0], j)
        _exp_nonpositive_parts(-y if y > 0.0 else y, parts[1], bits[1], j)
    scale = bits.view(np.float64)
    for j in range(n_hidden):
        a = np.float64(sum_v[r, j] + c[j])
        x = beta * a
        y = beta_prev * a
        softplus_x = (x if x > 0.0 else 0.0) + log1p_unit(parts[0, j] * scale[0, j])
        softplus_y = (y if y > 0.0 else 0.0) + log1p_unit(parts[1, j] * scale[1, j])
        increment[j] = softplus_x - softplus_y


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


@njit(cache=True, nogil=True, error_model="numpy")
def _free_energy_rows(logits, hidden_bias, row_scale, visible_term, out, first, last):
    """free_energy_row of csrc/include/fastgen/rbm.h for rows first .. last - 1, operation for
    operation: the argument in the logits' dtype, then the softplus in float64 in two passes
    over the row (e^-|x| by _exp_nonpositive_parts, then max(x, 0) + log1p), summed by
    _lane_sum into the eight partial sums of the C++ loop (unit j into sum j % 8). Not
    inlined, so that error_model="numpy" holds here (see _ais_block) and the passes vectorise."""
    n_hidden = logits.shape[1]
    x = np.empty(n_hidden)
    parts = np.empty(n_hidden)
    bits = np.empty(n_hidden, np.int64)
    terms = np.empty(n_hidden)
    scale = bits.view(np.float64)
    for r in range(first, last):
        s = row_scale[r]
        for j in range(n_hidden):
            x[j] = np.float64(s * (logits[r, j] + hidden_bias[j]))
            _exp_nonpositive_parts(-x[j] if x[j] > 0.0 else x[j], parts, bits, j)
        for j in range(n_hidden):
            terms[j] = (x[j] if x[j] > 0.0 else 0.0) + log1p_unit(parts[j] * scale[j])
        out[r] = -visible_term[r] - _lane_sum(terms)


# Rows per block of _free_energy: a block's buffers are allocated once for all its rows.
_FREE_ENERGY_BLOCK = 64


def _free_energy(logits, hidden_bias, row_scale, visible_term, out):
    n_rows = logits.shape[0]
    for q in prange((n_rows + _FREE_ENERGY_BLOCK - 1) // _FREE_ENERGY_BLOCK):
        first = q * _FREE_ENERGY_BLOCK
        _free_energy_rows(logits, hidden_bias, row_scale, visible_term, out, first,
                          min(first + _FREE_ENERGY_BLOCK, n_rows))


# error_model="numpy": float division follows IEEE 754 instead of raising ZeroDivisionError, so
# no test-and-branch guards each division and the loops with one (log1p_unit's y / (2 + y) in
# the hidden increments, never a zero denominator here) vectorise: the increments ran 4x
# faster (thread CPU time, 784 x 500), same bits.
@njit(cache=True, nogil=True, error_model="numpy")
def _ais_block(W, Wt, b, c, base, gain, betas, seed, first, log_w):
    """ais_block of csrc/cpu/rbm.h for chains first.. first + log_w.size: the chains of the
    block step together, each product summed in the same order as there, so that the
    weights are those of the cpu backend."""
    n_visible, n_hidden = W.shape
    n = log_w.shape[0]
    n_betas = betas.shape[0]
    scalar = W.dtype.type
    v = np.empty((n, n_visible), W.dtype)
    h = np.empty((n, n_hidden), W.dtype)
    x_v = np.empty((n, n_visible), W.dtype)  # visible logits, then probabilities
    x_h = np.empty((n, n_hidden), W.dtype)
    sum_v = np.empty((n, n_hidden), W.dtype)  # v W
    sum_h = np.empty((n, n_visible), W.dtype)  # h W^T
    zero_v = np.zeros(n_visible, W.dtype)
    zero_h = np.zeros(n_hidden, W.dtype)
    n_units = max(n_visible, n_hidden)
    u = np.empty(n_units, np.float32)
    p = np.empty(n_units, W.dtype)
    exponents = np.empty(n_units, np.int32)
    increment = np.empty(n_hidden)
    parts = np.empty((2, n_hidden))
    bits = np.empty((2, n_hidden), np.int64)
    counts = np.empty(n, np.int64)
    which = np.empty((n, n_units), np.int64)
    for r in range(n):
        x_v[r, :] = base
        _bernoulli_row_in(r, (first + r) * n_visible, x_v, zero_v, x_v, v, seed, 0, RbmStream.INIT,
                          u[:n_visible], p[:n_visible], exponents[:n_visible])
        log_w[r] = 0.0
    for k in range(1, n_betas):
        beta = betas[k]
        beta_prev = betas[k - 1]
        last = k == n_betas - 1
        tbeta = scalar(beta)
        _ones_of_rows(v, counts, which)
        _strip_products(W, counts, which, sum_v)
        for r in range(n):
            visible_term = 0.0
            for q in range(counts[r]):
                visible_term += gain[which[r, q]]
            _hidden_increments(sum_v, r, c, beta, beta_prev, increment, parts, bits)
            log_w[r] += (beta - beta_prev) * visible_term + _lane_sum(increment)
            if not last:
                for j in range(n_hidden):
                    x_h[r, j] = tbeta * (sum_v[r, j] + c[j])
                _bernoulli_row_in(r, (first + r) * n_hidden, x_h, zero_h, x_h, h, seed, k, RbmStream.HIDDEN,
                                  u[:n_hidden], p[:n_hidden], exponents[:n_hidden])
        if last:
            break
        _ones_of_rows(h, counts, which)
        _strip_products(Wt, counts, which, sum_h)
        for r in range(n):
            for i in range(n_visible):
                x_v[r, i] = tbeta * (sum_h[r, i] + b[i]) + (scalar(1) - tbeta) * base[i]
            _bernoulli_row_in(r, (first + r) * n_visible, x_v, zero_v, x_v, v, seed, k, RbmStream.VISIBLE,
                              u[:n_visible], p[:n_visible], exponents[:n_visible])


def _ais(W, Wt, b, c, base, gain, betas, seed, first_chain, block, log_w):
    """ais_chains of csrc/cpu/rbm.h: blocks of `block` chains, threads take blocks; log_w[r] is
    chain first_chain + r's weight."""
    n_blocks = (log_w.shape[0] + block - 1) // block
    for q in prange(n_blocks):
        first = q * block
        _ais_block(W, Wt, b, c, base, gain, betas, seed, first_chain + first, log_w[first:first + block])


_bernoulli_kernel = Variants(_bernoulli_logits, PARALLEL_WORK)
_bernoulli_binary_kernel = Variants(_bernoulli_binary, PARALLEL_ADDS)
_outer_pair_kernel = Variants(_outer_pair, PARALLEL_ADDS)
_free_energy_kernel = Variants(_free_energy, PARALLEL_WORK)
_ais_kernel = Variants(_ais, PARALLEL_WORK)


def _ais_block_size(n_chains):
    """Chains per block, as ais_chains of csrc/cpu/rbm.h chooses them: an equal share of the
    threads, at most 64 (the result does not depend on it)."""
    n_threads = numba.get_num_threads()
    return max(1, min(64, -(-n_chains // n_threads)))


class Kernels(RbmKernels):
    sparse_products = True

    def bernoulli(self, logits, bias, seed, call, stream, first_row=0):
        state = np.empty_like(logits)
        _bernoulli_kernel(logits.size, logits, bias, logits, state, np.uint64(seed), np.uint64(call), np.uint64(stream),
                          np.int64(first_row))
        return state, logits

    def bernoulli_binary(self, states, W, bias, seed, call, stream, first_row=0):
        prob = np.empty((states.shape[0], W.shape[1]), dtype=W.dtype)
        state = np.empty_like(prob)
        _bernoulli_binary_kernel(int(np.count_nonzero(states)) * W.shape[1], states, W, bias, prob, state,
                                 np.uint64(seed), np.uint64(call), np.uint64(stream), np.int64(first_row))
        return state, prob

    def outer_pair(self, a, values_a, scale_a, b, values_b, scale_b):
        out = np.empty((a.shape[1], values_a.shape[1]), dtype=values_a.dtype)
        offsets_a, rows_a = _rows_by_column(a)
        offsets_b, rows_b = _rows_by_column(b)
        scalar = out.dtype.type
        _outer_pair_kernel((rows_a.size + rows_b.size) * out.shape[1], offsets_a, rows_a, values_a, scalar(scale_a),
                           offsets_b, rows_b, values_b, scalar(scale_b), out)
        return out

    def free_energy(self, logits, hidden_bias, visible_term, row_scale=None):
        out = np.empty(logits.shape[0], dtype=np.float64)
        _free_energy_kernel(logits.size, logits, hidden_bias, row_scales(np, logits, row_scale),
                            np.asarray(visible_term, dtype=np.float64), out)
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
                        gain, betas, np.uint64(seed), np.int64(first_chain), _ais_block_size(n_chains), log_w)
        return log_w


NUMBA_DEPENDENCIES = {
    "fastgen._constants": "357de233da57d201",
    "fastgen._numba": "ed1a5bbaf7344969",
    "fastgen._numba_math": "90e6c4648a2765f0",
    "fastgen.random._numba": "fc18639b27286561",
}
