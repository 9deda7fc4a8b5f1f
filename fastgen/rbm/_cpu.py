"""The `cpu` backend of the binary RBM family: csrc/cpu/rbm.h through fastgen._core.rbm."""
import numpy as np

from .._core import rbm as _core
from ._kernels import RbmKernels, row_scales


class Kernels(RbmKernels):
    sparse_products = True

    def bernoulli(self, logits, bias, seed, call, stream, first_row=0):
        state = np.empty_like(logits)
        _core.bernoulli_logits(logits, bias, logits, state, seed, call, stream, first_row)
        return state, logits

    def bernoulli_binary(self, states, W, bias, seed, call, stream, first_row=0):
        prob = np.empty((states.shape[0], W.shape[1]), dtype=W.dtype)
        state = np.empty_like(prob)
        _core.bernoulli_binary(states, W, bias, prob, state, seed, call, stream, first_row)
        return state, prob

    def outer_pair(self, a, values_a, scale_a, b, values_b, scale_b):
        out = np.empty((a.shape[1], values_a.shape[1]), dtype=values_a.dtype)
        _core.outer_pair(a, values_a, scale_a, b, values_b, scale_b, out)
        return out

    def free_energy(self, logits, hidden_bias, visible_term, row_scale=None):
        out = np.empty(logits.shape[0], dtype=np.float64)
        _core.free_energy(logits, hidden_bias, row_scales(np, logits, row_scale),
                          np.ascontiguousarray(visible_term, dtype=np.float64), out)
        return out

    def ais(self, W, b, c, base, betas, seed, n_chains, first_chain=0):
        gain = b.astype(np.float64) - base.astype(np.float64)
        return _core.ais_rbm(W, np.ascontiguousarray(W.T), b, c, base, gain, betas, seed, n_chains, first_chain)
