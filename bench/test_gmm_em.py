"""One EM iteration of a Gaussian mixture: N = 200,000 rows, D = 16, K = 32, full and diag
covariances, float64 and float32; fastgen `cpu` and `numba` against scikit-learn, and fastgen `cuda`
where a GPU is found (NumPy data in and out, the E-step on the GPU; bench/gpu_run.sh).

Each implementation is fitted with max_iter=1 from the same explicit initial parameters, so
the timing is one E-step + M-step + the final E-step that labels the data (scikit-learn's
fit does it too). Run with: python -m pytest bench/test_gmm_em.py --benchmark-only
Set FASTGEN_BENCH_GMM_N to time a smaller problem.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

N_SAMPLES = int(os.environ.get("FASTGEN_BENCH_GMM_N", "200000"))
N_FEATURES, N_COMPONENTS = 16, 32
ROUNDS = 3
IMPLS = ["fastgen-cpu", "fastgen-numba", "fastgen-cuda", "sklearn"]


def _data(dtype):
    """Blobs around 32 centres, deterministic."""
    rng = np.random.RandomState(0)
    centres = rng.normal(scale=4.0, size=(N_COMPONENTS, N_FEATURES))
    X = centres[rng.randint(N_COMPONENTS, size=N_SAMPLES)] + rng.normal(size=(N_SAMPLES, N_FEATURES))
    return X.astype(dtype), centres


def _model(impl, covariance_type, centres):
    precisions = (np.ones((N_COMPONENTS, N_FEATURES)) if covariance_type == "diag"
                  else np.repeat(np.eye(N_FEATURES)[None], N_COMPONENTS, axis=0))
    settings = {"n_components": N_COMPONENTS, "covariance_type": covariance_type, "max_iter": 1,
                "weights_init": np.full(N_COMPONENTS, 1 / N_COMPONENTS), "means_init": centres + 0.5,
                "precisions_init": precisions}
    if impl == "sklearn":
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(**settings)
    import fastgen

    backend = impl.split("-", 1)[1]
    if backend not in fastgen.available_backends():
        pytest.skip(f"fastgen backend {backend!r} not available here")
    return fastgen.GaussianMixture(**settings, backend=backend)


@pytest.mark.benchmark(group="gmm-em-iteration")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("impl", IMPLS)
def test_em_iteration(benchmark, impl, covariance_type, dtype):
    X, centres = _data(np.dtype(dtype))
    model = _model(impl, covariance_type, centres)
    warnings.simplefilter("ignore", ConvergenceWarning)
    model.fit(X[:2000])  # warm-up: Numba JIT, thread pools
    benchmark.pedantic(model.fit, args=(X,), rounds=ROUNDS, iterations=1, warmup_rounds=0)
    assert np.isfinite(model.means_).all()
    benchmark.extra_info.update(impl=impl, covariance_type=covariance_type, dtype=dtype, n_samples=N_SAMPLES,
                                n_features=N_FEATURES, n_components=N_COMPONENTS, lower_bound=float(model.lower_bound_))
