"""The `cpu` backend of the random family: csrc/cpu/random.h through fastgen._core.random."""
import numpy as np

from .._core import random as _core
from ._kernels import RandomKernels


class Kernels(RandomKernels):
    def uniforms(self, n, seed, call, stream, first=0):
        return _core.uniforms(n, seed, call, stream, first)

    def normals(self, n, seed, call, stream, first=0):
        return _core.normals(n, seed, call, stream, first)

    def random_binary(self, shape, dtype, seed, call, first_row=0):
        state = np.empty(shape, dtype=dtype)
        _core.random_binary(state, seed, call, first_row * (state.size // shape[0]) if state.size else 0)
        return state
