"""The `cpu` backend of the MMD family: csrc/cpu/mmd.h through fastgen._core.mmd."""
from .._core import mmd as _core
from ._kernels import MmdKernels


class Kernels(MmdKernels):
    def tile_sum(self, G, x_norm, y_norm, kind, params, diagonal):
        return _core.tile_sum(G, x_norm, y_norm, int(kind), params, int(diagonal))

    def tile_weights(self, G, x_norm, y_norm, kind, params, diagonal):
        _core.tile_weights(G, x_norm, y_norm, int(kind), params, int(diagonal))

    def pair_sum(self, g, a_norm, b_norm, kind, params):
        return _core.pair_sum(g, a_norm, b_norm, int(kind), params)

    def pair_weights(self, g, a_norm, b_norm, kind, params):
        _core.pair_weights(g, a_norm, b_norm, int(kind), params)
