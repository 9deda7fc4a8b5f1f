"""The one backend registry: which backends work here, which one a call uses, and each
backend's kernels, one object per model family.

A backend ("cuda", "cpu", "numba") is available when its runtime imports (the C++ extension
`fastgen._core`, Numba, or CuPy with a device). Its kernels are `Kernels` objects with the
array module `xp` that runs the GEMMs, and one attribute per family, loaded on first use
from `fastgen/<family>/_<backend>.py` (its class `Kernels`, which implements the family's
interface in `fastgen/<family>/_kernels.py`): `kernels.rbm.bernoulli(...)`,
`kernels.random.uniforms(...)`. docs/architecture.md follows one call through it.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import os
import threading

BACKEND_ORDER = ("cuda", "cpu", "numba")
FAMILIES = ("random", "rbm", "gbrbm", "dbm", "gmm", "diffusion", "mmd", "nade")
ENV_VAR = "FASTGEN_BACKEND"

_state = threading.local()


class Kernels:
    """One backend: its name, its array module `xp`, its thread count, and its kernels by
    family as attributes (loaded on first use)."""

    def __init__(self, name, xp, get_num_threads, set_num_threads):
        self.name = name
        self.xp = xp
        self.get_num_threads = get_num_threads
        self.set_num_threads = set_num_threads

    def __getattr__(self, family):
        if family not in FAMILIES:
            raise AttributeError(f"backend {self.name!r} has no kernel family {family!r}")
        kernels = importlib.import_module(f"fastgen.{family}._{self.name}").Kernels()
        setattr(self, family, kernels)  # later lookups find it without __getattr__
        return kernels

    @contextlib.contextmanager
    def threads(self, n_threads):
        """This backend's thread count set to `n_threads` inside the block, the count before
        it restored after (for comparisons across thread counts)."""
        previous = self.get_num_threads()
        self.set_num_threads(n_threads)
        try:
            yield self
        finally:
            self.set_num_threads(previous)

    def __repr__(self):
        return f"<fastgen {self.name} kernels>"


def _runtime(name):
    """The Kernels of backend `name`; raises ImportError or RuntimeError if it cannot run here."""
    # Thread counts: each runtime's default, every core; when loops go parallel, and what was
    # measured about OpenMP and OpenBLAS threads sharing two cores: csrc/cpu/parallel.h.
    if name == "cpu":
        import numpy as np

        from . import _core

        return Kernels(name, np, _core.get_num_threads, _core.set_num_threads)
    if name == "numba":
        import numba
        import numpy as np

        return Kernels(name, np, numba.get_num_threads, numba.set_num_threads)
    if name == "cuda":
        import cupy as cp

        if cp.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device found")
        return Kernels(name, cp, lambda: 1, lambda n: None)
    raise ImportError(f"no backend named {name!r}")


@functools.lru_cache(maxsize=None)
def _load(name):
    try:
        return _runtime(name)
    except Exception as exc:  # any failure to import or to find a device makes it unavailable
        return exc


def available_backends() -> tuple[str, ...]:
    """Names of the backends that work here, in preference order."""
    return tuple(name for name in BACKEND_ORDER if not isinstance(_load(name), Exception))


def _check_name(name, argument="backend"):
    if type(name) is str and name in BACKEND_ORDER and not isinstance(_load(name), Exception):  # the common case
        return name
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be a backend name (a str), got {name!r}; "
                        f"available backends: {', '.join(available_backends())}")
    if name not in available_backends():
        why = f" ({_load(name)})" if name in BACKEND_ORDER else ""
        raise ValueError(
            f"{argument}={name!r} is not an available backend{why}; "
            f"available backends: {', '.join(available_backends())}"
        )
    return name


def set_backend(name: str | None) -> None:
    """Make `name` the default backend of this thread (None: choose by the arrays given)."""
    _state.default = None if name is None else _check_name(name)


def get_backend() -> str | None:
    """The default backend set by `set_backend`/`use_backend`, else FASTGEN_BACKEND, else None."""
    name = getattr(_state, "default", None)
    if name is not None:
        return name
    env = os.environ.get(ENV_VAR)
    if env:
        return _check_name(env, argument=ENV_VAR)
    return None


@contextlib.contextmanager
def use_backend(name: str | None):
    """Context manager: `name` is the default backend inside the block."""
    previous = getattr(_state, "default", None)
    set_backend(name)
    try:
        yield
    finally:
        _state.default = previous


def host_default() -> str:
    return "cpu" if "cpu" in available_backends() else "numba"


def kernels(name: str) -> Kernels:
    """The Kernels of an available backend."""
    return _load(_check_name(name))


def resolve(backend: str | None, on_device: bool) -> Kernels:
    """The Kernels of an explicit `backend`, else of the default for where the data lives."""
    if backend is None:
        backend = get_backend()
        if backend is None:
            backend = "cuda" if on_device else host_default()
    name = _check_name(backend)
    if on_device and name != "cuda":
        raise ValueError(
            f"backend={name!r} runs on the CPU but the arrays are on a GPU; "
            "use backend='cuda' or move the arrays to the host"
        )
    return _load(name)
