"""fastgen.mmd against the float64 NumPy reference that materialises the kernel matrices
(mmd_reference.py), on every backend, with one tile and with many (ragged) tiles; the
result's independence of the thread count; KID against torchmetrics' formula."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import mmd_reference as ref
from fastgen import _backend, mmd
from fastgen.mmd import _loops

KERNELS = [("gaussian", {"bandwidth": 1.3}), ("gaussian", {"bandwidth": [0.4, 1.0, 3.0]}),
           ("laplacian", {"bandwidth": 0.9}), ("laplacian", {"bandwidth": (0.5, 2.0)}),
           ("polynomial", {}), ("polynomial", {"degree": 2, "gamma": 0.3, "coef0": -0.5})]
KERNEL_IDS = ["gaussian", "gaussian3", "laplacian", "laplacian2", "polynomial", "polynomial2"]
ESTIMATORS = ["unbiased", "biased", "linear"]


def _reference_params(params):
    out = {k: v for k, v in params.items() if k != "bandwidth"}
    if "bandwidth" in params:
        out["sigmas"] = tuple(np.atleast_1d(params["bandwidth"]))
    return out


def _samples(dtype, N=37, M=29, D=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    Y = rng.normal(size=(M, D)) * 1.2 + 0.4
    return X.astype(dtype), Y.astype(dtype)


@pytest.fixture(params=[2048, 8], ids=["one-tile", "ragged-tiles"])
def tile(request, monkeypatch):
    """The default tile (one tile per block here) and a tile of 8 rows (37 = 4 x 8 + 5 rows)."""
    monkeypatch.setattr(_loops, "TILE", request.param)
    return request.param


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("kernel, params", KERNELS, ids=KERNEL_IDS)
def test_mmd2_matches_the_reference_float64(backend, tile, kernel, params, estimator):
    X, Y = _samples(np.float64)
    value = mmd.mmd2(X, Y, kernel, estimator=estimator, backend=backend, **params)
    expected = ref.mmd2(X, Y, kernel, estimator, **_reference_params(params))
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("kernel, params", KERNELS, ids=KERNEL_IDS)
def test_mmd2_matches_the_reference_float32(backend, tile, kernel, params, estimator):
    """float32 data: the dot products in float32 (sgemm), kernels and sums in float64; compared with
    the float64 reference on the same (float32) values."""
    X, Y = _samples(np.float32)
    value = mmd.mmd2(X, Y, kernel, estimator=estimator, backend=backend, **params)
    expected = ref.mmd2(X, Y, kernel, estimator, **_reference_params(params))
    assert value == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_median_bandwidth_is_the_median_pooled_distance(backend, estimator):
    X, Y = _samples(np.float64, N=40, M=31)
    Z = np.concatenate([X, Y])
    distances = np.sqrt(((Z[:, None] - Z[None]) ** 2).sum(-1))[np.triu_indices(len(Z), 1)]
    sigma = float(np.median(distances))
    assert mmd.median_bandwidth(X, Y, backend=backend) == pytest.approx(sigma, rel=1e-12)
    value = mmd.mmd2(X, Y, estimator=estimator, backend=backend)  # bandwidth="median" is the default
    assert value == pytest.approx(ref.mmd2(X, Y, "gaussian", estimator, sigmas=(sigma,)), rel=1e-10)


def test_median_bandwidth_subsamples_evenly():
    """With max_points, the median is taken on rows spread evenly over each sample, first and last included."""
    X, Y = _samples(np.float64, N=101, M=51)
    Z = np.concatenate([X[np.linspace(0, 100, 5).round().astype(int)], Y[np.linspace(0, 50, 5).round().astype(int)]])
    distances = np.sqrt(((Z[:, None] - Z[None]) ** 2).sum(-1))[np.triu_indices(len(Z), 1)]
    assert mmd.median_bandwidth(X, Y, max_points=10) == pytest.approx(float(np.median(distances)), rel=1e-12)


def test_identical_samples_give_zero_biased_and_near_zero_unbiased(cpu_backend):
    X, _ = _samples(np.float64)
    assert mmd.mmd2(X, X, bandwidth=1.0, estimator="biased", backend=cpu_backend) == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel, params", KERNELS[:1] + KERNELS[2:3] + KERNELS[4:5], ids=KERNEL_IDS[:3:2] + ["poly"])
def test_the_result_does_not_depend_on_the_thread_count(cpu_backend, kernel, params, dtype, monkeypatch):
    """Bit for bit, with 1 and with 2 threads (fastgen's and BLAS's), tiles large enough to go parallel."""
    monkeypatch.setattr(_loops, "TILE", 256)
    X, Y = _samples(dtype, N=600, M=300, D=8)
    kernels = _backend.kernels(cpu_backend)
    before = kernels.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            kernels.set_num_threads(threads)
            with threadpool_limits(threads):
                results.append([mmd.mmd2(X, Y, kernel, estimator=e, backend=cpu_backend, **params) for e in ESTIMATORS])
    finally:
        kernels.set_num_threads(before)
    assert results[0] == results[1]


def test_cpu_and_numba_agree(cpu_backends):
    if len(cpu_backends) < 2:
        pytest.skip("needs both CPU backends")
    X, Y = _samples(np.float32, N=300, M=200)
    values = [mmd.mmd2(X, Y, "laplacian", bandwidth=2.0, backend=b) for b in cpu_backends]
    assert values[0] == pytest.approx(values[1], rel=1e-12)


def test_torch_tensors_give_a_tensor(cpu_backend):
    torch = pytest.importorskip("torch")
    X, Y = _samples(np.float32)
    value = mmd.mmd2(torch.from_numpy(X), torch.from_numpy(Y), bandwidth=1.0, backend=cpu_backend)
    assert isinstance(value, torch.Tensor) and value.dtype == torch.float32 and value.ndim == 0
    assert float(value) == pytest.approx(mmd.mmd2(X, Y, bandwidth=1.0, backend=cpu_backend), rel=1e-6)


# ---------------------------------------------------------------- KID


def test_kid_on_all_data_is_torchmetrics_poly_mmd(backend):
    X, Y = _samples(np.float64, N=50, M=50, D=16)
    assert mmd.kid(X, Y, backend=backend) == pytest.approx(ref.torchmetrics_kid(X, Y), rel=1e-10)


def test_kid_takes_unequal_sizes(backend):
    """torchmetrics' formula assumes equal sizes; fastgen's KID is the unbiased estimator for any N, M."""
    X, Y = _samples(np.float64, N=50, M=31, D=16)
    assert mmd.kid(X, Y, backend=backend) == pytest.approx(ref.mmd2(X, Y, "polynomial", "unbiased"), rel=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kid_subsets_are_torchmetrics_subset_averaging(backend, dtype):
    X, Y = _samples(dtype, N=60, M=45, D=16)
    mean, std = mmd.kid(X, Y, subsets=7, subset_size=20, seed=3, backend=backend)
    rng = np.random.default_rng(3)
    values = []
    for _ in range(7):
        rows_x = rng.permutation(60)[:20]
        rows_y = rng.permutation(45)[:20]
        values.append(ref.torchmetrics_kid(X[rows_x], Y[rows_y]))
    rel = 1e-10 if dtype == np.float64 else 1e-5
    assert mean == pytest.approx(np.mean(values), rel=rel)
    assert std == pytest.approx(np.std(values), rel=rel * 10)
    assert std > 0


def test_kid_matches_torchmetrics_itself_where_installed():
    torch = pytest.importorskip("torch")
    kid_module = pytest.importorskip("torchmetrics.image.kid")
    X, Y = _samples(np.float64, N=40, M=40, D=16)
    expected = kid_module.poly_mmd(torch.from_numpy(X), torch.from_numpy(Y))
    assert mmd.kid(X, Y) == pytest.approx(float(expected), rel=1e-10)


def test_blas_threads_are_restored_after_concurrent_calls(cpu_backend):
    """The passes run BLAS on one thread; calls from several Python threads at once leave the
    caller's setting as it was, and each gives the single-threaded result."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    X, Y = _samples(np.float32, N=500, M=400)
    expected = mmd.mmd2(X, Y, bandwidth=1.0, backend=cpu_backend)
    before = blas_threads()
    with ThreadPoolExecutor(4) as pool:
        values = list(pool.map(lambda _: mmd.mmd2(X, Y, bandwidth=1.0, backend=cpu_backend), range(8)))
    assert values == [expected] * 8
    assert blas_threads() == before
