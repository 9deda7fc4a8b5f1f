"""Fixtures and pytest-benchmark hooks of the benchmark suite (bench/ only; the normal
test run collects tests/ alone)."""
from __future__ import annotations

import os
import platform
import shlex
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import baselines  # noqa: E402  (first: it records the environment for the torch worker)
import datasets  # noqa: E402
from machine import cpu_model  # noqa: E402


@pytest.fixture(scope="session")
def dataset(request):
    """(name, X): X is (10000, 784) binary float32. Parametrized indirectly by the tests
    (see test_rbm_epoch.py), loaded once per session."""
    name = request.param
    X = datasets.synthetic(datasets.N_SAMPLES) if name == "synthetic" else datasets.mnist(datasets.mnist_directory())
    assert X.shape == (datasets.N_SAMPLES, datasets.N_PIXELS) and str(X.dtype) == "float32", (name, X.shape, X.dtype)
    return name, X


@pytest.fixture(scope="session")
def torch_worker():
    """The torch baseline's own process (see baselines.TorchWorker); skips if torch is missing."""
    try:
        worker = baselines.TorchWorker()
    except ImportError as exc:
        pytest.skip(str(exc))
    yield worker
    worker.close()


# ---------------------------------------------------------------- machine info in the JSON

_load_at_start = None


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def pytest_sessionstart(session):
    # other work on the machine skews the timings: the report shows the load averages
    global _load_at_start
    _load_at_start = _loadavg()


def _version(distribution):
    # from the installed metadata: importing torch here would load its OpenMP runtime
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def environment_info():
    """What the report header needs: CPU, cores, library versions, thread settings."""
    info = {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "versions": {
            name: _version(dist)
            for name, dist in (("numpy", "numpy"), ("numba", "numba"), ("sklearn", "scikit-learn"), ("torch", "torch"), ("fastgen", "fastgen"))
        },
        "loadavg_start": _load_at_start,  # 1, 5, 15 minutes
        "loadavg_end": _loadavg(),
        "thread_env": {k: os.environ[k] for k in sorted(os.environ) if k.endswith("_NUM_THREADS") or (k.startswith("FASTGEN_") and k not in ("FASTGEN_BENCH_COMMAND", "FASTGEN_BENCH_PROGRESS_FD"))},
    }
    try:
        import fastgen

        info["fastgen_backends"] = list(fastgen.available_backends())
    except Exception:
        pass
    if "torch" in sys.modules:  # should not happen: torch runs in its own process
        info["torch_in_main_process"] = True
    try:
        import threadpoolctl

        info["threadpools"] = [
            {k: pool.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "architecture", "filepath")}
            for pool in threadpoolctl.threadpool_info()
        ]
    except Exception:
        pass
    return info


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["fastgen_bench"] = environment_info()


def pytest_benchmark_update_json(config, benchmarks, output_json):
    # run.sh passes the exact command line; otherwise rebuild it from pytest's arguments
    command = os.environ.get("FASTGEN_BENCH_COMMAND")
    if not command:
        command = shlex.join(["python", "-m", "pytest", *config.invocation_params.args])
    output_json["command"] = command
