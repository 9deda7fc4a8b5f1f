"""The fused E-step's sums have one order, fixed by N, K and D (csrc/cpu/gmm.h: blocks of
points, a tree within each, chunks added in order): the statistics are the same bit for bit
with 1 and 2 threads, and on cpu and numba; so are the per-row scores (score_rows)."""
import numpy as np
import pytest
from gmm_layout import kernel_inputs, problem

from fastgen import _backend
from fastgen._constants import GMM_BLOCK, GMM_MAX_CHUNKS, GMM_PARALLEL_WORK

REPEATS = 300  # 203 x 300 = 60,900 rows: N * K * D above GMM_PARALLEL_WORK, more blocks than chunks


def _large(kind, dtype, weighted):
    X, means, weights, precisions, *sample_weight = problem(kind, dtype, seed=4, weighted=weighted)
    X = np.ascontiguousarray(np.tile(X, (REPEATS, 1)))
    X += np.random.RandomState(5).normal(scale=0.1, size=X.shape).astype(dtype)  # no two blocks alike
    assert X.size * means.shape[0] >= GMM_PARALLEL_WORK and X.shape[0] > GMM_BLOCK * GMM_MAX_CHUNKS
    sample_weight = np.tile(sample_weight[0], REPEATS) if weighted else None
    return X, kernel_inputs(kind, means, weights, precisions, dtype), sample_weight


def _on_threads(kernels, n_threads, run):
    with kernels.threads(n_threads):
        return run()


def _assert_identical(results):
    for result in results[1:]:
        for got, expected in zip(result, results[0]):
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", ["full", "diag"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_em_pass_same_bits_on_one_and_two_threads(cpu_backend, kind, dtype, weighted):
    kernels = _backend.kernels(cpu_backend)
    if cpu_backend == "numba":
        import numba

        if numba.config.NUMBA_NUM_THREADS < 2:
            pytest.skip("Numba has one thread here")
    X, inputs, sample_weight = _large(kind, dtype, weighted)
    results = [_on_threads(kernels, n, lambda: kernels.gmm.em_pass(X, *inputs, sample_weight)) for n in (1, 2)]
    _assert_identical(results)
    log_probs = [_on_threads(kernels, n, lambda: (kernels.gmm.weighted_log_prob(X, *inputs),)) for n in (1, 2)]
    _assert_identical(log_probs)
    scores = [_on_threads(kernels, n, lambda: kernels.gmm.score_rows(X, *inputs, labels=True, proba=True))
              for n in (1, 2)]
    _assert_identical(scores)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", ["full", "diag"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_em_pass_same_bits_on_cpu_and_numba(cpu_backends, kind, dtype, weighted):
    if len(cpu_backends) < 2:
        pytest.skip("one CPU backend here")
    X, inputs, sample_weight = _large(kind, dtype, weighted)
    kernels = [_backend.kernels(name).gmm for name in cpu_backends]
    _assert_identical([k.em_pass(X, *inputs, sample_weight) for k in kernels])
    _assert_identical([(k.weighted_log_prob(X, *inputs),) for k in kernels])
    _assert_identical([k.score_rows(X, *inputs, labels=True, proba=True) for k in kernels])


def _kmeans_problem(dtype, weighted):
    """60,000 rows, 8 features, 20 clusters: both k-means kernels above GMM_PARALLEL_WORK, more
    blocks than chunks."""
    rng = np.random.RandomState(8)
    X = (rng.normal(scale=3.0, size=(20, 8))[rng.randint(20, size=60_000)] + rng.normal(size=(60_000, 8))).astype(dtype)
    assert X.size * 4 >= GMM_PARALLEL_WORK and X.shape[0] > GMM_BLOCK * GMM_MAX_CHUNKS
    weights = rng.randint(0, 4, size=len(X)).astype(np.float64) if weighted else None
    return np.ascontiguousarray(X), weights, 1234, rng.uniform(size=(19, 4)), rng.normal(scale=3.0, size=(20, 8))


def _kmeans_results(gmm, X, weights, first, uniforms, centres):
    return (gmm.kmeans_seed(X, weights, first, uniforms), *gmm.kmeans_step(X, weights, centres))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_same_bits_on_one_and_two_threads_and_on_cpu_and_numba(cpu_backends, dtype, weighted):
    problem_ = _kmeans_problem(dtype, weighted)
    results = []
    for name in cpu_backends:
        kernels = _backend.kernels(name)
        results += [_on_threads(kernels, n, lambda: _kmeans_results(kernels.gmm, *problem_)) for n in (1, 2)]
    _assert_identical(results)
