"""The kernel interface of the DBM family: the fused mean-field update that follows the GEMMs
(csrc/include/fastgen/dbm.h), on one backend's own arrays; the DBM's Gibbs draws use the
binary RBM's Bernoulli kernel. Implemented by `Kernels` in _cpu.py, _numba.py and _cuda.py;
tests/test_layout.py checks that each implements every method here.
"""
import abc


class DbmKernels(abc.ABC):
    @abc.abstractmethod
    def mean_field_update(self, first, second, bias, damping, mu, changes, slot, tol):
        """One layer update in place: mu <- (1 - damping) sigmoid(first + second + bias) +
        damping mu (`second` may be None), its largest |change| folded into changes[slot] (a
        1-D array of mu's dtype); skipped when tol > 0, slot > 0 and changes[slot - 1] < tol,
        so that sweeps run past convergence change nothing and the caller reads `changes`
        when it likes."""
