"""The E-step kernels of fastgen.GaussianMixture on each backend, behind one interface.

  weighted_log_prob(X, means_t, prec_t, full, bias) -> (N, K) float64
      log(w_k N(x_n | mean_k, cov_k)), parameters laid out as in csrc/include/fastgen/gmm.h
  em_pass(X, means_t, prec_t, full, bias) -> (sum_n log p(x_n), nk (K,), s1 (K, D), s2)
      the fused E-step: responsibilities reduced at once into float64 sufficient statistics
      centred on the means the log densities used (mean_k = means_t[:, k] as float64):
      nk = sum r_k, s1 = sum r_k (x - mean_k), s2 = sum r_k (x - mean_k)(x - mean_k)^T as
      (K, D, D) when `full`, else its diagonal (K, D). The N x K responsibilities are never stored.
X, means_t, prec_t are NumPy arrays of one float dtype (the GPU backend copies them over).
"""
from __future__ import annotations

import numpy as np


def _symmetric_from_upper(s2_upper):
    """(D, D, K) upper triangles (j >= i) -> (K, D, D) symmetric matrices."""
    upper = np.triu(np.moveaxis(s2_upper, -1, 0))
    return upper + np.swapaxes(np.triu(upper, 1), 1, 2)


class _TransposedStatsKernels:
    """Backends whose pass writes the statistics component-last: nk (K), s1 (D, K), s2 (D, D, K) or (D, K)."""

    def em_pass(self, X, means_t, prec_t, full, bias):
        D, K = means_t.shape
        nk = np.zeros(K)
        s1 = np.zeros((D, K))
        s2 = np.zeros((D, D, K) if full else (D, K))
        log_likelihood = self._em_pass(X, means_t, prec_t, full, bias, nk, s1, s2)
        return float(log_likelihood), nk, np.ascontiguousarray(s1.T), _symmetric_from_upper(s2) if full else s2.T.copy()

    def weighted_log_prob(self, X, means_t, prec_t, full, bias):
        out = np.empty((X.shape[0], means_t.shape[1]))
        self._weighted_log_prob(X, means_t, prec_t, full, bias, out)
        return out


class CpuGmmKernels(_TransposedStatsKernels):
    def __init__(self):
        from . import _core

        self._em_pass = _core.gmm.em_pass
        self._weighted_log_prob = _core.gmm.weighted_log_prob


class NumbaGmmKernels(_TransposedStatsKernels):
    def __init__(self):
        from . import _numba_gmm

        self._em_pass = _numba_gmm.em_pass
        self._weighted_log_prob = _numba_gmm.weighted_log_prob


def gmm_kernels(backend: str):
    """The GMM kernels of an available backend name ("cpu", "numba", "cuda")."""
    if backend == "cpu":
        return CpuGmmKernels()
    if backend == "numba":
        return NumbaGmmKernels()
    from ._gmm_cuda import CudaGmmKernels

    return CudaGmmKernels()
