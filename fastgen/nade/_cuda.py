"""The `cuda` backend of the NADE family: csrc/cuda/nade.cu, one block per example running
its D steps in one launch (the hidden units shared among the block's threads)."""
import cupy as cp
import numpy as np

from .._cuda import kernel, suffix
from ._kernels import NadeKernels

_THREADS = 128  # threads per block: a power of two (the block reduction halves it)
_MAX_BLOCKS = 4096  # blocks per launch; each holds a scratch row of its own


class Kernels(NadeKernels):
    def _model(self, W, V, b, c):
        return tuple(cp.ascontiguousarray(a) for a in (W, V, b, c))

    def _grid(self, n, width, dtype):
        blocks = max(1, min(n, _MAX_BLOCKS))
        return blocks, cp.empty((blocks, width), dtype=dtype)

    def _run(self, function, dtype, blocks, args):
        kernel("nade", f"nade_{function}_{suffix(dtype)}")((blocks,), (_THREADS,), args,
                                                            shared_mem=_THREADS * dtype.itemsize)

    def log_likelihood(self, v, W, V, b, c):
        W, V, b, c = self._model(W, V, b, c)
        n, (D, H) = v.shape[0], W.shape
        out = cp.empty(n, dtype=cp.float64)
        blocks, scratch = self._grid(n, H, W.dtype)
        self._run("log_likelihood", W.dtype, blocks,
                  (cp.ascontiguousarray(v), W, V, b, c, np.int64(n), np.int64(D), np.int64(H), scratch, out))
        return out

    def gradient(self, v, W, V, b, c, scale):
        W, V, b, c = self._model(W, V, b, c)
        n, (D, H) = v.shape[0], W.shape
        grad = cp.zeros(2 * D * H + D + H, dtype=W.dtype)
        log_p = cp.empty(n, dtype=cp.float64)
        blocks, scratch = self._grid(n, 2 * H + D, W.dtype)
        self._run("gradient", W.dtype, blocks,
                  (cp.ascontiguousarray(v), W, V, b, c, np.int64(n), np.int64(D), np.int64(H), W.dtype.type(scale),
                   scratch, grad, log_p))
        return grad, log_p

    def sample(self, n, W, V, b, c, seed, call):
        W, V, b, c = self._model(W, V, b, c)
        D, H = W.shape
        out = cp.empty((n, D), dtype=W.dtype)
        if n:
            blocks, scratch = self._grid(n, H, W.dtype)
            self._run("sample", W.dtype, blocks,
                      (W, V, b, c, np.int64(n), np.int64(D), np.int64(H), np.uint64(seed), np.uint32(call), scratch,
                       out))
        return out
