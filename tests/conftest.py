"""Shared fixtures: the CPU backends that work here, the `gpu` marker's skip, and the runner
of peer libraries' own test suites against fastgen's drop-ins."""
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

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
