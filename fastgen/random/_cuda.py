"""The `cuda` backend of the random family: csrc/cuda/random.cu, one thread per Philox block
of four elements, so that the draws are those of the CPU backends whatever the launch geometry."""
import cupy as cp
import numpy as np

from .._cuda import grid, kernel, suffix
from ._kernels import RandomKernels


class Kernels(RandomKernels):
    def _draws(self, function, n, seed, call, stream, first):
        out = cp.empty(n, dtype=cp.float32)
        kernel("random", function)(*grid(_groups(first, n)), (out, np.uint64(n), np.uint64(first), np.uint64(seed),
                                                               np.uint32(call), np.uint32(stream)))
        return out

    def uniforms(self, n, seed, call, stream, first=0):
        return self._draws("uniforms", n, seed, call, stream, first)

    def normals(self, n, seed, call, stream, first=0):
        return self._draws("normals", n, seed, call, stream, first)

    def random_binary(self, shape, dtype, seed, call, first_row=0):
        state = cp.empty(shape, dtype=dtype)
        first = first_row * (state.size // shape[0]) if state.size else 0
        kernel("random", "random_binary_" + suffix(state.dtype))(
            *grid(_groups(first, state.size)), (state, np.uint64(state.size), np.uint64(first), np.uint64(seed),
                                                np.uint32(call)))
        return state


def _groups(first, n):
    """The Philox blocks of four elements that elements first .. first + n - 1 touch (one thread each)."""
    return (first + n + 3) // 4 - first // 4
