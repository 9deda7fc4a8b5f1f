"""One training epoch of a binary RBM: 10,000 x 784 binary float32 rows, 500 hidden
units, mini-batches of 100, learning rate 0.05, CD-1 and CD-10.

Run with: python -m pytest bench --benchmark-only  (see bench/run.sh)
"""
from __future__ import annotations

import time

import numpy as np
import pytest

import baselines
import datasets
from machine import busy_cpu_seconds

N_HIDDEN = 500
BATCH_SIZE = 100
LEARNING_RATE = 0.05
N_ITER = 1  # one epoch
ROUNDS = {1: 3, 10: 2}  # timed rounds per CD-k (plus one untimed warm-up round)

FASTGEN_BACKENDS = ("cpu", "numba")

# the `dataset` fixture (conftest.py) loads each dataset once per session; applied above
# the `impl` parametrization so that ids read impl-dataset-size, e.g. numpy-synthetic-10000x784
DATASET_NAMES = datasets.dataset_names()
parametrize_datasets = pytest.mark.parametrize(
    "dataset",
    DATASET_NAMES,
    ids=[f"{name}-{datasets.N_SAMPLES}x{datasets.N_PIXELS}" for name in DATASET_NAMES],
    indirect=True,
    scope="session",
)


def _fastgen_fit(backend):
    def fit(X, k, n_components=N_HIDDEN):
        import fastgen

        return fastgen.BernoulliRBM(
            n_components=n_components,
            learning_rate=LEARNING_RATE,
            batch_size=BATCH_SIZE,
            n_iter=N_ITER,
            cd_k=k,
            persistent=False,
            random_state=0,
            backend=backend,
        ).fit(X)

    return fit


def _numpy_fit(X, k, n_components=N_HIDDEN):
    return baselines.numpy_cd_fit(X, n_components, LEARNING_RATE, BATCH_SIZE, N_ITER, cd_k=k, random_state=0)


def _sklearn_fit(X, k, n_components=N_HIDDEN):
    from sklearn.neural_network import BernoulliRBM

    assert k == 1, "scikit-learn's BernoulliRBM is PCD-1 only"
    return BernoulliRBM(
        n_components=n_components, learning_rate=LEARNING_RATE, batch_size=BATCH_SIZE, n_iter=N_ITER, random_state=0
    ).fit(X)


FITS = {
    **{f"fastgen-{b}": _fastgen_fit(b) for b in FASTGEN_BACKENDS},
    "numpy": _numpy_fit,
    "sklearn": _sklearn_fit,
    # "torch-cpu": baselines.torch_cd_fit in its own process, see _run and baselines.TorchWorker
}
CD1_IMPLS = ["fastgen-cpu", "fastgen-numba", "numpy", "sklearn", "torch-cpu"]
CD10_IMPLS = ["fastgen-cpu", "fastgen-numba", "numpy", "torch-cpu"]  # sklearn has no CD-10


def _skip_if_unavailable(impl):
    if impl.startswith("fastgen-"):
        import fastgen

        backend = impl.split("-", 1)[1]
        if backend not in fastgen.available_backends():
            pytest.skip(f"fastgen backend {backend!r} not available here ({fastgen.available_backends()})")


def _check_fitted(model, n_visible):
    """Sanity (outside the timing): finite float32 parameters of the right shapes."""
    W = np.asarray(model.components_)
    assert W.shape == (N_HIDDEN, n_visible), W.shape
    assert np.asarray(model.intercept_hidden_).shape == (N_HIDDEN,)
    assert np.asarray(model.intercept_visible_).shape == (n_visible,)
    for name in ("components_", "intercept_hidden_", "intercept_visible_"):
        value = np.asarray(getattr(model, name))
        assert value.dtype == np.float32, (name, value.dtype)
        assert np.isfinite(value).all(), f"{name} has non-finite entries"
    assert W.std() > 0
    return W


def _run(benchmark, request, impl, dataset, k):
    _skip_if_unavailable(impl)
    name, X = dataset
    extra = {}
    if impl == "torch-cpu":
        worker = request.getfixturevalue("torch_worker")
        worker.set_data(name, X)
        settings = dict(learning_rate=LEARNING_RATE, batch_size=BATCH_SIZE, n_iter=N_ITER, cd_k=k, random_state=0)
        worker.fit(rows=2 * BATCH_SIZE, n_components=16, **settings)  # warm-up
        timed = lambda: worker.fit(n_components=N_HIDDEN, **settings)  # noqa: E731
        fitted = lambda _: worker.params()  # noqa: E731
        extra = {f"worker_{key}": value for key, value in worker.info.items()}
        child_cpu = worker.cpu_seconds
    else:
        fit = FITS[impl]
        fit(X[: 2 * BATCH_SIZE], k, n_components=16)  # warm-up: Numba JIT, thread pools, imports
        timed = lambda: fit(X, k)  # noqa: E731
        fitted = lambda result: result  # noqa: E731
        child_cpu = lambda: 0.0  # noqa: E731
    machine0, own0, wall0, child0 = *busy_cpu_seconds(), time.perf_counter(), child_cpu()
    result = benchmark.pedantic(timed, rounds=ROUNDS[k], iterations=1, warmup_rounds=1)
    machine1, own1, wall1, child1 = *busy_cpu_seconds(), time.perf_counter(), child_cpu()
    own0, own1 = own0 + child0, own1 + child1  # the torch worker's CPU time counts as ours
    W = _check_fitted(fitted(result), X.shape[1])
    benchmark.extra_info.update(
        impl=impl,
        dataset=name,
        n_samples=X.shape[0],
        n_visible=X.shape[1],
        density=float(X.mean()),
        n_hidden=N_HIDDEN,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        n_iter=N_ITER,
        algorithm="PCD-1" if impl == "sklearn" else f"CD-{k}",
        weight_norm=float(np.linalg.norm(W)),
        # CPU time used by everything else on the machine while this benchmark ran, in cores
        # (about 0 on an idle machine; a sizeable value means the timings are contaminated)
        other_cores=round(max(0.0, (machine1 - machine0) - (own1 - own0)) / (wall1 - wall0), 3),
        own_cores=round((own1 - own0) / (wall1 - wall0), 3),
        **extra,
    )


@pytest.mark.benchmark(group="cd1-epoch")
@parametrize_datasets
@pytest.mark.parametrize("impl", CD1_IMPLS)
def test_cd1_epoch(benchmark, request, impl, dataset):
    _run(benchmark, request, impl, dataset, k=1)


@pytest.mark.benchmark(group="cd10-epoch")
@parametrize_datasets
@pytest.mark.parametrize("impl", CD10_IMPLS)
def test_cd10_epoch(benchmark, request, impl, dataset):
    _run(benchmark, request, impl, dataset, k=10)
