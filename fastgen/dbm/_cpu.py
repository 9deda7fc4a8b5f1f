"""The `cpu` backend of the DBM family: csrc/cpu/dbm.h through fastgen._core.dbm."""
from .._core import dbm as _core
from ._kernels import DbmKernels


class Kernels(DbmKernels):
    def mean_field_update(self, first, second, bias, damping, mu, changes, slot, tol):
        _core.mean_field_update(first, second, bias, damping, mu, changes, slot, tol)
