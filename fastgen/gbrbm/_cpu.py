"""The `cpu` backend of the Gaussian-Bernoulli RBM family: csrc/cpu/gbrbm.h through fastgen._core.gbrbm."""
import numpy as np

from .._core import gbrbm as _core
from ._kernels import GbrbmKernels


class Kernels(GbrbmKernels):
    def gaussian(self, means, bias, sigma, seed, call, stream, first_row=0):
        state = np.empty_like(means)
        _core.gaussian(means, bias, sigma, means, state, seed, call, stream, first_row)
        return state, means
