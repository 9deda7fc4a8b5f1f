"""The `numba` backend of the Gaussian-mixture family: the block loops of csrc/cpu/gmm.h over the
per-point math of csrc/include/fastgen/gmm.h, same layouts, the same operations in the same order
(blocks of GMM_BLOCK points summed by one tree, chunks fixed by N, K and D), so that its results
equal the cpu backend's bit for bit, whatever either's thread count."""
import numpy as np
from numba import njit, prange

from .._constants import GMM_BLOCK, GMM_CHUNK_BYTES, GMM_MAX_CHUNKS, GMM_PARALLEL_WORK, NEGLIGIBLE_LOG_RESP
from .._numba import Variants, read_only
from .._numba_math import exp_nonpositive_parts_f64
from ._kernels import HostKernels

assert GMM_BLOCK == 128, "the block sums below fold 128 points, as block_fold of csrc/cpu/gmm.h"
_LOWEST_DOUBLE = -1.7976931348623157e308  # lse_shift of gmm.h: only -inf is below it


@njit(cache=True, inline="always")
def _fold_sixteen(p):
    """The last levels of block_fold of csrc/cpu/gmm.h: p[b] += p[b + w] for w = 8, 4, 2, 1 over
    p[:16], the sums of the tree's first three levels; returns p[0]."""
    for b in range(8):
        p[b] += p[b + 8]
    for b in range(4):
        p[b] += p[b + 4]
    for b in range(2):
        p[b] += p[b + 2]
    return p[0] + p[1]


# Sums over a block's points, in the order of block_fold of csrc/cpu/gmm.h: the pairs v[b] +
# v[b + 64], then p[b] += p[b + w] for w = 32, 16, ..., 1. The first three levels are written
# out as one expression per b < 16 (the same additions in the same order), so their partial
# sums stay in registers: as a loop per level, each stored and loaded back its scratch, which
# made numba's statistics twice as slow as cpu's, whose pair sums live in vector registers.


@njit(cache=True, inline="always")
def _block_dot(a, c, p):
    """block_dot: sum_b a[b] c[b] over one block; p: scratch of 16."""
    for b in range(16):
        p[b] = (((a[b] * c[b] + a[b + 64] * c[b + 64]) + (a[b + 32] * c[b + 32] + a[b + 96] * c[b + 96]))
                + ((a[b + 16] * c[b + 16] + a[b + 80] * c[b + 80]) + (a[b + 48] * c[b + 48] + a[b + 112] * c[b + 112])))
    return _fold_sixteen(p)


@njit(cache=True, inline="always")
def _block_dot4(a, c, j, p4, out):
    """out[j + q] += _block_dot(a, c[j + q]) for q < 4 (block_dot2 of csrc/cpu/gmm.h, four at a
    time): a read once for the four, each sum in its own row of p4 (4, 16)."""
    c0, c1, c2, c3 = c[j], c[j + 1], c[j + 2], c[j + 3]
    for b in range(16):
        a0, a1, a2, a3 = a[b], a[b + 64], a[b + 32], a[b + 96]
        a4, a5, a6, a7 = a[b + 16], a[b + 80], a[b + 48], a[b + 112]
        p4[0, b] = (((a0 * c0[b] + a1 * c0[b + 64]) + (a2 * c0[b + 32] + a3 * c0[b + 96]))
                    + ((a4 * c0[b + 16] + a5 * c0[b + 80]) + (a6 * c0[b + 48] + a7 * c0[b + 112])))
        p4[1, b] = (((a0 * c1[b] + a1 * c1[b + 64]) + (a2 * c1[b + 32] + a3 * c1[b + 96]))
                    + ((a4 * c1[b + 16] + a5 * c1[b + 80]) + (a6 * c1[b + 48] + a7 * c1[b + 112])))
        p4[2, b] = (((a0 * c2[b] + a1 * c2[b + 64]) + (a2 * c2[b + 32] + a3 * c2[b + 96]))
                    + ((a4 * c2[b + 16] + a5 * c2[b + 80]) + (a6 * c2[b + 48] + a7 * c2[b + 112])))
        p4[3, b] = (((a0 * c3[b] + a1 * c3[b + 64]) + (a2 * c3[b + 32] + a3 * c3[b + 96]))
                    + ((a4 * c3[b + 16] + a5 * c3[b + 80]) + (a6 * c3[b + 48] + a7 * c3[b + 112])))
    for q in range(4):
        out[j + q] += _fold_sixteen(p4[q])


