"""Parallel tempering of binary RBMs (group `rbm-pt`) and the free energy that its exchanges
evaluate (group `rbm-free-energy`): fastgen `cpu` and `numba` against the same algorithms in plain
NumPy (baselines.numpy_parallel_tempering, baselines.numpy_free_energy), in the same run.

Two models, float32:
- digits-64x150: BernoulliRBM(150 hidden, 5 epochs) on scikit-learn's 1,797 digits (8 x 8, binarized
  at 8 of 16): 100 chains at 10 inverse temperatures 0.2 .. 1 (the sampling of the fastgen demo);
- <dataset>-784x500: BernoulliRBM(500 hidden, one CD-1 epoch) on the benchmark dataset (MNIST where
  FASTGEN_MNIST is set, else synthetic): 100 chains at 10 temperatures 0.2 .. 1.
Each run starts every replica from the same random binary states. fastgen times
fastgen.rbm.parallel_tempering, numpy the same sweeps and exchanges (its draws come from NumPy's
generator, so its states differ; its swap rates must agree). Outside the timing: cpu and numba give
the same states and swap counts (bit-identical backends), and every implementation's acceptance rate
of each pair agrees with the first one's within 5 standard errors of a difference of two rates
(SWAP_TOLERANCE: 0.035 at the default 200 sweeps, 10,000 attempts per pair).

The free energy: BernoulliRBM.free_energy of the 1,797 digits (fastgen) against numpy_free_energy, the
same formula (its GEMM is 1,797 x 64 x 150: the softplus of 270,000 hidden units is the work).

Run with: python -m pytest bench/test_rbm_pt.py --benchmark-only  (or fastgen bench pt)
Environment: FASTGEN_BENCH_PT_STEPS=n: sweeps per run (default 200; `fastgen bench --quick`: 50).
"""
from __future__ import annotations

import copy
import os

import numpy as np
import pytest

import baselines
import datasets

N_STEPS = int(os.environ.get("FASTGEN_BENCH_PT_STEPS") or 200)
N_CHAINS = 100
BETAS = np.linspace(0.2, 1.0, 10)
SEED = 0
ROUNDS = 3
IMPLS = ["numpy", "fastgen-cpu", "fastgen-numba"]  # numpy first: the others are checked against it
DATASET = datasets.dataset_names()[-1:]  # mnist where FASTGEN_MNIST is set, else synthetic

