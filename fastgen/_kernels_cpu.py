"""The `cpu` backend: fused epilogues from the C++ extension, GEMMs through NumPy's BLAS.

Every backend's kernels object offers the same methods, on its own arrays (`xp`):
  bernoulli(logits, bias, seed, call, stream) -> (state, prob)
      prob = sigmoid(logits + bias) (computed in place of `logits`), state ~ Bernoulli(prob)
  random_binary(shape, dtype, seed, call) -> state with P(1) = 1/2
  free_energy(logits, hidden_bias, visible_term) -> float64 (rows,)
      -visible_term - sum_j softplus(logits + hidden_bias)
  uniforms(n, seed, call, stream) -> float32 (n,), the Philox uniforms themselves
The Philox counter layout is documented in csrc/include/fastgen/philox.h.
"""
import numpy as np

from . import _core


class CpuKernels:
    name = "cpu"
    xp = np

    @staticmethod
    def set_num_threads(n):
        _core.set_num_threads(n)

    @staticmethod
    def get_num_threads():
        return _core.get_num_threads()

    def bernoulli(self, logits, bias, seed, call, stream):
        state = np.empty_like(logits)
        _core.bernoulli_logits(logits, bias, logits, state, seed, call, stream)
        return state, logits

    def random_binary(self, shape, dtype, seed, call):
        state = np.empty(shape, dtype=dtype)
        _core.random_binary(state, seed, call)
        return state

    def free_energy(self, logits, hidden_bias, visible_term):
        out = np.empty(logits.shape[0], dtype=np.float64)
        _core.free_energy(logits, hidden_bias, np.ascontiguousarray(visible_term, dtype=np.float64), out)
        return out

    def uniforms(self, n, seed, call, stream):
        return _core.uniforms(n, seed, call, stream)
