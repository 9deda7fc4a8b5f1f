"""Gaussian-mixture fits: N = 200,000 rows, D = 16, K = 32, full and diag covariances, float64
and float32; fastgen `cpu` and `numba` against scikit-learn, and fastgen `cuda` where a GPU is
found (NumPy data in and out, the E-step on the GPU; bench/gpu_run.sh).

- group `gmm-em-iteration`: `fit` with max_iter=1 from the same explicit initial parameters:
  one E-step and one M-step (scikit-learn's fit also makes a final E-step that labels the
  data and then discards the labels; fastgen's fit skips it).
- group `gmm-fit`: `fit` end to end with the default init (init_params="kmeans", random_state=0:
  scikit-learn's KMeans, n_init=1, for scikit-learn; fastgen's own k-means, the same algorithm
  and draws, for fastgen) and EM to convergence (tol=1e-3, at most 100 iterations).
- group `gmm-init`: that k-means alone, each side's: how much of `gmm-fit` it takes.
- group `gmm-score`: `score_samples` and `predict_proba` of a fitted model (the parameters of
  one EM iteration from the explicit initial parameters): fastgen's one fused pass over X
  (log densities, log-sum-exp, responsibilities) against scikit-learn's (N, K) log densities
  and its log-sum-exp in NumPy.

Run with: python -m pytest bench/test_gmm_em.py --benchmark-only
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
FIT_ROUNDS = 2
IMPLS = ["fastgen-cpu", "fastgen-numba", "fastgen-cuda", "sklearn"]


def _data(dtype):
    """Blobs around 32 centres, deterministic."""
    rng = np.random.RandomState(0)
    centres = rng.normal(scale=4.0, size=(N_COMPONENTS, N_FEATURES))
    X = centres[rng.randint(N_COMPONENTS, size=N_SAMPLES)] + rng.normal(size=(N_SAMPLES, N_FEATURES))
    return X.astype(dtype), centres


def log_density_flops(covariance_type):
    """The floating-point operations of the N x K log densities, counted as the GEMM of the known
    route: a product of the (N, P + D) features (x_i x_j for i <= j, or x_i^2 for diag: P of
    them; and x) with (P + D, K) coefficients, 2 N K (P + D), P = D (D + 1) / 2 (full) or D
    (diag). Exponentials and log-sum-exp are not counted."""
    P = N_FEATURES * (N_FEATURES + 1) // 2 if covariance_type == "full" else N_FEATURES
    return 2 * N_SAMPLES * N_COMPONENTS * (P + N_FEATURES)


def em_flops(covariance_type, iterations=1):
    """The floating-point operations an EM iteration must do, counted as the GEMMs of the known
    route: the log densities (log_density_flops), and the statistics as the product of the
    (K, N) responsibilities with the same features, as many again. The M-step is not counted."""
    return iterations * 2 * log_density_flops(covariance_type)


def _model(impl, covariance_type, centres):
    precisions = (np.ones((N_COMPONENTS, N_FEATURES)) if covariance_type == "diag"
                  else np.repeat(np.eye(N_FEATURES)[None], N_COMPONENTS, axis=0))
    return _estimator(impl, n_components=N_COMPONENTS, covariance_type=covariance_type, max_iter=1,
                      weights_init=np.full(N_COMPONENTS, 1 / N_COMPONENTS), means_init=centres + 0.5,
                      precisions_init=precisions)


def _estimator(impl, **settings):
    """scikit-learn's GaussianMixture or fastgen's on backend impl[len("fastgen-"):], with `settings`."""
    if impl == "sklearn":
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(**settings)
    import fastgen

    backend = impl.split("-", 1)[1]
    if backend not in fastgen.available_backends():
        pytest.skip(f"fastgen backend {backend!r} not available here")
    return fastgen.GaussianMixture(**settings, backend=backend)


def _warm_up(model, X):
    """One EM iteration of a copy of `model` on the timed data itself, outside the timing (Numba
    JIT, thread pools): the same dtype, covariance type and kernel variants as the timed fits. A
    warm-up fit on 2,000 rows stayed below the kernels' parallel threshold (N D K >=
    fastgen._constants.GMM_PARALLEL_WORK; the k-means too), so only the serial Numba variants were
    compiled, and the first timed round of the numba full-covariance iteration included the
    parallel variant's JIT (fresh venv: 39-44 s against 1-5 s for the next; with an empty
    NUMBA_CACHE_DIR on one thread, 12.3 s against 0.26-0.29 s; with this warm-up the three rounds
    were even)."""
    from sklearn.base import clone

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clone(model).set_params(max_iter=1).fit(X)


@pytest.mark.benchmark(group="gmm-em-iteration")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("impl", IMPLS)
def test_em_iteration(benchmark, impl, covariance_type, dtype):
    X, centres = _data(np.dtype(dtype))
    model = _model(impl, covariance_type, centres)
    warnings.simplefilter("ignore", ConvergenceWarning)
    _warm_up(model, X)
    benchmark.pedantic(model.fit, args=(X,), rounds=ROUNDS, iterations=1, warmup_rounds=0)
    assert np.isfinite(model.means_).all()
    benchmark.extra_info.update(impl=impl, covariance_type=covariance_type, dtype=dtype, n_samples=N_SAMPLES,
                                n_features=N_FEATURES, n_components=N_COMPONENTS, lower_bound=float(model.lower_bound_),
                                flops=em_flops(covariance_type))


@pytest.mark.benchmark(group="gmm-score")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("method", ["score_samples", "predict_proba"])
@pytest.mark.parametrize("impl", IMPLS)
def test_score(benchmark, impl, method, covariance_type, dtype):
    X, centres = _data(np.dtype(dtype))
    model = _model(impl, covariance_type, centres)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    score = getattr(model, method)
    score(X[:50_000])  # warm-up outside the timing (Numba JIT of the parallel variant, thread pools)
    result = benchmark.pedantic(score, args=(X,), rounds=ROUNDS, iterations=1, warmup_rounds=0)
    assert result.shape[0] == N_SAMPLES and np.isfinite(result).all()
    benchmark.extra_info.update(impl=impl, method=method, covariance_type=covariance_type, dtype=dtype,
                                n_samples=N_SAMPLES, n_features=N_FEATURES, n_components=N_COMPONENTS,
                                flops=log_density_flops(covariance_type))


@pytest.mark.benchmark(group="gmm-fit")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("impl", IMPLS)
def test_fit(benchmark, impl, covariance_type, dtype):
    X, _ = _data(np.dtype(dtype))
    model = _estimator(impl, n_components=N_COMPONENTS, covariance_type=covariance_type, random_state=0)
    _warm_up(model, X)
    benchmark.pedantic(model.fit, args=(X,), rounds=FIT_ROUNDS, iterations=1, warmup_rounds=0)
    assert np.isfinite(model.means_).all()
    # flops: the EM iterations of the last round only (the KMeans init is not counted; gmm-init times it)
    benchmark.extra_info.update(impl=impl, covariance_type=covariance_type, dtype=dtype, n_samples=N_SAMPLES,
                                n_features=N_FEATURES, n_components=N_COMPONENTS, n_iter=int(model.n_iter_),
                                converged=bool(model.converged_), lower_bound=float(model.lower_bound_),
                                flops=em_flops(covariance_type, int(model.n_iter_)))


@pytest.mark.benchmark(group="gmm-init")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("impl", ["fastgen-cpu", "fastgen-numba", "sklearn"])
def test_kmeans_init(benchmark, impl, dtype):
    """The default init's k-means labels (GaussianMixture's _initialize_parameters with
    init_params="kmeans"): scikit-learn's KMeans, or fastgen's k-means (fastgen/gmm/_kmeans.py),
    both from RandomState(0)."""
    X, _ = _data(np.dtype(dtype))
    if impl == "sklearn":
        from sklearn.cluster import KMeans

        def init():
            return KMeans(n_clusters=N_COMPONENTS, n_init=1, random_state=np.random.RandomState(0)).fit(X).labels_
    else:
        import fastgen
        from fastgen import _backend
        from fastgen.gmm import _kmeans

        backend = impl.split("-", 1)[1]
        if backend not in fastgen.available_backends():
            pytest.skip(f"fastgen backend {backend!r} not available here")
        kernels = _backend.resolve(backend, on_device=False).gmm
        _kmeans.kmeans_labels(kernels, X[:20000], None, N_COMPONENTS, np.random.RandomState(0))  # warm-up: JIT

        def init():
            return _kmeans.kmeans_labels(kernels, X, None, N_COMPONENTS, np.random.RandomState(0))

    benchmark.pedantic(init, rounds=FIT_ROUNDS, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(impl=impl, dtype=dtype, n_samples=N_SAMPLES, n_features=N_FEATURES,
                                n_components=N_COMPONENTS)
