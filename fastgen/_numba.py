"""What every Numba kernel module shares: one parallelism policy, and the rule that keeps
Numba's on-disk cache correct.

Parallelism: a kernel body is compiled twice, serial and `parallel=True`, and a call takes
the parallel one only when its work reaches the threshold of its kind (the C++ kernels'
thresholds, mirrored in fastgen/_constants.py): below it, waking the threads costs more
than they save and leaves them spinning against the BLAS calls between kernels.

Caching: Numba keys a cached function on its own source file only (timestamp and size),
so a kernel that inlines a jitted helper, or a constant, from another file would keep its
stale machine code after that file changed. The rule: a module whose cached kernels use
jitted code or constants of other fastgen modules names each of them, with the digest of
its source, in `NUMBA_DEPENDENCIES = {"fastgen.random._numba": "<digest>", ...}`; this
module counts too, for the compile options it sets.
tests/test_layout.py fails until every such module lists exactly what it imports, with
current digests; updating a digest edits the dependent module, which makes Numba recompile
it (and, through its own digest, everything that depends on it in turn).
"""
from __future__ import annotations

import hashlib
import types

from numba import njit


class Variants:
    """A kernel body compiled serial and parallel; `kernel(work, *args)` runs the parallel
    one when `work` >= `threshold`.

    The parallel one compiles a copy of the body under another name: Numba's cache keys an
    entry on the function's name, signature and bytecode, not on `parallel=True`, so two
    dispatchers of one function would load each other's cached machine code (measured: the
    "parallel" GMM pass ran serial, 1.4x slower)."""

    def __init__(self, body, threshold):
        # nogil: Python threads running kernels at once run them at once
        self.serial = njit(cache=True, nogil=True)(body)
        self.parallel = njit(cache=True, nogil=True, parallel=True)(_renamed(body, "_parallel"))
        self.threshold = threshold

    def __call__(self, work, *args):
        kernel = self.parallel if work >= self.threshold else self.serial
        return kernel(*args)


def _renamed(function, suffix):
    """A copy of `function` whose name, and so whose Numba cache files, end in `suffix`."""
    copy = types.FunctionType(function.__code__, function.__globals__, function.__name__ + suffix,
                              function.__defaults__, function.__closure__)
    copy.__qualname__ = function.__qualname__ + suffix
    copy.__module__ = function.__module__
    return copy


def read_only(a):
    """`a` as a kernel that only reads it should receive it: read-only (a view when `a` is
    writable). Numba compiles a read-only array's variant apart, so data reaching a kernel
    writable in one call (a NumPy array) and read-only in another (a memory map, arrays
    scikit-learn's checks return, a schedule's cached rows) would cost a second compile of
    it, about 10 s each in a fresh environment; this way there is one."""
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def digest(source: str) -> str:
    """The digest of a module's source text, as NUMBA_DEPENDENCIES records it."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]
