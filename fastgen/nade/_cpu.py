"""The `cpu` backend of the NADE family: csrc/cpu/nade.h through fastgen._core.nade."""
import numpy as np

from .._core import nade as _core
from ._kernels import NadeKernels


class Kernels(NadeKernels):
    def log_likelihood(self, v, W, V, b, c):
        out = np.empty(v.shape[0], dtype=np.float64)
        _core.log_likelihood(v, W, V, b, c, out)
        return out

    def gradient(self, v, W, V, b, c, scale):
        D, H = W.shape
        grad = np.empty(2 * D * H + D + H, dtype=W.dtype)
        log_p = np.empty(v.shape[0], dtype=np.float64)
        _core.gradient(v, W, V, b, c, W.dtype.type(scale), grad, log_p)
        return grad, log_p

    def sample(self, n, W, V, b, c, seed, call):
        out = np.empty((n, W.shape[0]), dtype=W.dtype)
        _core.sample(out, W, V, b, c, seed, call)
        return out