@njit(cache=True, inline="always")
def _block_sum(a, p):
    """block_sum: sum_b a[b] over one block; p: scratch of 16."""
    for b in range(16):
        p[b] = (((a[b] + a[b + 64]) + (a[b + 32] + a[b + 96]))
                + ((a[b + 16] + a[b + 80]) + (a[b + 48] + a[b + 112])))
    return _fold_sixteen(p)


@njit(cache=True, inline="always")
def _load_block(X, weights, weighted, first, count, xt, w):
    """load_block: rows [first, first + count) of X into xt (D, block), zeros past them; their
    weights into w (1 when not `weighted`), 0 past them."""
    xt[:] = 0
    for b in range(count):
        for i in range(X.shape[1]):
            xt[i, b] = X[first + b, i]
    for b in range(GMM_BLOCK):
        w[b] = 0.0 if b >= count else (weights[first + b] if weighted else 1.0)


@njit(cache=True, inline="always")
def _centre_block(xt, means_t, k, d):
    for i in range(xt.shape[0]):
        mean = means_t[i, k]
        for b in range(GMM_BLOCK):
            d[i, b] = xt[i, b] - mean


@njit(cache=True, inline="always")
def _full_column(d, prec_t, j, k, y):
    """y (block) = sum_{i<=j} d[i] U_k[i, j], i ascending from zero as full_strip of csrc/cpu/gmm.h
    adds them, four rows i per pass over the block: each pass loads y and stores it once for four
    products instead of one (the loop was bound by those loads and stores)."""
    u = prec_t[:, j, k]
    y[:] = y.dtype.type(0)
    i = 0
    while i + 4 <= j + 1:
        d0, d1, d2, d3 = d[i], d[i + 1], d[i + 2], d[i + 3]
        u0, u1, u2, u3 = u[i], u[i + 1], u[i + 2], u[i + 3]
        for b in range(GMM_BLOCK):
            y[b] = (((y[b] + d0[b] * u0) + d1[b] * u1) + d2[b] * u2) + d3[b] * u3
        i += 4
    while i <= j:
        di, ui = d[i], u[i]
        for b in range(GMM_BLOCK):
            y[b] += di[b] * ui
        i += 1


@njit(cache=True, inline="always")
def _diag_squares(d, prec_t, k, sq):
    """sq (block) += sum_i (d[i] p_ki)^2, i ascending, four rows i per pass (as _full_column)."""
    D = d.shape[0]
    i = 0
    while i + 4 <= D:
        d0, d1, d2, d3 = d[i], d[i + 1], d[i + 2], d[i + 3]
        u0, u1, u2, u3 = prec_t[i, 0, k], prec_t[i + 1, 0, k], prec_t[i + 2, 0, k], prec_t[i + 3, 0, k]
        for b in range(GMM_BLOCK):
            z0 = d0[b] * u0
            z1 = d1[b] * u1
            z2 = d2[b] * u2
            z3 = d3[b] * u3
            sq[b] = (((sq[b] + z0 * z0) + z1 * z1) + z2 * z2) + z3 * z3
        i += 4
    while i < D:
        di, ui = d[i], prec_t[i, 0, k]
        for b in range(GMM_BLOCK):
            z = di[b] * ui
            sq[b] += z * z
        i += 1


@njit(cache=True, inline="always")
def _block_log_prob(xt, means_t, prec_t, full, bias, d, y, sq, lp):
    """block_log_prob: lp (K, block) = log(w_k N(x | mean_k, cov_k)). prec_t is (D, D, K) when
    `full`, else the diagonal factors as (D, 1, K): one array type for both."""
    D, K = means_t.shape
    zero = xt.dtype.type(0)
    for k in range(K):
        _centre_block(xt, means_t, k, d)
        sq[:] = zero
        if full:
            for j in range(D):
                _full_column(d, prec_t, j, k, y)
                for b in range(GMM_BLOCK):
                    sq[b] += y[b] * y[b]
        else:
            _diag_squares(d, prec_t, k, sq)
        bias_k = bias[k]
        for b in range(GMM_BLOCK):
            lp[k, b] = bias_k - 0.5 * np.float64(sq[b])


