"""The kernel interface of the MMD family: fused passes that turn dot products of pairs of
points into kernel values and reduce them, or into the pairs' gradient weights (per-pair
math in csrc/include/fastgen/mmd.h). The dot products come from GEMM tiles (_loops.py), so
no pass ever sees more than one tile of the N x M kernel matrix. Implemented by `Kernels` in
_cpu.py, _numba.py and _cuda.py on the backend's arrays; tests/test_layout.py checks that
each implements every method here.

Arguments: G (rows, cols) or g (n,) of the samples' float dtype, C-contiguous; the squared
norms x_norm, y_norm, a_norm, b_norm float64; `kind` an MmdKernel, `params` its float64
parameters (layout in mmd.h); `diagonal` an MmdDiagonal (a diagonal tile is square).
Sums are float64 and reduced in a fixed order: the same for any number of threads.
"""
import abc


class MmdKernels(abc.ABC):
    @abc.abstractmethod
    def tile_sum(self, G, x_norm, y_norm, kind, params, diagonal):
        """float: sum_ij k(x_i, y_j) over the tile G_ij = x_i.y_j (the pair (i, i) of a diagonal tile
        at distance 0, counted or left out as `diagonal` says), summed row by row in order."""

    @abc.abstractmethod
    def tile_weights(self, G, x_norm, y_norm, kind, params, diagonal):
        """In place: G_ij becomes the gradient weight w_ij of the pair (kernel_weight in mmd.h: dk/dx_i =
        w_ij (y_j - x_i) for the distance kernels, w_ij y_j for the polynomial one); an excluded
        diagonal pair gets 0."""

    @abc.abstractmethod
    def pair_sum(self, g, a_norm, b_norm, kind, params):
        """float: sum_p k(a_p, b_p) over n pairs given by their dot products g_p = a_p.b_p."""

    @abc.abstractmethod
    def pair_weights(self, g, a_norm, b_norm, kind, params):
        """In place: g_p becomes the gradient weight of the pair (a_p, b_p), as tile_weights."""
