"""One CD-1 training epoch of a Gaussian-Bernoulli RBM: the synthetic 10,000 x 784 images
standardised per pixel (float32, real-valued), 500 hidden units, sigma = 1 fixed,
mini-batches of 100, learning rate 0.001; fastgen `cpu` and `numba` against the same loop
in plain NumPy (`numpy_gbrbm_cd1_fit` below).

Run with: python -m pytest bench/test_gbrbm_epoch.py --benchmark-only  (see bench/run.sh)
"""
from __future__ import annotations

import numpy as np
import pytest

import datasets

N_HIDDEN = 500
BATCH_SIZE = 100
LEARNING_RATE = 0.001
ROUNDS = 3  # timed rounds (plus one untimed warm-up round)
IMPLS = ["fastgen-cpu", "fastgen-numba", "numpy"]


@pytest.fixture(scope="module")
def standardised():
    X = datasets.synthetic(datasets.N_SAMPLES).astype(np.float64)
    std = X.std(axis=0)
    return ((X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)


def numpy_gbrbm_cd1_fit(X, n_components, random_state=0):
    """What fastgen.GaussianBernoulliRBM(persistent=False, sigma=1) does in one epoch, in
    float32 NumPy with draws from np.random.default_rng:
        p_h0 = sigmoid(v0 W + c);  h ~ Bernoulli(p_h0);  v ~ N(h W^T + b, 1);  p_h = sigmoid(v W + c)
        W += lr (v0^T p_h0 - v^T p_h) / n,  b += lr sum(v0 - v) / n,  c += lr sum(p_h0 - p_h) / n
    (with sigma = 1 the 1 / sigma^2 factors drop out). Returns (W, b, c)."""
    rng = np.random.default_rng(random_state)
    W = rng.normal(0.0, 0.01, (X.shape[1], n_components)).astype(np.float32)
    b = X.mean(axis=0)
    c = np.zeros(n_components, dtype=np.float32)
    for start in range(0, X.shape[0], BATCH_SIZE):
        v0 = X[start:start + BATCH_SIZE]
        p_h0 = 1.0 / (1.0 + np.exp(-(v0 @ W + c)))
        h = (rng.random(p_h0.shape, dtype=np.float32) < p_h0).astype(np.float32)
        v = h @ W.T + b + rng.standard_normal((len(v0), X.shape[1]), dtype=np.float32)
        p_h = 1.0 / (1.0 + np.exp(-(v @ W + c)))
        scale = np.float32(LEARNING_RATE / len(v0))
        W += scale * (v0.T @ p_h0 - v.T @ p_h)
        b += scale * (v0.sum(axis=0) - v.sum(axis=0))
        c += scale * (p_h0.sum(axis=0) - p_h.sum(axis=0))
    return W, b, c


def _fit(impl):
    if impl == "numpy":
        return lambda X, n_components: numpy_gbrbm_cd1_fit(X, n_components)
    import fastgen

    backend = impl.split("-", 1)[1]
    if backend not in fastgen.available_backends():
        pytest.skip(f"fastgen backend {backend!r} not available here ({fastgen.available_backends()})")

    def fit(X, n_components):
        model = fastgen.GaussianBernoulliRBM(n_components=n_components, learning_rate=LEARNING_RATE,
                                             batch_size=BATCH_SIZE, n_iter=1, persistent=False, random_state=0,
                                             backend=backend).fit(X)
        return model.components_.T, model.intercept_visible_, model.intercept_hidden_

    return fit


@pytest.mark.benchmark(group="gbrbm-cd1-epoch")
@pytest.mark.parametrize("impl", IMPLS)
def test_gbrbm_cd1_epoch(benchmark, impl, standardised):
    fit = _fit(impl)
    X = standardised
    fit(X[: 2 * BATCH_SIZE], 16)  # warm-up: Numba JIT, thread pools
    W, b, c = benchmark.pedantic(lambda: fit(X, N_HIDDEN), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert W.shape == (X.shape[1], N_HIDDEN) and W.dtype == np.float32
    assert all(np.isfinite(a).all() for a in (W, b, c))
    benchmark.extra_info.update(impl=impl, dataset="synthetic, standardised", n_samples=X.shape[0], n_visible=X.shape[1], n_hidden=N_HIDDEN,
                                batch_size=BATCH_SIZE, algorithm="CD-1", weight_norm=float(np.linalg.norm(W)))
