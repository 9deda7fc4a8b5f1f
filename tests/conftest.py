"""Shared fixtures: the backends a test runs on, and the `gpu` marker's skip.

- `backend`: one test case per backend, cpu, numba and cuda (the cuda case is marked `gpu`);
  the op tests take it, so that each runs on the GPU too where there is one.
- `cpu_backend`: cpu and numba only, for what must run on the host (bit-identity between
  the CPU backends, thread counts, the selected-rows sparse paths, exact BLAS roundings).
- `cpu_backends`: the list of the CPU backends available here, for comparisons across them.

A case whose backend is not available here is skipped, with the reason.
"""
import pytest

import fastgen
from fastgen import _backend

CPU_BACKEND_NAMES = ("cpu", "numba")


def _available(name):
    """`name` if that backend runs here; else the test is skipped, saying why."""
    if name not in fastgen.available_backends():
        pytest.skip(f"backend {name!r} is not available here: {_backend._load(name)}")
    return name


@pytest.fixture(params=[*CPU_BACKEND_NAMES, pytest.param("cuda", marks=pytest.mark.gpu)])
def backend(request):
    """One backend name: the test runs once per backend, cuda included (marked `gpu`)."""
    return _available(request.param)


@pytest.fixture(params=CPU_BACKEND_NAMES)
def cpu_backend(request):
    """One CPU backend name (the test runs once per CPU backend)."""
    return _available(request.param)


@pytest.fixture(scope="session")
def cpu_backends():
    """The names of the CPU backends available here, in preference order."""
    return [name for name in fastgen.available_backends() if name != "cuda"]


def pytest_collection_modifyitems(config, items):
    if "cuda" in fastgen.available_backends():
        return
    skip_gpu = pytest.mark.skip(reason="no CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
