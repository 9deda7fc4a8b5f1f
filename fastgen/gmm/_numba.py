"""The `numba` backend of the Gaussian-mixture family: csrc/include/fastgen/gmm.h and the fused
pass of csrc/cpu/gmm.h, same layouts (component index last) and the same loop structure."""
import numba
import numpy as np
from numba import njit, prange

from .._constants import GMM_PARALLEL_WORK, GMM_TILE, NEGLIGIBLE_LOG_RESP
from .._numba import Variants
from .._numba_math import exp_nonpositive_f64
from ._kernels import ComponentLastKernels


@njit(cache=True, inline="always")
def _weighted_log_prob(x, means_t, prec_t, full, bias, work, log_p):
    """gmm.h weighted_log_prob over all K components; `work` is ((D + 2) * K,) of x's dtype.
    prec_t is (D, D, K) when `full`, else the diagonal factors as (D, 1, K): one array type for both."""
    D, K = means_t.shape
    zero = x.dtype.type(0)
    sq = work[:K]
    d = work[K:2 * K]
    sq[:] = zero
    if full:
        y = work[2 * K:].reshape((D, K))
        y[:] = zero
        for i in range(D):
            for c in range(K):
                d[c] = x[i] - means_t[i, c]
            for j in range(i, D):
                for c in range(K):
                    y[j, c] += d[c] * prec_t[i, j, c]
        for j in range(D):
            for c in range(K):
                sq[c] += y[j, c] * y[j, c]
    else:
        for i in range(D):
            for c in range(K):
                z = (x[i] - means_t[i, c]) * prec_t[i, 0, c]
                sq[c] += z * z
    for c in range(K):
        log_p[c] = bias[c] - 0.5 * np.float64(sq[c])


@njit(cache=True, inline="always")
def _responsibilities(log_p):
    """gmm.h responsibilities: log_p becomes exp(log_p - lse) in place; returns lse."""
    K = log_p.shape[0]
    top = log_p[0]
    for k in range(1, K):
        top = max(top, log_p[k])
    total = 0.0
    for k in range(K):
        shifted = log_p[k] - top
        log_p[k] = 0.0 if shifted < NEGLIGIBLE_LOG_RESP else exp_nonpositive_f64(shifted)
        total += log_p[k]
    inverse = 1.0 / total
    for k in range(K):
        log_p[k] *= inverse
    return top + np.log(total)


@njit(cache=True, inline="always")
def _weighted_responsibilities(log_p, w):
    """gmm.h weighted_responsibilities: the responsibilities times w in place; returns w log p(x)."""
    if w == 0.0:
        log_p[:] = 0.0
        return 0.0
    lse = _responsibilities(log_p)
    if w == 1.0:
        return lse
    for k in range(log_p.shape[0]):
        log_p[k] *= w
    return w * lse


def _as_3d(prec_t):
    return prec_t if prec_t.ndim == 3 else prec_t[:, None, :]


def _weighted_log_prob_rows(X, means_t, prec_t, full, bias, out):
    D, K = means_t.shape
    for n in prange(X.shape[0]):
        work = np.empty((D + 2) * K, dtype=X.dtype)
        _weighted_log_prob(X[n], means_t, prec_t, full, bias, work, out[n])