@njit(cache=True, inline="always")
def _inverse(x):
    """1 / x as C++ computes it: inf for x = 0 (a point of zero density), where Numba's Python
    error model would raise ZeroDivisionError."""
    return 1.0 / x if x != 0.0 else np.inf


@njit(cache=True, inline="always")
def _block_shifted_exp(lp, top, total, parts, bits):
    """block_shifted_exp: lp (K, block) becomes exp(lp - top), 0 below NEGLIGIBLE_LOG_RESP, top
    (block) the lse_shift of each point's largest log density (0 for -inf), total (block) their
    sum. parts (block) float64 and bits (block) int64: scratch for exp_nonpositive of mathx.h in
    two loops, the polynomial and the exponent bits of 2^n first, then their product through a
    float view of the bits (math.ldexp kept the whole loop scalar, one libm call per point and
    component: most of the gap to cpu). Each value is the same: p 2^n is exact either way."""
    K = lp.shape[0]
    scale = bits.view(np.float64)
    for b in range(GMM_BLOCK):
        top[b] = lp[0, b]
    for k in range(1, K):
        for b in range(GMM_BLOCK):
            top[b] = lp[k, b] if lp[k, b] > top[b] else top[b]
    for b in range(GMM_BLOCK):
        top[b] = 0.0 if top[b] < _LOWEST_DOUBLE else top[b]  # lse_shift of gmm.h
    total[:] = 0.0
    for k in range(K):
        for b in range(GMM_BLOCK):
            q, n = exp_nonpositive_parts_f64(lp[k, b] - top[b])
            parts[b] = q
            bits[b] = (np.int64(n) + np.int64(1023)) << np.int64(52)
        for b in range(GMM_BLOCK):
            shifted = lp[k, b] - top[b]
            r = 0.0 if shifted < NEGLIGIBLE_LOG_RESP else parts[b] * scale[b]
            lp[k, b] = r
            total[b] += r


@njit(cache=True, inline="always")
def _block_responsibilities(lp, w, top, total, ll, parts, bits):
    """block_responsibilities: lp (K, block) becomes the responsibilities times w, ll = w log p(x);
    parts and bits: scratch of _block_shifted_exp."""
    K = lp.shape[0]
    _block_shifted_exp(lp, top, total, parts, bits)
    for b in range(GMM_BLOCK):
        lse = top[b] + np.log(total[b])
        ll[b] = 0.0 if w[b] == 0.0 else w[b] * lse
        total[b] = _inverse(total[b])
    for k in range(K):
        for b in range(GMM_BLOCK):
            lp[k, b] = 0.0 if w[b] == 0.0 else lp[k, b] * total[b] * w[b]


@njit(cache=True, inline="always")
def _block_scores(lp, top, total, parts, bits, label, first, count, log_norm, labels, want_labels, proba,
                  want_proba):
    """block_scores: the block's first `count` points' log p(x) into log_norm[first:], with
    `want_labels` their first largest component into labels, with `want_proba` their
    responsibilities (rounded to proba's dtype) into proba; lp becomes scratch."""
    K = lp.shape[0]
    if want_labels:
        best = total  # free until _block_shifted_exp
        for b in range(GMM_BLOCK):
            best[b] = lp[0, b]
            label[b] = 0
        for k in range(1, K):
            for b in range(GMM_BLOCK):
                above = lp[k, b] > best[b]
                best[b] = lp[k, b] if above else best[b]
                label[b] = k if above else label[b]
        for b in range(count):
            labels[first + b] = label[b]
    _block_shifted_exp(lp, top, total, parts, bits)
    for b in range(count):
        log_norm[first + b] = top[b] + np.log(total[b])
    if want_proba:
        for b in range(count):
            total[b] = _inverse(total[b])
        for b in range(count):
            for k in range(K):
                proba[first + b, k] = lp[k, b] * total[b]


