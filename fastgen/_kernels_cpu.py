"""The `cpu` backend: fused epilogues from the C++ extension, GEMMs through NumPy's BLAS.

Every backend's kernels object offers the same methods, on its own arrays (`xp`):
  bernoulli(logits, bias, seed, call, stream) -> (state, prob)
      prob = sigmoid(logits + bias) (computed in place of `logits`), state ~ Bernoulli(prob)
  sparse_products: whether the two methods below exist (CPU backends only)
  bernoulli_binary(states, W, bias, seed, call, stream) -> (state, prob)
      the same draws with logits = states @ W for binary `states` (C-contiguous W),
      computed as sums of the selected rows of W
  outer_pair(a, values_a, scale_a, b, values_b, scale_b) -> out
      scale_a * a^T @ values_a + scale_b * b^T @ values_b for binary `a`, `b`
      (the CD weight gradient), as sums of selected rows
  random_binary(shape, dtype, seed, call) -> state with P(1) = 1/2
  free_energy(logits, hidden_bias, visible_term) -> float64 (rows,)
      -visible_term - sum_j softplus(logits + hidden_bias)
  uniforms(n, seed, call, stream) -> float32 (n,), the Philox uniforms themselves
  ais_rbm(W, b, c, base, betas, seed, n_chains) -> float64 (n_chains,)
      the log importance weights of annealed importance sampling from the base model
      (visible bias `base`, no weights) to the RBM through float64 `betas`
      (csrc/include/fastgen/ais.h), every chain walking all betas in one call
  mean_field_update(first, second, bias, damping, mu, changes, slot, tol) -> None
      one DBM mean-field layer update in place (csrc/include/fastgen/dbm.h):
      mu <- (1 - damping) sigmoid(first + second + bias) + damping mu (second may be None),
      its largest |change| folded into changes[slot] (a 1-D array of mu's dtype); the
      update is skipped when tol > 0, slot > 0 and changes[slot - 1] < tol, so that sweeps
      run past convergence change nothing and the caller reads `changes` when it likes
  gaussian(means, bias, sigma, seed, call, stream) -> (state, mean)
      the Gaussian-Bernoulli RBM's visible half-step (csrc/include/fastgen/gbrbm.h):
      mean = means + bias (computed in place of `means`, the product h W^T), state =
      mean + sigma * z with z the Philox normals of csrc/include/fastgen/normal.h
The Philox counter layout is documented in csrc/include/fastgen/philox.h.
"""
import numpy as np

from . import _core


class CpuKernels:
    name = "cpu"
    xp = np
    sparse_products = True  # has bernoulli_binary and outer_pair

    @staticmethod
    def set_num_threads(n):
        _core.set_num_threads(n)

    @staticmethod
    def get_num_threads():
        return _core.get_num_threads()

    def bernoulli(self, logits, bias, seed, call, stream):
        state = np.empty_like(logits)
        _core.rbm.bernoulli_logits(logits, bias, logits, state, seed, call, stream)
        return state, logits

    def bernoulli_binary(self, states, W, bias, seed, call, stream):
        prob = np.empty((states.shape[0], W.shape[1]), dtype=W.dtype)
        state = np.empty_like(prob)
        _core.rbm.bernoulli_binary(states, W, bias, prob, state, seed, call, stream)
        return state, prob

    def outer_pair(self, a, values_a, scale_a, b, values_b, scale_b):
        out = np.empty((a.shape[1], values_a.shape[1]), dtype=values_a.dtype)
        _core.rbm.outer_pair(a, values_a, scale_a, b, values_b, scale_b, out)
        return out

    def random_binary(self, shape, dtype, seed, call):
        state = np.empty(shape, dtype=dtype)
        _core.random.random_binary(state, seed, call)
        return state

    def free_energy(self, logits, hidden_bias, visible_term):
        out = np.empty(logits.shape[0], dtype=np.float64)
        _core.rbm.free_energy(logits, hidden_bias, np.ascontiguousarray(visible_term, dtype=np.float64), out)
        return out

    def uniforms(self, n, seed, call, stream):
        return _core.random.uniforms(n, seed, call, stream)

    def ais_rbm(self, W, b, c, base, betas, seed, n_chains):
        gain = b.astype(np.float64) - base.astype(np.float64)
        return _core.rbm.ais_rbm(W, np.ascontiguousarray(W.T), b, c, base, gain, betas, seed, n_chains)

    def mean_field_update(self, first, second, bias, damping, mu, changes, slot, tol):
        _core.dbm.mean_field_update(first, second, bias, damping, mu, changes, slot, tol)

    def gaussian(self, means, bias, sigma, seed, call, stream):
        state = np.empty_like(means)
        _core.gbrbm.gaussian(means, bias, sigma, means, state, seed, call, stream)
        return state, means
