"""The kernel interface of the binary RBM family: the fused epilogues that follow the GEMMs
(csrc/include/fastgen/rbm.h), on one backend's own arrays. Implemented by `Kernels` in
_cpu.py, _numba.py and _cuda.py; tests/test_layout.py checks that each implements every
method here. Draws follow the Philox layout of csrc/include/fastgen/random.h: element i of
an output uses uniform (seed, call, stream, i).
"""
import abc


def row_scales(xp, logits, row_scale):
    """free_energy's row_scale as its kernels take it: a contiguous (rows,) array of the
    logits' dtype, ones when None."""
    if row_scale is None:
        return xp.ones(logits.shape[0], dtype=logits.dtype)
    return xp.ascontiguousarray(row_scale, dtype=logits.dtype)


class RbmKernels(abc.ABC):
    # Whether bernoulli_binary and outer_pair are sums of selected rows (faster than a GEMM
    # for sparse binary states on the CPU), rather than the GEMM they equal.
    sparse_products: bool

    @abc.abstractmethod
    def bernoulli(self, logits, bias, seed, call, stream, first_row=0):
        """(state, prob): prob = sigmoid(logits + bias), computed in place of `logits`, and
        state ~ Bernoulli(prob), both (rows, n_cols). Row r draws as row first_row + r of a
        larger batch (a block of a batch split over Dask workers)."""

    @abc.abstractmethod
    def bernoulli_binary(self, states, W, bias, seed, call, stream, first_row=0):
        """The draws of `bernoulli` with logits = states @ W, for binary `states` and C-contiguous W."""

    @abc.abstractmethod
    def outer_pair(self, a, values_a, scale_a, b, values_b, scale_b):
        """scale_a a^T @ values_a + scale_b b^T @ values_b for binary `a` and `b` (the CD weight gradient)."""

    @abc.abstractmethod
    def free_energy(self, logits, hidden_bias, visible_term, row_scale=None):
        """float64 (rows,): -visible_term - sum_j softplus(row_scale * (logits + hidden_bias)),
        the argument formed in the logits' dtype, the softplus and the sum in float64
        (free_energy_row of csrc/include/fastgen/rbm.h). row_scale: (rows,) of the logits'
        dtype (a tempered model's beta per row), default ones."""

    @abc.abstractmethod
    def ais(self, W, b, c, base, betas, seed, n_chains, first_chain=0):
        """float64 (n_chains,): the log importance weights of annealed importance sampling from
        the base model (visible bias `base`, no weights) to the RBM through float64 `betas`,
        every chain walking all betas in one call (csrc/include/fastgen/rbm.h): chains
        first_chain .. first_chain + n_chains - 1, whose draws depend on (seed, chain index) only,
        so that a range of chains run alone gives the weights the whole run gives them."""
