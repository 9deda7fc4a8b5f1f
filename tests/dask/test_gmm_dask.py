"""fastgen.GaussianMixture on Dask arrays, on a two-worker LocalCluster: the EM iterations on
the chunks give the in-memory fit's parameters (the same initial parameters: to 1e-10 in
float64; the same draws, below _DASK_INIT_ROWS rows, give the same initialisation), the
restarts run together and pick scikit-learn's best, predictions are lazy and equal the
in-memory ones, and bad input is an error before or during the fit, never a changed model."""

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
pytest.importorskip("distributed")

import fastgen
from fastgen.gmm import _estimator
from worker_failure import kill_a_worker_during

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
K, D = 3, 4
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(seed=0, n=1200):
    """Three well-separated blobs, so that EM converges in a few iterations and stays well posed."""
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=6.0, size=(K, D))
    X = centres[rng.randint(0, K, size=n)] + rng.normal(size=(n, D)) * rng.uniform(0.5, 1.5, size=D)
    return X, rng.randint(0, 4, size=n).astype(np.float64)


def _initial(X, covariance_type):
    """Initial parameters given explicitly (weights, means, precisions of a rough guess)."""
    rng = np.random.RandomState(1)
    means = X[rng.choice(len(X), K, replace=False)]
    precisions = {"full": np.stack([np.eye(D)] * K), "tied": np.eye(D), "diag": np.ones((K, D)),
                  "spherical": np.ones(K)}[covariance_type]
    return dict(weights_init=np.full(K, 1.0 / K), means_init=means, precisions_init=precisions)


def _on_cluster(client, X, chunks):
    """X as a Dask array held by the workers (persisted: the iterations read it where it is)."""
    return client.persist(da.from_array(X, chunks=chunks))


def _assert_same_fit(a, b, rtol):
    for name in FITTED:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        scale = np.abs(x).max()
        assert np.abs(x - y).max() <= rtol * scale, (name, np.abs(x - y).max() / scale)
    assert a.n_iter_ == b.n_iter_ and a.converged_ == b.converged_
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=rtol)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_initial_parameters_give_the_in_memory_fit(client, covariance_type, weighted):
    X, w = _data()
    params = dict(n_components=K, covariance_type=covariance_type, tol=1e-9, max_iter=30,
                  **_initial(X, covariance_type))
    sample_weight = w if weighted else None
    expected = fastgen.GaussianMixture(**params).fit(X, sample_weight=sample_weight)
    Xd = _on_cluster(client, X, (250, D))  # 5 chunks, the last one shorter
    weights = _on_cluster(client, w, 100) if weighted else None  # other chunks than X's: realigned
    got = fastgen.GaussianMixture(**params).fit(Xd, sample_weight=weights)
    _assert_same_fit(got, expected, 1e-10)
    assert got.n_features_in_ == D


@pytest.mark.parametrize("init_params", ["kmeans", "random_from_data", "k-means++", "random"])
def test_small_data_get_the_in_memory_initialisation_and_restarts(client, init_params):
    """Below _DASK_INIT_ROWS rows the initialisation runs on all of X with the same draws, so the
    whole fit with n_init=2 (the restarts iterating together) is the in-memory one."""
    X, _ = _data(seed=2, n=600)
    params = dict(n_components=K, init_params=init_params, n_init=2, random_state=5, tol=1e-6, max_iter=15)
    expected = fastgen.GaussianMixture(**params).fit(X)
    got = fastgen.GaussianMixture(**params).fit(_on_cluster(client, X, (150, D)))
    _assert_same_fit(got, expected, 1e-9)
    assert got.lower_bound_ == pytest.approx(expected.lower_bound_, rel=1e-12)


