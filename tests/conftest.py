"""Shared fixtures: the backends a test runs on, and the `gpu` marker's skip.

- `backend`: one test case per backend, cpu, numba and cuda (the cuda case is marked `gpu`);
  the op tests take it, so that each runs on the GPU too where there is one.
- `cpu_backend`: cpu and numba only, for what must run on the host (bit-identity between
  the CPU backends, thread counts, the selected-rows sparse paths, exact BLAS roundings).
- `cpu_backends`: the list of the CPU backends available here, for comparisons across them.

A case whose backend is not available here is skipped, with the reason.

- `peer_suite`: runs a peer library's own test file against fastgen's drop-ins.
"""
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

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


@pytest.fixture
def peer_suite(tmp_path):
    """run(test_file, swaps, *options, env=None) -> {test id: "passed" | "failed" | "skipped"}: the
    peer's own test file run by pytest in a subprocess, its classes replaced by fastgen's
    (swaps: {"sklearn.neural_network:BernoulliRBM": "fastgen:BernoulliRBM"}, see peer_swap.py)."""

    def run(test_file, swaps, *options, env=None):
        report = tmp_path / "peer.xml"
        environment = dict(os.environ, **(env or {}))
        environment["FASTGEN_PEER_SWAP"] = ";".join(f"{target}={new}" for target, new in swaps.items())
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                                  environment.get("PYTHONPATH")]))
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "peer_swap", "-p", "no:cacheprovider",
                        f"--junitxml={report}", *options, str(test_file)],
                       cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
        outcomes = {}
        for case in ElementTree.parse(report).iter("testcase"):
            status = "passed"
            for child in case:
                if child.tag in ("failure", "error"):
                    status = "failed"
                elif child.tag == "skipped":
                    status = "skipped"
            outcomes[f"{case.get('name')}"] = status
        return outcomes

    return run
