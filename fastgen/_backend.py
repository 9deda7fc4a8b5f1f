"""Backend registry: which backends work on this machine, and which one a call uses.

A backend is a name ("cuda", "cpu", "numba") plus a kernels object that provides the
fused epilogues (see ``_kernels_cpu.py`` for the interface) and ``xp``, the array
module (NumPy or CuPy) that runs its GEMMs.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading

BACKEND_ORDER = ("cuda", "cpu", "numba")
ENV_VAR = "FASTGEN_BACKEND"

_state = threading.local()


def _load(name):
    """The kernels object of backend `name`; raises ImportError/RuntimeError if unusable."""
    if name == "cpu":
        from ._kernels_cpu import CpuKernels

        return CpuKernels()
    if name == "numba":
        from ._kernels_numba import NumbaKernels

        return NumbaKernels()
    if name == "cuda":
        from ._kernels_cuda import CudaKernels

        return CudaKernels()
    raise ImportError(f"no backend named {name!r}")


@functools.lru_cache(maxsize=None)
def _kernels(name):
    try:
        return _load(name)
    except Exception as exc:  # any failure to import or to find a device makes it unavailable
        return exc


def available_backends() -> tuple[str, ...]:
    """Names of the backends that work here, in preference order."""
    return tuple(name for name in BACKEND_ORDER if not isinstance(_kernels(name), Exception))


def _check_name(name, argument="backend"):
    if not isinstance(name, str) or name not in available_backends():
        why = ""
        if isinstance(name, str) and name in BACKEND_ORDER:
            why = f" ({_kernels(name)})"
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


def resolve(backend: str | None, on_device: bool) -> tuple[str, object]:
    """(name, kernels) for an explicit `backend`, else the default for where the data lives."""
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
    return name, _kernels(name)
