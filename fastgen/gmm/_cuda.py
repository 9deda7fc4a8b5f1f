"""The `cuda` backend of the Gaussian-mixture family (interface in _kernels.py).

csrc/cuda/gmm.cu evaluates the per-point math of gmm.h (one thread per point) into a
chunk of responsibilities; cuBLAS (CuPy batched matmul) reduces the chunk into the
statistics centred on the means (score_rows: the same math reduced per point, score_point of
gmm.h, to log p(x), labels and responsibilities). Chunks bound the GPU memory: the (rows, K) float64
responsibilities and the (K, rows, D) centred and weighted rows stay under _CHUNK_BYTES.

The k-means of the initialisation: the same algorithm as the CPU backends' (greedy k-means++
from the same draws, one Lloyd iteration per call), with the per-point distances of gmm.h in
csrc/cuda/gmm.cu and CuPy's cumulative sums, searchsorted and bincount around them (its sums
in CuPy's order: the seeds and labels are the CPU backends' unless rounding decides a pick)."""
import cupy as cp
import numpy as np

from .._cuda import kernel, suffix
from ._kernels import GmmKernels

_CHUNK_BYTES = 1 << 29
_SHARED_BYTES = 48 * 1024  # dynamic shared memory a block may take without opting in


def _point_grid(X, full):
    """(grid, block, shared bytes) of the one-thread-per-point kernels, whose scratch (gmm.h's
    weighted_log_prob_work for one component) lives in dynamic shared memory."""
    N, D = X.shape
    per_thread = ((D + 2) if full else 2) * X.dtype.itemsize
    threads = min(256, _SHARED_BYTES // per_thread // 32 * 32)
    if threads < 32:
        most = _SHARED_BYTES // 32 // X.dtype.itemsize - 2
        raise ValueError(f"the cuda backend takes at most {most} features, got {D}")
    return (max(1, min((N + threads - 1) // threads, 65535)),), (threads,), threads * per_thread


def _launch(X, means_t, prec_t, full, bias, normalise, out, log_norm, weights=None):
    """gmm_estep over the rows of X; `weights` (device float64, one per row) or None."""
    N, D = X.shape
    K = means_t.shape[1]
    grid, block, shared = _point_grid(X, full)
    kernel("gmm", "gmm_estep_" + suffix(X.dtype))(
        grid, block,
        (X, means_t, prec_t, np.bool_(full), bias, np.uint64(N), np.int64(K), np.int64(D), np.bool_(normalise),
         bias if weights is None else weights, np.bool_(weights is not None), out, log_norm),
        shared_mem=shared,
    )


def _grid(N):
    return (max(1, min((N + 255) // 256, 65535)),), (256,)


def _kmeans_distances(X, centres):
    """(C, N) float64 squared distances of the rows of X (device) to centres (C, D) (device float64)."""
    N, D = X.shape
    out = cp.empty((centres.shape[0], N))
    kernel("gmm", "gmm_kmeans_distances_" + suffix(X.dtype))(
        *_grid(N), (X, np.uint64(N), np.int64(D), centres, np.int64(centres.shape[0]), out))
    return out


class Kernels(GmmKernels):
    def _device(self, X, means_t, prec_t, bias):
        return (cp.ascontiguousarray(cp.asarray(a)) for a in (X, means_t, prec_t, bias))

    def weighted_log_prob(self, X, means_t, prec_t, full, bias):
        X, means_t, prec_t, bias = self._device(X, means_t, prec_t, bias)
        out = cp.empty((X.shape[0], means_t.shape[1]), dtype=cp.float64)
        _launch(X, means_t, prec_t, full, bias, False, out, out)
        return out.get()

    def score_rows(self, X, means_t, prec_t, full, bias, labels=False, proba=False):
        X, means_t, prec_t, bias = self._device(X, means_t, prec_t, bias)
        N, D = X.shape
        K = means_t.shape[1]
        log_norm = cp.empty(N)
        label_out = cp.empty(N if labels else 1, dtype=cp.int64)
        proba_out = cp.empty((N, K) if proba else (1, 1), dtype=X.dtype)
        # the log densities of a chunk of rows at a time, in device scratch under _CHUNK_BYTES
        rows = max(1, min(N, _CHUNK_BYTES // (8 * K)))
        scratch = cp.empty((rows, K))
        for start in range(0, N, rows):
            chunk = X[start:start + rows]
            n = chunk.shape[0]
            grid, block, shared = _point_grid(chunk, full)
            kernel("gmm", "gmm_score_" + suffix(X.dtype))(
                grid, block,
                (chunk, means_t, prec_t, np.bool_(full), bias, np.uint64(n), np.int64(K), np.int64(D), scratch,
                 log_norm[start:], label_out[start:] if labels else label_out, np.bool_(labels),
                 proba_out[start:] if proba else proba_out, np.bool_(proba)),
                shared_mem=shared,
            )
        return log_norm.get(), label_out.get() if labels else None, proba_out.get() if proba else None

    def em_pass(self, X, means_t, prec_t, full, bias, weights=None):
        X, means_t, prec_t, bias = self._device(X, means_t, prec_t, bias)
        if weights is not None:
            weights = cp.ascontiguousarray(cp.asarray(weights, dtype=cp.float64))
        N, D = X.shape
        K = means_t.shape[1]
        rows = max(1, min(N, _CHUNK_BYTES // (8 * K * (2 * D + 1))))
        nk = cp.zeros(K)
        s1 = cp.zeros((K, D))
        s2 = cp.zeros((K, D, D) if full else (K, D))
        log_likelihood = cp.zeros(())
        resp = cp.empty((rows, K))
        log_norm = cp.empty(rows)
        for start in range(0, N, rows):
            chunk = X[start:start + rows]
            n = chunk.shape[0]
            _launch(chunk, means_t, prec_t, full, bias, True, resp[:n], log_norm[:n],
                    None if weights is None else weights[start:start + n])
            r = resp[:n]  # times the sample weights, when given
            centred = (chunk[None, :, :] - means_t.T[:, None, :]).astype(cp.float64)  # (K, n, D), as in the kernel
            weighted = r.T[:, :, None] * centred
            log_likelihood += log_norm[:n].sum()
            nk += r.sum(axis=0)
            s1 += weighted.sum(axis=1)
            s2 += cp.matmul(weighted.transpose(0, 2, 1), centred) if full else (weighted * centred).sum(axis=1)
        return float(log_likelihood), nk.get(), s1.get(), s2.get()

    def kmeans_seed(self, X, weights, first_index, uniforms):
        X = cp.ascontiguousarray(cp.asarray(X))
        N = X.shape[0]
        w = cp.ones(N) if weights is None else cp.asarray(weights, dtype=cp.float64)
        seeds = [int(first_index)]
        closest = _kmeans_distances(X, X[[first_index]].astype(cp.float64))[0]
        for u in np.asarray(uniforms, dtype=np.float64):
            weighted = w * closest
            cumulative = cp.cumsum(weighted)
            candidates = cp.minimum(cp.searchsorted(cumulative, cp.asarray(u) * weighted.sum()), N - 1)
            tried = cp.minimum(closest[None, :], _kmeans_distances(X, X[candidates].astype(cp.float64)))
            best = int(cp.argmin(tried @ w))
            seeds.append(int(candidates[best]))
            closest = tried[best]
        return np.array(seeds, dtype=np.int64)

    def kmeans_step(self, X, weights, centres):
        X = cp.ascontiguousarray(cp.asarray(X))
        N, D = X.shape
        centres = cp.ascontiguousarray(cp.asarray(centres, dtype=cp.float64))
        K = centres.shape[0]
        labels = cp.empty(N, dtype=cp.int64)
        distances = cp.empty(N)
        kernel("gmm", "gmm_kmeans_assign_" + suffix(X.dtype))(
            *_grid(N), (X, np.uint64(N), np.int64(D), centres, np.int64(K), labels, distances))
        w = cp.ones(N) if weights is None else cp.asarray(weights, dtype=cp.float64)
        weighted_rows = X.astype(cp.float64) * w[:, None]
        sums = cp.stack([cp.bincount(labels, weights=weighted_rows[:, i], minlength=K) for i in range(D)], axis=1)
        counts = cp.bincount(labels, weights=w, minlength=K)
        return labels.get(), distances.get(), sums.get(), counts.get()
