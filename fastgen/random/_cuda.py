"""The `cuda` backend of the random family: csrc/cuda/random.cu, one thread per Philox block
of four elements, so that the draws are those of the CPU backends whatever the launch geometry."""
import cupy as cp
import numpy as np

from .._cuda import grid, kernel, suffix
from ._kernels import RandomKernels


class Kernels(RandomKernels):
    def _draws(self, function, n, seed, call, stream):
        out = cp.empty(n, dtype=cp.float32)
        kernel("random", function)(*grid((n + 3) // 4), (out, np.uint64(n), np.uint64(seed), np.uint32(call),
                                                          np.uint32(stream)))
        return out

    def uniforms(self, n, seed, call, stream):
        return self._draws("uniforms", n, seed, call, stream)

    def normals(self, n, seed, call, stream):
        return self._draws("normals", n, seed, call, stream)

    def random_binary(self, shape, dtype, seed, call):
        state = cp.empty(shape, dtype=dtype)
        kernel("random", "random_binary_" + suffix(state.dtype))(
            *grid((state.size + 3) // 4), (state, np.uint64(state.size), np.uint64(seed), np.uint32(call)))
        return state
