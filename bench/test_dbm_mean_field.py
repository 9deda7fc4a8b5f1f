"""Mean-field inference in a deep Boltzmann machine, 784-500-1000, a batch of 100 images, 10 sweeps,
float32: fastgen `cpu` and `numba` (fastgen.dbm.mean_field) against the same algorithm in plain NumPy
(baselines.numpy_mean_field), and, where a GPU is found, fastgen `cuda` against the same algorithm in
PyTorch eager on the GPU (baselines.torch_mean_field).

The weights are random (N(0, 0.05), biases N(0, 0.5)): the time of a sweep does not depend on their
values. The batch is the first 100 rows of the benchmark dataset (MNIST where FASTGEN_MNIST is set).
Outside the timing, every result must agree with the NumPy one within 1e-4.

Run with: python -m pytest bench/test_dbm_mean_field.py --benchmark-only  (or bench/run.sh -k dbm)
"""
from __future__ import annotations

import numpy as np
import pytest

import baselines
import datasets

LAYERS = (784, 500, 1000)
BATCH = 100
N_STEPS = 10
ROUNDS = 30
IMPLS = ["numpy", "fastgen-cpu", "fastgen-numba", "fastgen-cuda", "torch-cuda"]
DATASET = datasets.dataset_names()[-1:]  # mnist where FASTGEN_MNIST is set, else synthetic


def _model():
    rng = np.random.default_rng(0)
    weights = [rng.normal(0.0, 0.05, (n_in, n_out)).astype(np.float32) for n_in, n_out in zip(LAYERS, LAYERS[1:])]
    biases = [rng.normal(0.0, 0.5, n).astype(np.float32) for n in LAYERS]
    return weights, biases


def _run(impl, xp):
    if impl == "numpy":
        return lambda v, weights, biases: baselines.numpy_mean_field(v, weights, biases, N_STEPS)
    if impl == "torch-cuda":
        torch = baselines.torch_module()

        def run(v, weights, biases):
            mu = baselines.torch_mean_field(v, weights, biases, N_STEPS)
            torch.cuda.synchronize()
            return mu

        return run
    import fastgen.dbm

    backend = impl.split("-", 1)[1]
    if backend not in fastgen.available_backends():
        pytest.skip(f"fastgen backend {backend!r} not available here ({fastgen.available_backends()})")

    def run(v, weights, biases):
        mu = fastgen.dbm.mean_field(v, weights, biases, n_steps=N_STEPS, backend=backend)
        if backend == "cuda":
            xp.cuda.Device().synchronize()
        return mu

    return run


@pytest.mark.benchmark(group="dbm-mean-field")
@pytest.mark.parametrize(
    "dataset", DATASET, ids=[f"{n}-batch{BATCH}" for n in DATASET], indirect=True, scope="session",
)
@pytest.mark.parametrize("impl", IMPLS)
def test_dbm_mean_field(benchmark, impl, dataset):
    name, X = dataset
    weights, biases = _model()
    v = np.ascontiguousarray(X[:BATCH])
    xp = np
    if impl.endswith("-cuda"):
        import fastgen

        if "cuda" not in fastgen.available_backends():  # checked first: importing torch here costs CPU threads
            pytest.skip(f"no GPU here (fastgen backends: {fastgen.available_backends()})")
    if impl == "fastgen-cuda":
        xp = pytest.importorskip("cupy")
        v, weights, biases = xp.asarray(v), [xp.asarray(w) for w in weights], [xp.asarray(b) for b in biases]
    elif impl == "torch-cuda":
        torch = baselines.torch_module()
        v, weights, biases = (torch.as_tensor(v, device="cuda"), [torch.as_tensor(w, device="cuda") for w in weights],
                              [torch.as_tensor(b, device="cuda") for b in biases])
    run = _run(impl, xp)
    run(v, weights, biases)  # warm-up: Numba JIT, NVRTC, thread pools
    mu = benchmark.pedantic(run, args=(v, weights, biases), rounds=ROUNDS, iterations=1, warmup_rounds=1)

    reference = baselines.numpy_mean_field(np.ascontiguousarray(X[:BATCH]), *_model(), N_STEPS)
    for got, want in zip(mu, reference):
        got = got.get() if hasattr(got, "get") else got.cpu().numpy() if hasattr(got, "cpu") else np.asarray(got)
        np.testing.assert_allclose(got, want, atol=1e-4)
    benchmark.extra_info.update(impl=impl, dataset=f"{name}, first {BATCH} rows", layers="-".join(map(str, LAYERS)),
                                batch=BATCH, n_steps=N_STEPS, dtype="float32", algorithm=f"{N_STEPS} sweeps")
