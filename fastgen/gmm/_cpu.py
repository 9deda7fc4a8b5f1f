"""The `cpu` backend of the Gaussian-mixture family: csrc/cpu/gmm.h through fastgen._core.gmm."""
from .._core import gmm as _core
from ._kernels import HostKernels


class Kernels(HostKernels):
    _em_pass = staticmethod(_core.em_pass)
    _weighted_log_prob = staticmethod(_core.weighted_log_prob)
