"""The `numba` backend of the DBM family: mean_field_unit of csrc/include/fastgen/dbm.h in the
loop of csrc/cpu/dbm.h.

The sigmoid is the library's exp in the array's precision (the C++ kernel's float32 exp is
a polynomial of its own): mean-field values agree with the cpu backend to rounding, not
bit for bit. Nothing random happens here; the DBM's Gibbs draws use the RBM kernels."""
import numpy as np
from numba import prange

from .._constants import PARALLEL_WORK
from .._numba import Variants
from ._kernels import DbmKernels


def _mean_field_update(first, second, has_second, bias, damping, mu, changes, slot, tol, row_largest):
    """mean_field_update of csrc/cpu/dbm.h: skipped once converged (see dbm.h), else one layer
    update in place with its largest |change| folded into changes[slot]. The unit's math
    (dbm.h's mean_field_unit) is split into element-wise loops over a row so that LLVM
    vectorises what it can (1.5x faster than one loop, measured); each row's largest change
    goes to row_largest, so that the result does not depend on the threads."""
    if tol > 0 and slot > 0 and changes[slot - 1] < tol:
        return
    one = mu.dtype.type(1)
    zero = mu.dtype.type(0)
    n_cols = mu.shape[1]
    for r in prange(mu.shape[0]):
        z = np.empty(n_cols, mu.dtype)
        e = np.empty(n_cols, mu.dtype)
        if has_second:
            for j in range(n_cols):
                z[j] = (first[r, j] + second[r, j]) + bias[j]
        else:
            for j in range(n_cols):
                z[j] = first[r, j] + bias[j]
        for j in range(n_cols):
            e[j] = np.exp(-abs(z[j]))
        for j in range(n_cols):
            s = (one if z[j] >= zero else e[j]) / (one + e[j])
            updated = (one - damping) * s + damping * mu[r, j]
            e[j] = abs(updated - mu[r, j])
            mu[r, j] = updated
        row_largest[r] = e.max() if n_cols else zero
    changes[slot] = max(changes[slot], row_largest.max())


_mean_field_kernel = Variants(_mean_field_update, PARALLEL_WORK)


class Kernels(DbmKernels):
    def mean_field_update(self, first, second, bias, damping, mu, changes, slot, tol):
        scalar = mu.dtype.type
        _mean_field_kernel(mu.size, first, first if second is None else second, second is not None, bias,
                           scalar(damping), mu, changes, slot, scalar(tol), np.empty(mu.shape[0], mu.dtype))


NUMBA_DEPENDENCIES = {"fastgen._constants": "357de233da57d201", "fastgen._numba": "ed1a5bbaf7344969"}
