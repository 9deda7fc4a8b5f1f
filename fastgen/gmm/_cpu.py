"""The `cpu` backend of the Gaussian-mixture family: csrc/cpu/gmm.h and gmm_kmeans.h through fastgen._core.gmm."""
from .._core import gmm as _core
from ._kernels import HostKernels


class Kernels(HostKernels):
    _em_pass = staticmethod(_core.em_pass)
    _weighted_log_prob = staticmethod(_core.weighted_log_prob)
    _score_rows = staticmethod(_core.score_rows)
    _kmeans_seed = staticmethod(_core.kmeans_seed)
    _kmeans_step = staticmethod(_core.kmeans_step)
