"""Shared fixtures: the CPU backends that work here, and the `gpu` marker's skip."""
import pytest

import fastgen


def cpu_backend_names():
    """The CPU backends available on this machine, in preference order."""
    return [b for b in fastgen.available_backends() if b != "cuda"]


CPU_BACKENDS = cpu_backend_names()


@pytest.fixture(scope="session")
def cpu_backends():
    """List of the available CPU backend names."""
    return list(CPU_BACKENDS)


@pytest.fixture(params=CPU_BACKENDS)
def cpu_backend(request):
    """One available CPU backend name (the test runs once per backend)."""
    return request.param


def pytest_collection_modifyitems(config, items):
    if "cuda" in fastgen.available_backends():
        return
    skip_gpu = pytest.mark.skip(reason="no CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)