def test_the_best_restart_is_scikit_learns_choice(client):
    """Restarts that stop at different iterations: the same one wins as in memory."""
    X, _ = _data(seed=3, n=600)
    params = dict(n_components=4, init_params="random", n_init=3, random_state=0, tol=1e-3, max_iter=12)
    expected = fastgen.GaussianMixture(**params).fit(X)
    got = fastgen.GaussianMixture(**params).fit(_on_cluster(client, X, (200, D)))
    _assert_same_fit(got, expected, 1e-8)


def test_large_data_initialise_on_a_row_sample(client, monkeypatch):
    """Above _DASK_INIT_ROWS rows the initialisation sees a sample; EM on all rows then reaches
    the in-memory fit's optimum (the blobs leave one)."""
    monkeypatch.setattr(_estimator, "_DASK_INIT_ROWS", 300)
    X, _ = _data(seed=4, n=3000)
    params = dict(n_components=K, random_state=0, tol=1e-8, max_iter=200)
    expected = fastgen.GaussianMixture(**params).fit(X)
    got = fastgen.GaussianMixture(**params).fit(_on_cluster(client, X, (700, D)))
    assert got.lower_bound_ == pytest.approx(expected.lower_bound_, rel=1e-6)
    order = np.argsort(got.means_[:, 0]), np.argsort(expected.means_[:, 0])
    np.testing.assert_allclose(got.means_[order[0]], expected.means_[order[1]], rtol=1e-4)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predictions_are_lazy_and_equal_the_in_memory_ones(client, dtype):
    X, _ = _data(seed=5)
    X = X.astype(dtype)
    model = fastgen.GaussianMixture(K, random_state=0).fit(X)
    Xd = da.from_array(X, chunks=(300, 2))  # split features: rechunked to whole rows
    for method in ("predict", "predict_proba", "score_samples"):
        lazy = getattr(model, method)(Xd)
        assert isinstance(lazy, da.Array), method
        expected = getattr(model, method)(X)
        got = lazy.compute()
        assert got.dtype == expected.dtype and got.shape == expected.shape, method
        np.testing.assert_array_equal(got, expected, err_msg=method)
    for method in ("score", "bic", "aic"):
        value = getattr(model, method)(Xd)
        assert isinstance(value, float), method
        rel = 1e-12 if dtype == np.float64 else 1e-6  # the mean of float32 values, summed by chunks
        assert value == pytest.approx(getattr(model, method)(X), rel=rel), method
    labels = fastgen.GaussianMixture(K, random_state=0).fit_predict(da.from_array(X, chunks=(300, D)))
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), model.predict(X))


def test_float32_fit_matches_in_memory(client):
    X, _ = _data(seed=6)
    X = X.astype(np.float32)
    params = dict(n_components=K, covariance_type="diag", tol=1e-6, max_iter=20, **_initial(X, "diag"))
    expected = fastgen.GaussianMixture(**params).fit(X)
    got = fastgen.GaussianMixture(**params).fit(_on_cluster(client, X, (400, D)))
    _assert_same_fit(got, expected, 1e-5)


def test_warm_start_continues_from_the_fitted_parameters(client):
    X, _ = _data(seed=7)
    params = dict(n_components=K, warm_start=True, max_iter=3, random_state=0)
    expected = fastgen.GaussianMixture(**params).fit(X).fit(X)
    Xd = _on_cluster(client, X, (400, D))
    got = fastgen.GaussianMixture(**params).fit(Xd).fit(Xd)
    _assert_same_fit(got, expected, 1e-10)


# ---------------------------------------------------------------- bad input


def _fitted():
    X, _ = _data(seed=8, n=300)
    return fastgen.GaussianMixture(K, random_state=0, max_iter=5).fit(X), X


def _unchanged(model, before):
    for name in FITTED:
        np.testing.assert_array_equal(getattr(model, name), before[name])


def test_unknown_chunk_sizes_are_an_error(client):
    model, X = _fitted()
    before = {name: getattr(model, name).copy() for name in FITTED}
    Xd = da.from_array(X, chunks=(100, D))
    unknown = Xd[Xd[:, 0] > -np.inf]  # boolean indexing: row counts unknown until computed
    with pytest.raises(ValueError, match="unknown chunk sizes.*compute_chunk_sizes"):
        model.fit(unknown)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        model.predict(unknown)
    _unchanged(model, before)


