"""The `numba` backend: the fused epilogues as Numba kernels, GEMMs through NumPy's BLAS.

Same methods as CpuKernels (see _kernels_cpu.py). Each kernel mirrors the per-element
code of csrc/include/fastgen/rbm.h operation for operation (float32 stays float32), so
that `cpu` and `numba` round identically and give bit-identical samples."""
import numba
import numpy as np
from numba import njit, prange

from ._philox import philox_block, uniform_open01


@njit(cache=True, inline="always")
def _sigmoid(x, one):
    if x >= 0:
        return one / (one + np.exp(-x))
    e = np.exp(x)
    return e / (one + e)


@njit(cache=True, inline="always")
def _softplus(x, zero):
    if x > zero:
        return x + np.log1p(np.exp(-x))
    return zero + np.log1p(np.exp(x))


@njit(cache=True, parallel=True)
def _bernoulli_logits(logits, bias, prob, state, seed, call, stream):
    flat_in = logits.reshape(-1)
    flat_prob = prob.reshape(-1)
    flat_state = state.reshape(-1)
    n = flat_in.size
    n_cols = logits.shape[1]
    one = logits.dtype.type(1)
    zero = logits.dtype.type(0)
    for g in prange((n + 3) // 4):
        words = philox_block(seed, call, stream, g)
        for k in range(4):
            i = g * 4 + k
            if i < n:
                p = _sigmoid(flat_in[i] + bias[i % n_cols], one)
                flat_prob[i] = p
                flat_state[i] = one if logits.dtype.type(uniform_open01(words[k])) < p else zero


@njit(cache=True, parallel=True)
def _random_binary(state, seed, call):
    flat = state.reshape(-1)
    n = flat.size
    one = state.dtype.type(1)
    zero = state.dtype.type(0)
    for g in prange((n + 3) // 4):
        words = philox_block(seed, call, 2, g)  # stream 2 = STREAM_INIT in rbm.h
        for k in range(4):
            i = g * 4 + k
            if i < n:
                flat[i] = one if (words[k] >> np.uint64(31)) != 0 else zero


@njit(cache=True, parallel=True)
def _free_energy(logits, hidden_bias, visible_term, out):
    zero = logits.dtype.type(0)
    for r in prange(logits.shape[0]):
        total = 0.0
        for j in range(logits.shape[1]):
            total += np.float64(_softplus(logits[r, j] + hidden_bias[j], zero))
        out[r] = -visible_term[r] - total


@njit(cache=True, parallel=True)
def _uniforms(out, seed, call, stream):
    n = out.size
    for g in prange((n + 3) // 4):
        words = philox_block(seed, call, stream, g)
        for k in range(4):
            if g * 4 + k < n:
                out[g * 4 + k] = uniform_open01(words[k])


class NumbaKernels:
    name = "numba"
    xp = np

    @staticmethod
    def set_num_threads(n):
        numba.set_num_threads(n)

    @staticmethod
    def get_num_threads():
        return numba.get_num_threads()

    def bernoulli(self, logits, bias, seed, call, stream):
        state = np.empty_like(logits)
        _bernoulli_logits(logits, bias, logits, state, np.uint64(seed), np.uint64(call), np.uint64(stream))
        return state, logits

    def random_binary(self, shape, dtype, seed, call):
        state = np.empty(shape, dtype=dtype)
        _random_binary(state, np.uint64(seed), np.uint64(call))
        return state

    def free_energy(self, logits, hidden_bias, visible_term):
        out = np.empty(logits.shape[0], dtype=np.float64)
        _free_energy(logits, hidden_bias, np.asarray(visible_term, dtype=np.float64), out)
        return out

    def uniforms(self, n, seed, call, stream):
        out = np.empty(n, dtype=np.float32)
        _uniforms(out, np.uint64(seed), np.uint64(call), np.uint64(stream))
        return out
