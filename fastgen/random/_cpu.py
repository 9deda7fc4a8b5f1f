"""The `cpu` backend of the random family: csrc/cpu/random.h through fastgen._core.random."""
import numpy as np

from .._core import random as _core
from ._kernels import RandomKernels


class Kernels(RandomKernels):
    def uniforms(self, n, seed, call, stream):
        return _core.uniforms(n, seed, call, stream)

    def normals(self, n, seed, call, stream):
        return _core.normals(n, seed, call, stream)

    def random_binary(self, shape, dtype, seed, call):
        state = np.empty(shape, dtype=dtype)
        _core.random_binary(state, seed, call)
        return state
