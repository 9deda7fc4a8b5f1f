"""Annealed importance sampling (AIS) of log Z for a 784 x 500 binary RBM: 100 chains, the default schedule of
Salakhutdinov & Murray (14,500 steps), base visible biases from the data (fastgen.rbm.base_visible_bias):
fastgen `cpu` and `numba` (fastgen.rbm.log_partition_ais) against the same algorithm in plain NumPy
(baselines.numpy_ais).

The model: fastgen.BernoulliRBM, 500 hidden units, CD-1 for TRAIN_EPOCHS epochs (batch 100, learning rate
0.05) on the benchmark dataset, trained once per session. Each implementation is warmed up on the model with a 40-step
schedule (Numba JIT of the parallel variant), then timed over one run (rounds=1: a run takes tens of seconds). Outside the timing, each
estimate must agree with those of the implementations that ran before it on the same model (numpy first)
within 3 combined standard errors: sqrt(std_1^2 + std_2^2).

Run with: python -m pytest bench/test_rbm_ais.py --benchmark-only  (or bench/run.sh -k ais)
Environment:
- FASTGEN_BENCH_AIS_STEPS=n: the default schedule resampled to n steps (short test runs; the report shows n);
- FASTGEN_BENCH_AIS_DATASETS=synthetic,mnist: the datasets (default: mnist where FASTGEN_MNIST is set, else
  synthetic; one dataset, because each run takes a while).
"""
from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest

import baselines
import datasets
from machine import busy_cpu_seconds

N_HIDDEN = 500
N_CHAINS = 100
SEED = 0
TRAIN_EPOCHS = 5
TRAIN_SETTINGS = {"learning_rate": 0.05, "batch_size": 100, "cd_k": 1, "persistent": False}
N_STEPS = int(os.environ["FASTGEN_BENCH_AIS_STEPS"]) if os.environ.get("FASTGEN_BENCH_AIS_STEPS") else None
IMPLS = ["numpy", "fastgen-cpu", "fastgen-numba"]  # numpy first: the others are checked against it


def _ais_dataset_names():
    chosen = os.environ.get("FASTGEN_BENCH_AIS_DATASETS")
    available = datasets.dataset_names()
    if not chosen:
        return [available[-1]]  # mnist where available, else synthetic
    names = [name.strip() for name in chosen.split(",") if name.strip()]
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(f"FASTGEN_BENCH_AIS_DATASETS: {unknown} not available here (available: {available})")
    return names


AIS_DATASET_NAMES = _ais_dataset_names()

# estimates so far, per dataset: [(impl, log_z, log_z_std)]
_ESTIMATES: dict[str, list] = {}


@pytest.fixture(scope="session")
def ais_model(dataset):
    """(W (784, 500), b, c, base) float32 of an RBM trained on the dataset, base = base_visible_bias(X)."""
    import fastgen

    _, X = dataset
    model = fastgen.BernoulliRBM(
        n_components=N_HIDDEN, n_iter=TRAIN_EPOCHS, random_state=0, backend="cpu", **TRAIN_SETTINGS
    ).fit(X)
    W = np.ascontiguousarray(model.components_.T, dtype=np.float32)
    b = np.ascontiguousarray(model.intercept_visible_, dtype=np.float32)
    c = np.ascontiguousarray(model.intercept_hidden_, dtype=np.float32)
    base = np.ascontiguousarray(fastgen.rbm.base_visible_bias(X), dtype=np.float32)
    return W, b, c, base


def _fastgen_ais(backend):
    def run(W, b, c, base, betas, n_chains):
        import fastgen.rbm

        result = fastgen.rbm.log_partition_ais(
            W, b, c, n_chains=n_chains, betas=betas, base_visible_bias=base, seed=SEED, backend=backend
        )
        return result.log_z, result.log_z_std, np.asarray(result.log_weights)

    return run


def _numpy_ais(W, b, c, base, betas, n_chains):
    result = baselines.numpy_ais(W, b, c, base, betas, n_chains=n_chains, seed=SEED)
    return result.log_z, result.log_z_std, result.log_weights