@njit(cache=True, inline="always")
def _block_statistics(xt, means_t, full, lp, ll, dd, a, p, p4, nk, s1, s2):
    """block_statistics: the block's sums added to nk (K,), s1 (K, D), s2 (K, D, D) or (K, 1, D);
    returns the block's sum of w log p(x). p, p4: scratch of GMM_BLOCK / 2 and (4, GMM_BLOCK / 2)."""
    D, K = means_t.shape
    for k in range(K):
        for i in range(D):
            mean = means_t[i, k]
            for b in range(GMM_BLOCK):
                dd[i, b] = np.float64(xt[i, b] - mean)  # x - mean_k in X's dtype, as in the log density
                a[i, b] = lp[k, b] * dd[i, b]
        nk[k] += _block_sum(lp[k], p)
        for i in range(D):
            s1[k, i] += _block_sum(a[i], p)
        if full:
            for i in range(D):
                j = i
                while j + 4 <= D:
                    _block_dot4(a[i], dd, j, p4, s2[k, i])
                    j += 4
                for j in range(j, D):
                    s2[k, i, j] += _block_dot(a[i], dd[j], p)
        else:
            for i in range(D):
                s2[k, 0, i] += _block_dot(a[i], dd[i], p)
    return _block_sum(ll, p)


@njit(cache=True, inline="always")
def _log_prob_buffers(X, K):
    """A block's buffers of _load_block and _block_log_prob: xt, d (D, block) and y, sq (block)
    of X's dtype; lp (K, block) and w (block) float64."""
    D = X.shape[1]
    xt = np.empty((D, GMM_BLOCK), dtype=X.dtype)
    d = np.empty((D, GMM_BLOCK), dtype=X.dtype)
    y = np.empty(GMM_BLOCK, dtype=X.dtype)
    sq = np.empty(GMM_BLOCK, dtype=X.dtype)
    return xt, d, y, sq, np.empty((K, GMM_BLOCK)), np.empty(GMM_BLOCK)


