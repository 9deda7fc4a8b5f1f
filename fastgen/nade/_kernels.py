"""The kernel interface of the NADE family: the exact log-likelihood, its gradient and
ancestral sampling, each one fused loop over the D sequential steps of every example
(csrc/include/fastgen/nade.h has the model and the math). Implemented by `Kernels` in
_cpu.py, _numba.py and _cuda.py on the backend's own arrays, which are C-contiguous and of
one float dtype: W and V (D, H), b (D,), c (H,), binary rows v (n, D).
tests/test_layout.py checks that each implements every method here.
"""
import abc


class NadeKernels(abc.ABC):
    @abc.abstractmethod
    def log_likelihood(self, v, W, V, b, c):
        """float64 (n,): log p(v_r) of each row, exact, summed over d in float64."""

    @abc.abstractmethod
    def gradient(self, v, W, V, b, c, scale):
        """(grad, log_p): grad, a flat array of 2 D H + D + H values of W's dtype, is `scale`
        times the sum over the rows of the gradient of log p(v_r) with respect to W, V, b and c
        (in that order, each row-major); log_p is log_likelihood(v, ...). On the CPU backends
        rows are summed in chunks of NADE_CHUNK, then the chunks in order (identical on cpu
        and numba, whatever the threads)."""

    @abc.abstractmethod
    def sample(self, n, W, V, b, c, seed, call):
        """(n, D) binary samples of W's dtype by ancestral sampling: v_d of row r is 1 when
        uniform r * D + d of draw (seed, call, NadeStream.SAMPLE) is below p(v_d = 1 | v_<d)."""


def split_gradient(grad, D, H):
    """(dW, dV, db, dc) as views of the flat gradient of NadeKernels.gradient."""
    DH = D * H
    return (grad[:DH].reshape(D, H), grad[DH:2 * DH].reshape(D, H), grad[2 * DH:2 * DH + D], grad[2 * DH + D:])
