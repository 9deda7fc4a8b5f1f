"""The kernel interface of the random family: Philox4x32-10 draws (csrc/include/fastgen/random.h).

Element i of draw (seed, call, stream) is a pure function of those four numbers, the same
on every backend whatever its threads or launch geometry (the counter layout is in
random.h). Implemented by `Kernels` in _cpu.py, _numba.py and _cuda.py on the backend's
own arrays; tests/test_layout.py checks that each implements every method here.
"""
import abc


class RandomKernels(abc.ABC):
    # `first` / `first_row`: where the result starts in a larger draw, so that a batch split
    # into blocks (over Dask workers) draws, block by block, what the whole batch draws.

    @abc.abstractmethod
    def uniforms(self, n, seed, call, stream, first=0):
        """float32 (n,): the uniforms in (0, 1) of elements first .. first + n - 1 of draw (seed, call, stream)."""

    @abc.abstractmethod
    def normals(self, n, seed, call, stream, first=0):
        """float32 (n,): the standard normals (Box-Muller on the uniforms) of elements first .. first + n - 1."""

    @abc.abstractmethod
    def random_binary(self, shape, dtype, seed, call, first_row=0):
        """An array of `shape` and `dtype` holding 0 or 1 with probability 1/2 each: the top bit
        of each element's word of draw (seed, call, RbmStream.INIT), the array being rows
        first_row .. of a larger one (rows: along the first axis)."""