@njit(cache=True, inline="always")
def _accumulate_range(X, weights, weighted, first, last, means_t, prec_t, full, bias, nk, s1, s2):
    """The statistics of rows [first, last) added to nk (K,), s1 (D, K), s2 (D, D, K) or (D, 1, K),
    four points per scatter update as accumulate_tile in csrc/cpu/gmm.h; returns their sum of w log p.
    Row n counts weights[n] times when `weighted` (weights is then (N,), else unused)."""
    D, K = means_t.shape
    work = np.empty((D + 2) * K, dtype=X.dtype)
    resp = np.zeros((GMM_TILE, K))
    d = np.zeros((GMM_TILE, D, K))
    a = np.zeros((GMM_TILE, D, K))
    log_likelihood = 0.0
    for start in range(first, last, GMM_TILE):
        count = min(GMM_TILE, last - start)
        if count < GMM_TILE:
            d[:] = 0.0
            a[:] = 0.0
        for t in range(count):
            x = X[start + t]
            _weighted_log_prob(x, means_t, prec_t, full, bias, work, resp[t])
            if weighted:
                log_likelihood += _weighted_responsibilities(resp[t], weights[start + t])
            else:
                log_likelihood += _responsibilities(resp[t])
            for k in range(K):
                nk[k] += resp[t, k]
            for i in range(D):
                for k in range(K):
                    d[t, i, k] = np.float64(x[i] - means_t[i, k])
                    a[t, i, k] = resp[t, k] * d[t, i, k]
                    s1[i, k] += a[t, i, k]
        if full:
            for i in range(D):
                for j in range(i, D):
                    for k in range(K):
                        s2[i, j, k] += (a[0, i, k] * d[0, j, k] + a[1, i, k] * d[1, j, k]) + (
                            a[2, i, k] * d[2, j, k] + a[3, i, k] * d[3, j, k]
                        )
        else:
            for i in range(D):
                for k in range(K):
                    s2[i, 0, k] += (a[0, i, k] * d[0, i, k] + a[1, i, k] * d[1, i, k]) + (
                        a[2, i, k] * d[2, i, k] + a[3, i, k] * d[3, i, k]
                    )
    return log_likelihood


def _em_pass_parts(X, weights, weighted, means_t, prec_t, full, bias, n_parts):
    """Per-part statistics of n_parts contiguous row ranges (one per thread)."""
    N = X.shape[0]
    D, K = means_t.shape
    nk = np.zeros((n_parts, K))
    s1 = np.zeros((n_parts, D, K))
    s2 = np.zeros((n_parts, D, D, K) if full else (n_parts, D, 1, K))
    log_likelihood = np.zeros(n_parts)
    for part in prange(n_parts):
        first = part * N // n_parts
        last = (part + 1) * N // n_parts
        log_likelihood[part] = _accumulate_range(X, weights, weighted, first, last, means_t, prec_t, full, bias,
                                                 nk[part], s1[part], s2[part])
    return log_likelihood, nk, s1, s2


_NO_WEIGHTS = np.ones(0)  # the weights argument of an unweighted pass (one array type for both)
_weighted_log_prob_kernel = Variants(_weighted_log_prob_rows, GMM_PARALLEL_WORK)
_em_pass_kernel = Variants(_em_pass_parts, GMM_PARALLEL_WORK)


class Kernels(ComponentLastKernels):
    @staticmethod
    def _weighted_log_prob(X, means_t, prec_t, full, bias, out):
        _weighted_log_prob_kernel(X.size * means_t.shape[1], X, means_t, _as_3d(prec_t), bool(full), bias, out)

    @staticmethod
    def _em_pass(X, means_t, prec_t, full, bias, nk, s1, s2, weights):
        work = X.size * means_t.shape[1]
        n_parts = max(1, min(numba.get_num_threads(), X.shape[0] // 512)) if work >= GMM_PARALLEL_WORK else 1
        weighted = weights is not None
        log_likelihood, nk_parts, s1_parts, s2_parts = _em_pass_kernel(
            work, X, weights if weighted else _NO_WEIGHTS, weighted, means_t, _as_3d(prec_t), bool(full), bias, n_parts
        )
        nk[:] = nk_parts.sum(axis=0)
        s1[:] = s1_parts.sum(axis=0)
        s2[:] = s2_parts.sum(axis=0).reshape(s2.shape)
        return log_likelihood.sum()


NUMBA_DEPENDENCIES = {
    "fastgen._constants": "71b9378c4933e03a",
    "fastgen._numba": "883eca73908d4f79",
    "fastgen._numba_math": "620c77386a45edcb",
}
