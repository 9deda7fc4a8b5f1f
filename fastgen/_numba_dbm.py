"""The `numba` backend of the DBM mean-field epilogue: mean_field_unit of
csrc/include/fastgen/dbm.h in the loop of csrc/cpu/dbm_cpu.h. Numba's cache only notices
changes to the cached function's own file, so this module imports no jitted code.

The sigmoid is the library's exp in the array's precision (the C++ kernel's float32 exp is
a polynomial of its own): mean-field values agree with the cpu backend to rounding, not
bit for bit. Nothing random happens here; the DBM's Gibbs draws use the RBM kernels."""
import numpy as np
from numba import njit


@njit(cache=True)
def _mean_field_update(first, second, has_second, bias, damping, mu, changes, slot, tol):
    """mean_field_update of dbm_cpu.h: skipped once converged (see dbm.h), else one layer
    update in place with its largest |change| folded into changes[slot]. The unit's math
    (dbm.h's mean_field_unit) is split into element-wise loops over a row so that LLVM
    vectorises what it can (1.5x faster than one loop, measured)."""
    if tol > 0 and slot > 0 and changes[slot - 1] < tol:
        return
    one = mu.dtype.type(1)
    zero = mu.dtype.type(0)
    n_cols = mu.shape[1]
    z = np.empty(n_cols, mu.dtype)
    e = np.empty(n_cols, mu.dtype)
    largest = zero
    for r in range(mu.shape[0]):
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
        largest = max(largest, e.max())
    changes[slot] = max(changes[slot], largest)


def mean_field_update(first, second, bias, damping, mu, changes, slot, tol):
    scalar = mu.dtype.type
    _mean_field_update(first, first if second is None else second, second is not None, bias, scalar(damping), mu,
                       changes, slot, scalar(tol))
