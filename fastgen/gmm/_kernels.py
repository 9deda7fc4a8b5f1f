"""The kernel interface of the Gaussian-mixture family: the E-step (per-point math in
csrc/include/fastgen/gmm.h) on NumPy arrays of one float dtype; the `cuda` backend copies
them to the device. Implemented by `Kernels` in _cpu.py, _numba.py and _cuda.py;
tests/test_layout.py checks that each implements every method here.

Parameters, component index last, as gmm.h lays them out: means_t (D, K); prec_t (D, D, K)
(full: the upper-triangular Cholesky factor of each precision; tied: one repeated) or
(D, K) (diagonal and spherical factors); bias (K,) float64 = log w_k + log det U_k -
D/2 log 2 pi; `full` says which.
"""
import abc

import numpy as np


class GmmKernels(abc.ABC):
    @abc.abstractmethod
    def weighted_log_prob(self, X, means_t, prec_t, full, bias):
        """(N, K) float64: log(w_k N(x_n | mean_k, cov_k))."""

    @abc.abstractmethod
    def score_rows(self, X, means_t, prec_t, full, bias, labels=False, proba=False):
        """(log_norm, labels, proba) of the rows of X in one pass over them (score_point of gmm.h):
        log_norm (N,) float64 = log p(x_n) = log sum_k exp(weighted_log_prob), -inf for a point
        of zero density under every component; with `labels`, (N,) int64, the first k of the
        largest weighted log density (else None); with `proba`, (N, K) of X's dtype, the
        responsibilities exp(weighted_log_prob - log_norm) as em_pass computes them (below
        e^-500 exactly 0; NaN in a row of zero density), else None. No other N x K array."""

    @abc.abstractmethod
    def em_pass(self, X, means_t, prec_t, full, bias, weights=None):
        """(sum_n w_n log p(x_n), nk (K,), s1 (K, D), s2): the fused E-step, the responsibilities
        reduced at once into float64 sufficient statistics centred on the means the log
        densities used (mean_k = means_t[:, k] as float64): nk = sum w r_k, s1 = sum w r_k (x -
        mean_k), s2 = sum w r_k (x - mean_k)(x - mean_k)^T as (K, D, D) when `full`, else its
        diagonal (K, D). The N x K responsibilities are never stored.

        weights: None (every w_n = 1, the unweighted pass bit for bit) or (N,) float64, C-contiguous,
        non-negative sample weights: a point of weight w counts as w copies of itself
        (weighted_responsibilities in gmm.h)."""

    @abc.abstractmethod
    def kmeans_seed(self, X, weights, first_index, uniforms):
        """(K,) int64: the rows of X chosen as seeds by greedy k-means++ (scikit-learn's
        _kmeans_plusplus), K = len(uniforms) + 1. The first is first_index; seed c >= 1 is the
        best of L = uniforms.shape[1] candidates, each the first row n at which the cumulative
        sum of w_n closest_n reaches uniforms[c - 1, l] times its total (closest_n: the squared
        distance of row n to its nearest seed so far, in float64): the candidate that leaves the
        smallest sum of w min(closest, its squared distance), the first of equals. Sums in the
        fixed order of csrc/cpu/gmm_kmeans.h (bit-identical on cpu and numba, any thread count).
        weights: None (all 1) or (N,) float64 non-negative, C-contiguous."""

    @abc.abstractmethod
    def kmeans_step(self, X, weights, centres):
        """One Lloyd iteration against centres (K, D) float64: (labels (N,) int64, the nearest
        centre of each row, the first of equals; distances (N,) float64, its squared distance;
        sums (K, D) float64 = sum of w x over each centre's rows; counts (K,) = sum of w there).
        Distances in float64 whatever X's dtype; sums in the fixed order of
        csrc/cpu/gmm_kmeans.h. weights as in kmeans_seed."""


def _symmetric_from_upper(s2_upper):
    """(K, D, D) upper triangles (j >= i) -> (K, D, D) symmetric matrices."""
    upper = np.triu(s2_upper)
    return upper + np.swapaxes(np.triu(upper, 1), 1, 2)


class HostKernels(GmmKernels):
    """The CPU backends: their passes write the statistics nk (K), s1 (K, D), s2 (K, D, D)
    upper triangle or (K, D), through `_em_pass`, `_score_rows` and `_weighted_log_prob`, summed in the
    fixed order of csrc/cpu/gmm.h (blocks, a tree within each, chunks) whatever the thread
    count."""

    @staticmethod
    @abc.abstractmethod
    def _em_pass(X, means_t, prec_t, full, bias, nk, s1, s2, weights):
        """Fills nk, s1, s2 (zeros on entry) and returns sum_n w_n log p(x_n) (weights None: all 1)."""

    @staticmethod
    @abc.abstractmethod
    def _weighted_log_prob(X, means_t, prec_t, full, bias, out):
        """Fills out (N, K)."""

    @staticmethod
    @abc.abstractmethod
    def _score_rows(X, means_t, prec_t, full, bias, log_norm, labels, proba):
        """Fills log_norm (N,) and labels (N,) int64 and proba (N, K) of X's dtype where not None."""

    @staticmethod
    @abc.abstractmethod
    def _kmeans_seed(X, weights, first_index, uniforms, indices):
        """Fills indices (K,) int64 (weights None: all 1)."""

    @staticmethod
    @abc.abstractmethod
    def _kmeans_step(X, weights, centres, labels, distances, sums, counts):
        """Fills labels (N,) int64, distances (N,), sums (K, D) and counts (K,) float64."""

    def em_pass(self, X, means_t, prec_t, full, bias, weights=None):
        D, K = means_t.shape
        nk = np.zeros(K)
        s1 = np.zeros((K, D))
        s2 = np.zeros((K, D, D) if full else (K, D))
        log_likelihood = self._em_pass(X, means_t, prec_t, full, bias, nk, s1, s2, _float64_or_none(weights))
        return float(log_likelihood), nk, s1, _symmetric_from_upper(s2) if full else s2

    def weighted_log_prob(self, X, means_t, prec_t, full, bias):
        out = np.empty((X.shape[0], means_t.shape[1]))
        self._weighted_log_prob(X, means_t, prec_t, full, bias, out)
        return out

    def score_rows(self, X, means_t, prec_t, full, bias, labels=False, proba=False):
        N, K = X.shape[0], means_t.shape[1]
        outputs = (np.empty(N), np.empty(N, dtype=np.int64) if labels else None,
                   np.empty((N, K), dtype=X.dtype) if proba else None)
        self._score_rows(X, means_t, prec_t, full, bias, *outputs)
        return outputs

    def kmeans_seed(self, X, weights, first_index, uniforms):
        uniforms = np.ascontiguousarray(uniforms, dtype=np.float64)
        indices = np.empty(uniforms.shape[0] + 1, dtype=np.int64)
        self._kmeans_seed(X, _float64_or_none(weights), int(first_index), uniforms, indices)
        return indices

    def kmeans_step(self, X, weights, centres):
        N, (K, D) = X.shape[0], centres.shape
        labels = np.empty(N, dtype=np.int64)
        distances = np.empty(N)
        sums = np.empty((K, D))
        counts = np.empty(K)
        self._kmeans_step(X, _float64_or_none(weights), np.ascontiguousarray(centres, dtype=np.float64), labels,
                          distances, sums, counts)
        return labels, distances, sums, counts


def _float64_or_none(weights):
    return None if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
