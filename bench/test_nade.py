"""NADE, 784 x 500 float32: the exact log-likelihood of 1,000 images, and 1,000 ancestral samples;
fastgen `cpu` and `numba` (fastgen.nade) against a plain PyTorch NADE of the same math on the CPU
(baselines.torch_nade_log_likelihood and torch_nade_sample: 784 Python-level steps, each
vectorised over the 1,000 rows), run in
its own process (baselines.TorchWorker: torch's OpenMP runtime apart from fastgen's). Each runs on
all cores and, as "-1thread", on one (on a loaded machine torch's many small parallel regions can
make one thread the faster; fastgen's kernels enter one parallel region per call).

The model: fastgen.NADE, 500 hidden units, one epoch of Adam (learning rate 5e-3) on 2,000 rows of
the benchmark dataset, trained once per session (its samples then have about the data's density
of ones, which NADE's loops exploit: a hidden row is recomputed only after a one). The images
scored are rows 2,000 .. 2,999. Each implementation is warmed up, then timed over ROUNDS rounds.
Outside the timing, every log-likelihood must agree with the other implementations' within 0.01
nats (float32 sums in other orders), and the density of ones of the samples within 0.01.

Run with: python -m pytest bench/test_nade.py --benchmark-only  (or bench/run.sh -k nade)
"""
from __future__ import annotations

import numpy as np
import pytest

import datasets

N_HIDDEN = 500
N_ROWS = 1000
ROUNDS = 3
IMPLS = ["torch-cpu", "torch-cpu-1thread", "fastgen-cpu", "fastgen-cpu-1thread", "fastgen-numba"]
DATASET = datasets.dataset_names()[-1:]  # mnist where FASTGEN_MNIST is set, else synthetic
_RESULTS: dict[str, dict] = {"log-likelihood": {}, "sample": {}}


@pytest.fixture(scope="session")
def nade_model(dataset):
    """(W, V, b, c) float32 of a NADE trained for one epoch, and the rows to score."""
    import fastgen

    _, X = dataset
    model = fastgen.NADE(n_components=N_HIDDEN, n_iter=1, learning_rate=5e-3, random_state=0, backend="cpu")
    model.fit(X[:2000])
    params = tuple(np.ascontiguousarray(getattr(model, name), dtype=np.float32) for name in (
        "input_weights_", "output_weights_", "intercept_visible_", "intercept_hidden_"))
    return params, np.ascontiguousarray(X[2000:2000 + N_ROWS])


def _runner(kind, impl, torch_worker_fixture):
    """The timed call of `impl` ("<library>-<backend>[-1thread]": one thread instead of all cores)."""
    library, backend, *single = impl.split("-")
    n_threads = 1 if single else None
    if library == "torch":
        worker = torch_worker_fixture()
        if kind == "log-likelihood":
            return lambda v, params: worker.call("torch_nade_threads", "torch_nade_log_likelihood", n_threads, v,
                                                 *params)
        return lambda v, params: worker.call("torch_nade_threads", "torch_nade_sample", n_threads, N_ROWS, *params)
    import fastgen.nade

    if backend not in fastgen.available_backends():
        pytest.skip(f"fastgen backend {backend!r} not available here ({fastgen.available_backends()})")
    kernels = fastgen._backend.kernels(backend)

    def run(v, params):
        before = kernels.get_num_threads()
        kernels.set_num_threads(n_threads or before)
        try:
            if kind == "log-likelihood":
                return fastgen.nade.log_likelihood(v, *params, backend=backend)
            return fastgen.nade.sample(N_ROWS, *params, seed=0, backend=backend).mean(axis=0)
        finally:
            kernels.set_num_threads(before)

    return run


@pytest.mark.parametrize("dataset", DATASET, indirect=True, scope="session")
@pytest.mark.parametrize("kind", ["log-likelihood", "sample"])
@pytest.mark.parametrize("impl", IMPLS)
def test_nade(benchmark, request, impl, kind, dataset, nade_model):
    benchmark.group = f"nade-{kind}"
    params, v = nade_model
    run = _runner(kind, impl, lambda: request.getfixturevalue("torch_worker"))
    run(v[:10], params)  # warm-up: Numba JIT, thread pools, the worker
    result = benchmark.pedantic(run, args=(v, params), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    result = np.asarray(result, dtype=np.float64)
    for other, value in _RESULTS[kind].items():
        if kind == "log-likelihood":
            np.testing.assert_allclose(result, value, atol=1e-2, err_msg=f"{impl} vs {other}")
        else:
            assert abs(result.mean() - value.mean()) < 0.01, (impl, other, result.mean(), value.mean())
    _RESULTS[kind][impl] = result
    benchmark.extra_info.update(impl=impl, dataset=f"{dataset[0]}, rows 2000..{2000 + N_ROWS - 1}",
                                model=f"784 x {N_HIDDEN}", rows=N_ROWS, dtype="float32",
                                algorithm="exact log p" if kind == "log-likelihood" else "ancestral sampling",
                                mean_result=float(result.mean()))
