"""The `cuda` backend of the binary RBM family: csrc/cuda/rbm.cu, GEMMs through cuBLAS (CuPy).
One thread per Philox block of four elements, so that the draws are those of the CPU
backends whatever the launch geometry; AIS runs in one launch, one block per chain."""
import cupy as cp
import numpy as np

from .._cuda import THREADS, grid, kernel, suffix
from ._kernels import RbmKernels, row_scales


class Kernels(RbmKernels):
    sparse_products = False  # cuBLAS beats sums of selected rows on the GPU

    def bernoulli(self, logits, bias, seed, call, stream, first_row=0):
        logits = cp.ascontiguousarray(logits)
        state = cp.empty_like(logits)
        n, n_cols = logits.size, logits.shape[1]
        begin = first_row * n_cols  # the Philox blocks of the whole batch's elements begin .. begin + n - 1
        kernel("rbm", "bernoulli_logits_" + suffix(logits.dtype))(
            *grid((begin + n + 3) // 4 - begin // 4),
            (logits, cp.ascontiguousarray(bias), logits, state, np.uint64(n), np.uint64(n_cols), np.uint64(first_row),
             np.uint64(seed), np.uint32(call), np.uint32(stream)))
        return state, logits

    def bernoulli_binary(self, states, W, bias, seed, call, stream, first_row=0):
        return self.bernoulli(states @ W, bias, seed, call, stream, first_row)

    def outer_pair(self, a, values_a, scale_a, b, values_b, scale_b):
        out = a.T @ values_a
        out *= scale_a
        out += (b.T @ values_b) * scale_b
        return out

    def free_energy(self, logits, hidden_bias, visible_term, row_scale=None):
        logits = cp.ascontiguousarray(logits)
        out = cp.empty(logits.shape[0], dtype=cp.float64)
        kernel("rbm", "free_energy_" + suffix(logits.dtype))(
            *grid(logits.shape[0]), (logits, cp.ascontiguousarray(hidden_bias), row_scales(cp, logits, row_scale),
                                     cp.ascontiguousarray(visible_term, dtype=cp.float64), out,
                                     np.uint64(logits.shape[0]), np.uint64(logits.shape[1])))
        return out

    def ais(self, W, b, c, base, betas, seed, n_chains, first_chain=0):
        # one block per chain (up to the grid limit; blocks then take further chains)
        n_visible, n_hidden = W.shape
        gain = b.astype(cp.float64) - base.astype(cp.float64)
        log_w = cp.empty(n_chains, dtype=cp.float64)
        shared = THREADS * 8 + (n_visible + n_hidden) * W.dtype.itemsize
        if shared > 48 * 1024:
            raise ValueError(f"W of shape {tuple(W.shape)}: AIS on the GPU keeps a chain's states in shared memory, "
                             f"and {n_visible + n_hidden} {W.dtype} units need more than 48 KiB")
        kernel("rbm", "ais_rbm_" + suffix(W.dtype))(
            (min(n_chains, 65535),), (THREADS,),
            (cp.ascontiguousarray(W), cp.ascontiguousarray(W.T), cp.ascontiguousarray(b), cp.ascontiguousarray(c),
             cp.ascontiguousarray(base), gain, cp.ascontiguousarray(betas, dtype=cp.float64), np.int64(betas.size),
             np.uint64(n_visible), np.uint64(n_hidden), np.uint64(seed), np.uint64(first_chain), np.uint64(n_chains),
             log_w),
            shared_mem=shared)
        return log_w