@pytest.mark.parametrize("where", ["X", "sample_weight"])
def test_non_finite_values_fail_the_fit_and_leave_the_model(client, where):
    model, X = _fitted()
    before = {name: getattr(model, name).copy() for name in FITTED}
    X, w = X.copy(), np.ones(len(X))
    if where == "X":
        X[257, 1] = np.nan  # in the last chunk: found by its task
    else:
        w[3] = -1.0
    with pytest.raises(ValueError, match=f"{where} (contains NaN|must hold finite values >= 0)"):
        model.fit(da.from_array(X, chunks=(100, D)), sample_weight=da.from_array(w, chunks=100))
    _unchanged(model, before)


def test_wrong_shapes_and_dtypes_are_errors(client):
    model, X = _fitted()
    Xd = da.from_array(X, chunks=(100, D))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(300,\)"):
        fastgen.GaussianMixture(K).fit(Xd, sample_weight=da.ones(299, chunks=100))
    with pytest.raises(ValueError, match="X must be 2-D"):
        fastgen.GaussianMixture(K).fit(Xd[:, 0])
    with pytest.raises(TypeError, match="X must hold float32 or float64"):
        fastgen.GaussianMixture(K).fit(Xd.astype(np.complex128))
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 4"):
        model.predict(Xd[:, :3])
    with pytest.raises(ValueError, match="n_samples"):
        fastgen.GaussianMixture(5).fit(Xd[:4])
    with pytest.raises(ValueError, match="at least n_components=3 positive"):
        fastgen.GaussianMixture(K).fit(Xd, sample_weight=da.from_array(np.r_[1.0, 1.0, np.zeros(298)], chunks=100))
    with pytest.raises(ValueError, match="parameter .means. should have the shape"):
        fastgen.GaussianMixture(K, means_init=np.zeros((K, 3))).fit(Xd)
    integers = fastgen.GaussianMixture(K, random_state=0, max_iter=5).fit(Xd.astype(np.int64))
    assert integers.means_.dtype == np.float64


def test_a_worker_dying_mid_fit_is_an_error_or_the_same_model(client):
    """A worker killed while the EM tasks run: Dask recomputes its tasks elsewhere (the result is
    the fit without the failure, exactly) or the fit raises; never another model."""
    X, _ = _data(seed=9, n=4000)
    params = dict(n_components=K, covariance_type="full", tol=0.0, max_iter=25, **_initial(X, "full"))
    expected = fastgen.GaussianMixture(**params).fit(X)
    Xd = da.from_array(X, chunks=(500, D))  # not persisted: the chunks of a dead worker are made again
    model = fastgen.GaussianMixture(**params)
    outcome, killed_mid_fit = kill_a_worker_during(client, lambda: model.fit(Xd), after_s=0.3)
    if "error" in outcome:
        assert not hasattr(model, "means_")  # the failed fit left the estimator unfitted
    else:
        _assert_same_fit(outcome["result"], expected, 1e-10)
    print("killed mid-fit:", killed_mid_fit, "outcome:", "error" if "error" in outcome else "same model")


def test_without_a_cluster_the_local_scheduler_runs_it():
    """No distributed client: Dask's local threads run the same tasks, and the fit is the same."""
    X, w = _data(seed=10, n=500)
    params = dict(n_components=K, covariance_type="diag", tol=1e-9, max_iter=20, **_initial(X, "diag"))
    expected = fastgen.GaussianMixture(**params).fit(X, sample_weight=w)
    with dask.config.set(scheduler="threads"):
        got = fastgen.GaussianMixture(**params).fit(da.from_array(X, chunks=(120, D)), sample_weight=w)
    _assert_same_fit(got, expected, 1e-10)