# A pair attempts a swap of each chain every other sweep. A rate's variance is at most 1 / (4 attempts), a
# difference of two independent rates' at most twice that.
SWAP_TOLERANCE = 5.0 * np.sqrt(2.0 / (4.0 * N_CHAINS * max(1, N_STEPS // 2)))

# per model: {impl: (states, acceptance)}
_RUNS: dict[str, dict] = {}


def _digits():
    from sklearn.datasets import load_digits

    return (load_digits().data > 7).astype(np.float32)


def _fit(X, n_hidden, n_iter, **settings):
    import fastgen

    return fastgen.BernoulliRBM(n_components=n_hidden, n_iter=n_iter, random_state=0, backend="cpu",
                                **settings).fit(X)


def _params(model):
    """(W (n_visible, n_hidden), b, c) float32, C-contiguous."""
    return tuple(np.ascontiguousarray(a, dtype=np.float32)
                 for a in (model.components_.T, model.intercept_visible_, model.intercept_hidden_))


@pytest.fixture(scope="session")
def digits_model():
    X = _digits()
    return X, _fit(X, 150, 5)


@pytest.fixture(scope="session")
def large_model(dataset):
    _, X = dataset
    return _fit(X, 500, 1, learning_rate=0.05, batch_size=100)


def _skip_if_unavailable(impl):
    if impl.startswith("fastgen-"):
        import fastgen

        backend = impl.split("-", 1)[1]
        if backend not in fastgen.available_backends():
            pytest.skip(f"fastgen backend {backend!r} not available here ({fastgen.available_backends()})")


def _runner(impl):
    """run(W, b, c, v0, n_steps) -> (states, acceptance per pair)."""
    if impl == "numpy":
        def run(W, b, c, v0, n_steps):
            states, accepted, attempts = baselines.numpy_parallel_tempering(W, b, c, v0, BETAS, n_steps, seed=SEED)
            return states, accepted / attempts
        return run
    import fastgen.rbm

    backend = impl.split("-", 1)[1]

    def run(W, b, c, v0, n_steps):
        result = fastgen.rbm.parallel_tempering(v0, W, b, c, n_steps, BETAS, seed=SEED, backend=backend)
        return result.states, result.acceptance
    return run


def _check_and_record(model_name, impl, states, acceptance):
    runs = _RUNS.setdefault(model_name, {})
    assert np.all((states == 0) | (states == 1)), impl
    for other, (other_states, other_acceptance) in runs.items():
        np.testing.assert_allclose(acceptance, other_acceptance, rtol=0.0, atol=SWAP_TOLERANCE,
                                   err_msg=f"{impl} against {other}")
        if other.startswith("fastgen-") and impl.startswith("fastgen-"):
            assert np.array_equal(states, other_states), f"{impl} and {other} must give the same states"
            assert np.array_equal(acceptance, other_acceptance), f"{impl} and {other}: the same swaps"
    runs[impl] = (states, acceptance)


def _pt(benchmark, impl, model_name, W, b, c, rounds):
    _skip_if_unavailable(impl)
    run = _runner(impl)
    v0 = (np.random.default_rng(1).random((BETAS.size, N_CHAINS, W.shape[0])) < 0.5).astype(np.float32)
    run(W, b, c, v0, 2)  # warm-up: Numba JIT, thread pools
    states, acceptance = benchmark.pedantic(run, args=(W, b, c, v0, N_STEPS), rounds=rounds, iterations=1)
    _check_and_record(model_name, impl, np.asarray(states), np.asarray(acceptance))
    n_visible, n_hidden = W.shape
    rows = BETAS.size * N_CHAINS
    benchmark.extra_info.update(
        impl=impl,
        dataset=model_name,
        n_visible=n_visible,
        n_hidden=n_hidden,
        n_chains=N_CHAINS,
        n_temperatures=BETAS.size,
        n_steps=N_STEPS,
        dtype="float32",
        # the float32 GEMMs of a sweep, 2 flops per multiply-add: v W and h W^T for every replica's
        # chains (v W serves the next sweep and the exchange); the free energies of the exchange
        # (2 softplus per state and hidden unit, in float64) are not counted
        flops=2 * 2 * rows * n_visible * n_hidden * N_STEPS,
        acceptance=[round(float(x), 4) for x in acceptance],
    )


@pytest.mark.benchmark(group="rbm-pt")
@pytest.mark.parametrize("impl", IMPLS)
def test_rbm_pt_digits(benchmark, impl, digits_model):
    _, model = digits_model
    _pt(benchmark, impl, "digits-64x150", *_params(model), ROUNDS)


@pytest.mark.benchmark(group="rbm-pt")
@pytest.mark.parametrize(
    "dataset", DATASET, ids=[f"{name}-{datasets.N_SAMPLES}x{datasets.N_PIXELS}" for name in DATASET], indirect=True,
    scope="session",
)
@pytest.mark.parametrize("impl", IMPLS)
def test_rbm_pt_784x500(benchmark, impl, dataset, large_model):
    _pt(benchmark, impl, f"{dataset[0]}-784x500", *_params(large_model), 1)


@pytest.mark.benchmark(group="rbm-free-energy")
@pytest.mark.parametrize("impl", IMPLS)
def test_rbm_free_energy_digits(benchmark, impl, digits_model):
    _skip_if_unavailable(impl)
    X, model = digits_model
    W, b, c = _params(model)
    if impl == "numpy":
        def run():
            return baselines.numpy_free_energy(X, W, b, c)
    else:
        fitted = copy.deepcopy(model).set_params(backend=impl.split("-", 1)[1])

        def run():
            return fitted.free_energy(X)
    expected = baselines.numpy_free_energy(X, W, b, c)
    run()  # warm-up
    F = benchmark.pedantic(run, rounds=20, iterations=1)
    # float32 products in other orders (BLAS against sums of selected rows): within 1e-5 relative
    np.testing.assert_allclose(F, expected, rtol=1e-5)
    benchmark.extra_info.update(
        impl=impl, dataset="digits-64x150", n_samples=X.shape[0], n_visible=W.shape[0], n_hidden=W.shape[1],
        dtype="float32",
        # what must be read and written at least: X, W and the result. The softplus of each hidden unit
        # is the work, so the share of the copy floor shows how far the loop is from memory-bound.
        bytes=X.nbytes + W.nbytes + 8 * X.shape[0],
    )