def _weighted_log_prob_blocks(X, means_t, prec_t, full, bias, out):
    N, D = X.shape
    K = means_t.shape[1]
    for blk in prange((N + GMM_BLOCK - 1) // GMM_BLOCK):
        xt, d, y, sq, lp, w = _log_prob_buffers(X, K)
        first = blk * GMM_BLOCK
        count = min(GMM_BLOCK, N - first)
        _load_block(X, w, False, first, count, xt, w)
        _block_log_prob(xt, means_t, prec_t, full, bias, d, y, sq, lp)
        for b in range(count):
            for k in range(K):
                out[first + b, k] = lp[k, b]


def _score_rows_blocks(X, means_t, prec_t, full, bias, log_norm, labels, want_labels, proba, want_proba):
    N = X.shape[0]
    K = means_t.shape[1]
    for blk in prange((N + GMM_BLOCK - 1) // GMM_BLOCK):
        xt, d, y, sq, lp, w = _log_prob_buffers(X, K)
        top = np.empty(GMM_BLOCK)
        total = np.empty(GMM_BLOCK)
        parts = np.empty(GMM_BLOCK)
        bits = np.empty(GMM_BLOCK, dtype=np.int64)
        label = np.empty(GMM_BLOCK, dtype=np.int64)
        first = blk * GMM_BLOCK
        count = min(GMM_BLOCK, N - first)
        _load_block(X, w, False, first, count, xt, w)
        _block_log_prob(xt, means_t, prec_t, full, bias, d, y, sq, lp)
        _block_scores(lp, top, total, parts, bits, label, first, count, log_norm, labels, want_labels, proba,
                      want_proba)


def _em_pass_chunks(X, weights, weighted, means_t, prec_t, full, bias, n_chunks):
    """Per-chunk statistics, each chunk's blocks in order, then the chunks added in order."""
    N, D = X.shape
    K = means_t.shape[1]
    n_blocks = (N + GMM_BLOCK - 1) // GMM_BLOCK
    nk = np.zeros((n_chunks, K))
    s1 = np.zeros((n_chunks, K, D))
    s2 = np.zeros((n_chunks, K, D, D) if full else (n_chunks, K, 1, D))
    log_likelihood = np.zeros(n_chunks)
    for c in prange(n_chunks):
        xt, d, y, sq, lp, w = _log_prob_buffers(X, K)
        top = np.empty(GMM_BLOCK)
        total = np.empty(GMM_BLOCK)
        ll = np.empty(GMM_BLOCK)
        dd = np.empty((D, GMM_BLOCK))
        a = np.empty((D, GMM_BLOCK))
        p = np.empty(GMM_BLOCK // 2)
        p4 = np.empty((4, GMM_BLOCK // 2))
        parts = np.empty(GMM_BLOCK)
        bits = np.empty(GMM_BLOCK, dtype=np.int64)
        for blk in range(c * n_blocks // n_chunks, (c + 1) * n_blocks // n_chunks):
            first = blk * GMM_BLOCK
            _load_block(X, weights, weighted, first, min(GMM_BLOCK, N - first), xt, w)
            _block_log_prob(xt, means_t, prec_t, full, bias, d, y, sq, lp)
            _block_responsibilities(lp, w, top, total, ll, parts, bits)
            log_likelihood[c] += _block_statistics(xt, means_t, full, lp, ll, dd, a, p, p4, nk[c], s1[c], s2[c])
    for c in range(1, n_chunks):
        nk[0] += nk[c]
        s1[0] += s1[c]
        s2[0] += s2[c]
        log_likelihood[0] += log_likelihood[c]
    return log_likelihood[0], nk[0], s1[0], s2[0]


# ---------------------------------------------------------------- k-means (csrc/cpu/gmm_kmeans.h)


@njit(cache=True, inline="always")
def _block_distances(xt, c, dist):
    """block_distances: dist[b] = squared_distance of gmm.h from the block's point b (xt: (D, block)
    float64) to the centre c."""
    dist[:] = 0.0
    for i in range(xt.shape[0]):
        ci = c[i]
        for b in range(GMM_BLOCK):
            d = xt[i, b] - ci
            dist[b] += d * d


@njit(cache=True, inline="always")
def _kmeans_pick(closest, weights, weighted, block_total, r):
    """kmeans_pick: the first point at which the cumulative sum of w closest (block totals first,
    then the found block's points) reaches r."""
    N = closest.shape[0]
    n_blocks = block_total.shape[0]
    acc = 0.0
    blk = 0
    while blk < n_blocks - 1:
        if acc + block_total[blk] >= r:
            break
        acc += block_total[blk]
        blk += 1
    first = blk * GMM_BLOCK
    count = min(GMM_BLOCK, N - first)
    last_positive = -1
    for b in range(count):
        v = (weights[first + b] if weighted else 1.0) * closest[first + b]
        acc += v
        if v > 0.0:
            last_positive = first + b
        if acc >= r:
            return first + b
    return last_positive if last_positive >= 0 else first + count - 1


@njit(cache=True, inline="always")
def _kmeans_try_chunk(xt, w, centres, n_tried, closest, candidate_distance, candidate_total, ch, n_chunks):
    """kmeans_try_candidates over the blocks of chunk ch (xt (n_blocks, D, block), w (n_blocks,
    block): the blocks loaded once): candidate_distance (L, N) and candidate_total (n_blocks, L)
    for the first n_tried rows of centres."""
    N = closest.shape[0]
    n_blocks = xt.shape[0]
    dist = np.empty(GMM_BLOCK)
    m = np.empty(GMM_BLOCK)
    p = np.empty(GMM_BLOCK // 2)
    for blk in range(ch * n_blocks // n_chunks, (ch + 1) * n_blocks // n_chunks):
        first = blk * GMM_BLOCK
        count = min(GMM_BLOCK, N - first)
        for l in range(n_tried):
            _block_distances(xt[blk], centres[l], dist)
            for b in range(GMM_BLOCK):
                v = 0.0
                if b < count:
                    d = dist[b]
                    old = closest[first + b]
                    candidate_distance[l, first + b] = d
                    v = d if d < old else old
                m[b] = w[blk, b] * v
            candidate_total[blk, l] = _block_sum(m, p)


@njit(cache=True, inline="always")
def _kmeans_add_chunk(weights, weighted, dist, closest, block_total, ch, n_chunks):
    """kmeans_add_candidate over the blocks of chunk ch: closest = min(closest, dist), block_total."""
    N = closest.shape[0]
    n_blocks = block_total.shape[0]
    m = np.empty(GMM_BLOCK)
    p = np.empty(GMM_BLOCK // 2)
    for blk in range(ch * n_blocks // n_chunks, (ch + 1) * n_blocks // n_chunks):
        first = blk * GMM_BLOCK
        count = min(GMM_BLOCK, N - first)
        for b in range(GMM_BLOCK):
            v = 0.0
            if b < count:
                d = dist[first + b]
                old = closest[first + b]
                v = d if d < old else old
                closest[first + b] = v
                v *= weights[first + b] if weighted else 1.0
            m[b] = v
        block_total[blk] = _block_sum(m, p)


def _kmeans_seed_blocks(X, weights, weighted, first_index, uniforms, n_chunks, indices):
    """kmeans_seed: greedy k-means++; the per-block sums computed by chunks of blocks in
    parallel, added in block order on one thread."""
    N, D = X.shape
    K = indices.shape[0]
    L = max(uniforms.shape[1], 1)
    n_blocks = (N + GMM_BLOCK - 1) // GMM_BLOCK
    xt = np.empty((n_blocks, D, GMM_BLOCK))  # kmeans_load_blocks: every block loaded once
    w = np.empty((n_blocks, GMM_BLOCK))
    for ch in prange(n_chunks):
        for blk in range(ch * n_blocks // n_chunks, (ch + 1) * n_blocks // n_chunks):
            first = blk * GMM_BLOCK
            _load_block(X, weights, weighted, first, min(GMM_BLOCK, N - first), xt[blk], w[blk])
    closest = np.full(N, np.inf)
    block_total = np.zeros(n_blocks)
    candidate_total = np.zeros((n_blocks, L))
    candidate_distance = np.empty((L, N))
    centres = np.zeros((L, D))
    candidates = np.zeros(L, dtype=np.int64)
    indices[0] = first_index  # the first seed: the one candidate of step 0
    for i in range(D):
        centres[0, i] = X[first_index, i]
    n_tried = 1
    best = 0
    for c in range(K):
        if c > 0:
            total = 0.0
            for blk in range(n_blocks):
                total += block_total[blk]
            for l in range(L):
                candidates[l] = _kmeans_pick(closest, weights, weighted, block_total, uniforms[c - 1, l] * total)
                for i in range(D):
                    centres[l, i] = X[candidates[l], i]
            n_tried = L
        for ch in prange(n_chunks):
            _kmeans_try_chunk(xt, w, centres, n_tried, closest, candidate_distance, candidate_total, ch, n_chunks)
        if c > 0:
            best = 0
            best_potential = 0.0
            for l in range(L):
                potential = 0.0
                for blk in range(n_blocks):
                    potential += candidate_total[blk, l]
                if l == 0 or potential < best_potential:
                    best = l
                    best_potential = potential
            indices[c] = candidates[best]
        for ch in prange(n_chunks):
            _kmeans_add_chunk(weights, weighted, candidate_distance[best], closest, block_total, ch, n_chunks)


def _kmeans_step_chunks(X, weights, weighted, centres, n_chunks, labels, distances):
    """kmeans_step: labels and distances filled; returns (sums (K, D), counts (K,)), each chunk's
    points in order, the chunks added in order."""
    N, D = X.shape
    K = centres.shape[0]
    n_blocks = (N + GMM_BLOCK - 1) // GMM_BLOCK
    chunk_sums = np.zeros((n_chunks, K, D))
    chunk_counts = np.zeros((n_chunks, K))
    for ch in prange(n_chunks):
        xt = np.empty((D, GMM_BLOCK))
        w = np.empty(GMM_BLOCK)
        dist = np.empty(GMM_BLOCK)
        best_d = np.empty(GMM_BLOCK)
        best_k = np.empty(GMM_BLOCK, dtype=np.int64)
        for blk in range(ch * n_blocks // n_chunks, (ch + 1) * n_blocks // n_chunks):
            first = blk * GMM_BLOCK
            count = min(GMM_BLOCK, N - first)
            _load_block(X, weights, weighted, first, count, xt, w)
            _block_distances(xt, centres[0], best_d)
            best_k[:] = 0
            for k in range(1, K):
                _block_distances(xt, centres[k], dist)
                for b in range(GMM_BLOCK):
                    if dist[b] < best_d[b]:
                        best_d[b] = dist[b]
                        best_k[b] = k
            for b in range(count):
                k = best_k[b]
                wb = w[b]
                labels[first + b] = k
                distances[first + b] = best_d[b]
                for i in range(D):
                    chunk_sums[ch, k, i] += wb * xt[i, b]
                chunk_counts[ch, k] += wb
    sums = np.zeros((K, D))
    counts = np.zeros(K)
    for ch in range(n_chunks):
        sums += chunk_sums[ch]
        counts += chunk_counts[ch]
    return sums, counts


def _as_3d(prec_t):
    return prec_t if prec_t.ndim == 3 else prec_t[:, None, :]


def _n_chunks(N, K, D, full):
    """gmm_chunks of csrc/cpu/gmm.h: the fixed partition of the blocks, by N, K and D only."""
    n_blocks = -(-N // GMM_BLOCK)
    stats_bytes = 8 * (K + K * D + (K * D * D if full else K * D))
    return max(1, min(n_blocks, GMM_MAX_CHUNKS, max(1, GMM_CHUNK_BYTES // stats_bytes)))


_NO_WEIGHTS = read_only(np.ones(0))  # the weights argument of an unweighted pass (one array type for both)
_NO_LABELS = np.empty(0, dtype=np.int64)
_weighted_log_prob_kernel = Variants(_weighted_log_prob_blocks, GMM_PARALLEL_WORK)
_em_pass_kernel = Variants(_em_pass_chunks, GMM_PARALLEL_WORK)
_score_rows_kernel = Variants(_score_rows_blocks, GMM_PARALLEL_WORK)
_kmeans_seed_kernel = Variants(_kmeans_seed_blocks, GMM_PARALLEL_WORK)
_kmeans_step_kernel = Variants(_kmeans_step_chunks, GMM_PARALLEL_WORK)


class Kernels(HostKernels):
    @staticmethod
    def _weighted_log_prob(X, means_t, prec_t, full, bias, out):
        _weighted_log_prob_kernel(X.size * means_t.shape[1], read_only(X), means_t, _as_3d(prec_t), bool(full), bias, out)

    @staticmethod
    def _score_rows(X, means_t, prec_t, full, bias, log_norm, labels, proba):
        # unwanted outputs as empty arrays of the wanted types: one compiled kernel per dtype
        _score_rows_kernel(X.size * means_t.shape[1], read_only(X), means_t, _as_3d(prec_t), bool(full), bias, log_norm,
                           _NO_LABELS if labels is None else labels, labels is not None,
                           np.empty((0, 0), dtype=X.dtype) if proba is None else proba, proba is not None)

    @staticmethod
    def _em_pass(X, means_t, prec_t, full, bias, nk, s1, s2, weights):
        N, D = X.shape
        K = means_t.shape[1]
        weighted = weights is not None
        log_likelihood, nk_sum, s1_sum, s2_sum = _em_pass_kernel(
            N * D * K, read_only(X), read_only(weights) if weighted else _NO_WEIGHTS, weighted, means_t, _as_3d(prec_t), bool(full), bias,
            _n_chunks(N, K, D, bool(full)),
        )
        nk[:] = nk_sum
        s1[:] = s1_sum
        s2[:] = s2_sum.reshape(s2.shape)
        return log_likelihood

    @staticmethod
    def _kmeans_seed(X, weights, first_index, uniforms, indices):
        N, D = X.shape
        weighted = weights is not None
        # any partition of the blocks gives the same sums (each block's is kept): gmm_chunks's
        n_chunks = _n_chunks(N, 1, D, False)
        _kmeans_seed_kernel(N * D * max(uniforms.shape[1], 1), read_only(X),
                            read_only(weights) if weighted else _NO_WEIGHTS, weighted,
                            first_index, uniforms, n_chunks, indices)

    @staticmethod
    def _kmeans_step(X, weights, centres, labels, distances, sums, counts):
        N, D = X.shape
        K = centres.shape[0]
        weighted = weights is not None
        sums[:], counts[:] = _kmeans_step_kernel(N * K * D, read_only(X), read_only(weights) if weighted else _NO_WEIGHTS,
                                                 weighted,
                                                 centres, _n_chunks(N, K, D, False), labels, distances)


NUMBA_DEPENDENCIES = {
    "fastgen._constants": "357de233da57d201",
    "fastgen._numba": "ed1a5bbaf7344969",
    "fastgen._numba_math": "90e6c4648a2765f0",
}
