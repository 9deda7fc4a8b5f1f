"""The `cuda` backend of the DBM family: csrc/cuda/dbm.cu, one launch per layer update after
the cuBLAS products."""
import numpy as np

from .._cuda import grid, kernel, pointer, suffix
from ._kernels import DbmKernels


class Kernels(DbmKernels):
    def mean_field_update(self, first, second, bias, damping, mu, changes, slot, tol):
        # block size a multiple of the warp: every lane takes part in the warp's max
        scalar = mu.dtype.type
        kernel("dbm", "mean_field_update_" + suffix(mu.dtype))(
            *grid(mu.size), (first, pointer(second), bias, scalar(damping), mu, changes, np.int64(slot), scalar(tol),
                             np.uint64(mu.size), np.uint64(mu.shape[1])))