RUNS = {"numpy": _numpy_ais, **{f"fastgen-{b}": _fastgen_ais(b) for b in ("cpu", "numba")}}


def _skip_if_unavailable(impl):
    if impl.startswith("fastgen-"):
        import fastgen

        backend = impl.split("-", 1)[1]
        if backend not in fastgen.available_backends():
            pytest.skip(f"fastgen backend {backend!r} not available here ({fastgen.available_backends()})")


def _warm_up(run, W, b, c, base):
    """The model of the run through a short schedule, outside the timing (Numba JIT, thread
    pools). 40 steps: with 100 chains and 1,284 units that is above the kernels' parallel
    threshold (fastgen._constants.PARALLEL_WORK), so the parallel variant the timed run uses is
    compiled here; a tiny model compiled only the serial one, and the first timed numba run
    then included the parallel variant's JIT (5.1 s instead of 1.6 s, measured)."""
    run(W, b, c, base, np.linspace(0.0, 1.0, 40), N_CHAINS)


@pytest.mark.benchmark(group="rbm-ais")
@pytest.mark.parametrize(
    "dataset",
    AIS_DATASET_NAMES,
    ids=[f"{name}-{datasets.N_SAMPLES}x{datasets.N_PIXELS}" for name in AIS_DATASET_NAMES],
    indirect=True,
    scope="session",
)
@pytest.mark.parametrize("impl", IMPLS)
def test_rbm_ais(benchmark, impl, dataset, ais_model):
    _skip_if_unavailable(impl)
    name, X = dataset
    W, b, c, base = ais_model
    betas = baselines.ais_betas(N_STEPS)
    run = RUNS[impl]
    _warm_up(run, W, b, c, base)

    machine0, own0, wall0 = *busy_cpu_seconds(), time.perf_counter()
    log_z, log_z_std, log_weights = benchmark.pedantic(
        run, args=(W, b, c, base, betas, N_CHAINS), rounds=1, iterations=1
    )
    machine1, own1, wall1 = *busy_cpu_seconds(), time.perf_counter()

    # sanity, outside the timing: finite weights, and agreement with the estimates of the same model so far
    log_weights = np.asarray(log_weights)
    assert log_weights.shape == (N_CHAINS,) and np.isfinite(log_weights).all(), impl
    assert math.isfinite(log_z) and math.isfinite(log_z_std), (impl, log_z, log_z_std)
    checked = []
    for other, other_log_z, other_std in _ESTIMATES.get(name, []):
        bound = 3.0 * math.hypot(log_z_std, other_std)
        assert abs(log_z - other_log_z) <= bound, (
            f"{impl}: log Z = {log_z:.4f} +- {log_z_std:.4f} disagrees with {other}: "
            f"{other_log_z:.4f} +- {other_std:.4f} (|difference| > 3 combined sigma = {bound:.4f})"
        )
        checked.append(f"{other} ({log_z - other_log_z:+.3f}, 3 sigma {bound:.3f})")
    _ESTIMATES.setdefault(name, []).append((impl, log_z, log_z_std))

    benchmark.extra_info.update(
        impl=impl,
        dataset=name,
        n_samples=X.shape[0],
        n_visible=W.shape[0],
        density=float(X.mean()),
        n_hidden=W.shape[1],
        n_chains=N_CHAINS,
        n_steps=len(betas) - 1,
        train_epochs=TRAIN_EPOCHS,
        algorithm=f"AIS, {len(betas) - 1} steps",
        # the float32 GEMMs of the NumPy baseline, 2 flops per multiply-add: v @ W and h @ W^T per
        # step (the last step has only the first). fastgen's sums of the selected rows of W skip
        # what the zeros of the binary states would add, so its share of the sgemm floor can pass 100%
        dtype="float32",
        flops=2 * N_CHAINS * W.shape[0] * W.shape[1] * (2 * (len(betas) - 1) - 1),
        log_z=log_z,
        log_z_std=log_z_std,
        checked_against=checked,
        other_cores=round(max(0.0, (machine1 - machine0) - (own1 - own0)) / (wall1 - wall0), 3),
        own_cores=round((own1 - own0) / (wall1 - wall0), 3),
    )
