"""The kernel interface of the Gaussian-Bernoulli RBM family: the fused visible half-step
(csrc/include/fastgen/gbrbm.h) on one backend's own arrays; its hidden half-step is the
binary RBM's Bernoulli kernel. Implemented by `Kernels` in _cpu.py, _numba.py and _cuda.py;
tests/test_layout.py checks that each implements every method here.
"""
import abc


class GbrbmKernels(abc.ABC):
    @abc.abstractmethod
    def gaussian(self, means, bias, sigma, seed, call, stream, first_row=0):
        """(state, mean): mean = means + bias, computed in place of `means` (the product h W^T,
        (rows, n_visible)), and state = mean + sigma z, with z the Philox normals of element
        (first_row + row, unit) of draw (seed, call, stream) (csrc/include/fastgen/random.h):
        rows first_row .. of a batch, drawn alone, get the values the whole batch gives them."""
