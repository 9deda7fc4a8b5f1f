"""Tests of fastgen.GaussianMixture, the drop-in for sklearn.mixture.GaussianMixture.

References are independent of fastgen: scikit-learn's own GaussianMixture run from the same
initial parameters, scipy's multivariate normal density, and exact answers on tiny data."""
import pickle
import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.utils.estimator_checks import check_estimator

import fastgen

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


@pytest.fixture(scope="module")
def blobs():
    """Three elongated clusters in 3-D, 600 rows, float64."""
    rng = np.random.RandomState(1)
    return np.concatenate([rng.normal(size=(200, 3)) @ rng.normal(size=(3, 3)) + 4 * rng.normal(size=3)
                           for _ in range(3)])


def _inits(X, covariance_type):
    """Initial parameters given explicitly (the precisions of a 2-iteration scikit-learn fit)."""
    start = SkGaussianMixture(3, covariance_type=covariance_type, random_state=1, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        precisions = start.fit(X).precisions_
    return {"weights_init": np.full(3, 1 / 3), "means_init": X[[0, 200, 400]], "precisions_init": precisions}


def _max_relative_error(a, b):
    return max(np.abs(getattr(a, n) - getattr(b, n)).max() / np.abs(getattr(b, n)).max() for n in FITTED)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_fit_as_sklearn_from_same_initial_parameters(backend, blobs, covariance_type):
    """On every backend, cuda included (its E-step on the GPU), the fit of scikit-learn."""
    settings = dict(n_components=3, covariance_type=covariance_type, max_iter=60, tol=1e-9,
                    **_inits(blobs, covariance_type))
    sk = SkGaussianMixture(**settings).fit(blobs)
    fg = fastgen.GaussianMixture(**settings, backend=backend).fit(blobs)
    assert _max_relative_error(fg, sk) < 1e-6
    assert (fg.n_iter_, fg.converged_) == (sk.n_iter_, sk.converged_)
    assert fg.lower_bound_ == pytest.approx(sk.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(fg.lower_bounds_, sk.lower_bounds_, rtol=1e-10)
    np.testing.assert_array_equal(fg.predict(blobs), sk.predict(blobs))
    np.testing.assert_allclose(fg.predict_proba(blobs), sk.predict_proba(blobs), atol=1e-8)
    np.testing.assert_allclose(fg.score_samples(blobs), sk.score_samples(blobs), rtol=1e-9)
    assert fg.bic(blobs) == pytest.approx(sk.bic(blobs), rel=1e-9)
    assert fg.aic(blobs) == pytest.approx(sk.aic(blobs), rel=1e-9)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_same_initialisation_as_sklearn(blobs, init_params, covariance_type):
    """The same random_state draws the same initial parameters (checked after one EM step)."""
    settings = {"n_components": 3, "covariance_type": covariance_type, "init_params": init_params,
                "random_state": 0, "max_iter": 1, "n_init": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkGaussianMixture(**settings).fit(blobs)
        fg = fastgen.GaussianMixture(**settings).fit(blobs)
    assert _max_relative_error(fg, sk) < 1e-6


def test_score_samples_is_the_mixture_density(blobs):
    """log sum_k w_k N(x | mean_k, cov_k) by scipy, from the fitted attributes."""
    gm = fastgen.GaussianMixture(3, random_state=0).fit(blobs)
    density = sum(w * multivariate_normal(m, c).pdf(blobs) for w, m, c in zip(gm.weights_, gm.means_, gm.covariances_))
    np.testing.assert_allclose(gm.score_samples(blobs), np.log(density), rtol=1e-10)
    np.testing.assert_allclose(gm.precisions_, np.linalg.inv(gm.covariances_), rtol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_scoring_methods_are_sklearns_on_the_same_model(backend, blobs, covariance_type, dtype):
    """score_samples, score, bic, aic, predict and predict_proba of one fitted model, given to
    both estimators, on data of either dtype: scikit-learn's results (it computes in X's dtype
    too; float32 to float32's rounding)."""
    sk = SkGaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(blobs.astype(dtype))
    fg = fastgen.GaussianMixture(3, covariance_type=covariance_type, backend=backend)
    fg.__dict__.update({k: v for k, v in sk.__dict__.items() if k.endswith("_") and not k.startswith("_")})
    X = (blobs + np.random.RandomState(2).normal(scale=0.5, size=blobs.shape)).astype(dtype)  # not the fitted rows
    tol = 1e-10 if dtype == np.float64 else 1e-5
    ours, theirs = fg.score_samples(X), sk.score_samples(X)
    assert ours.dtype == theirs.dtype == dtype
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * np.abs(theirs).max())
    for method in ("score", "bic", "aic"):
        assert getattr(fg, method)(X) == pytest.approx(getattr(sk, method)(X), rel=tol), method
    ours, theirs = fg.predict_proba(X), sk.predict_proba(X)
    assert ours.dtype == theirs.dtype == dtype
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=1e-16 if dtype == np.float64 else 1e-6)
    labels = sk.predict(X)
    top_two = np.sort(theirs, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-4  # rows whose label rounding cannot decide
    assert clear.mean() > 0.95
    np.testing.assert_array_equal(fg.predict(X)[clear], labels[clear])


def test_predict_proba_of_a_zero_density_row_raises(cpu_backend):
    """A row whose density is zero under every component (float32 squares overflow) has no
    component probabilities: ValueError naming the row (scikit-learn's are NaN); its score is -inf."""
    X = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    gm = fastgen.GaussianMixture(2, backend=cpu_backend, random_state=0).fit(X)
    far = np.array([[0.0, 0.0], [1e30, 0.0]], dtype=np.float32)
    with pytest.raises(ValueError, match="1 row.s. of zero density under every component .* first is row 1"):
        gm.predict_proba(far)
    assert gm.score_samples(far)[1] == -np.inf
    assert gm.predict_proba(far[:1]).sum() == pytest.approx(1.0)


def test_one_component_is_the_sample_mean_and_covariance(cpu_backend, blobs):
    gm = fastgen.GaussianMixture(1, reg_covar=0.0, backend=cpu_backend).fit(blobs)
    np.testing.assert_allclose(gm.means_[0], blobs.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(gm.covariances_[0], np.cov(blobs.T, bias=True), rtol=1e-10)
    assert gm.converged_ and gm.n_iter_ == 2


def test_float32_far_from_origin_has_positive_variances(cpu_backend):
    """float32 data whose mean is 1e4 times its spread: E[x^2] - E[x]^2 would cancel to noise."""
    rng = np.random.RandomState(0)
    X = (1e4 + rng.normal(size=(2000, 2)) * np.array([1.0, 0.01])).astype(np.float32)
    gm = fastgen.GaussianMixture(1, covariance_type="diag", reg_covar=0.0, backend=cpu_backend).fit(X)
    assert gm.covariances_.dtype == np.float32
    np.testing.assert_allclose(gm.covariances_[0], X.astype(np.float64).var(axis=0), rtol=1e-3)


def test_singular_covariance_raises_as_sklearn(cpu_backend):
    """Two clusters on a line in 2-D: each covariance is singular with reg_covar=0, which is
    scikit-learn's ValueError (a positive reg_covar fits)."""
    X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [10.0, 10.0], [11.0, 11.0], [12.0, 12.0]])
    settings = dict(n_components=2, means_init=[[1.0, 1.0], [11.0, 11.0]], max_iter=3, backend=cpu_backend)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        fastgen.GaussianMixture(reg_covar=0.0, **settings).fit(X)
    gm = fastgen.GaussianMixture(reg_covar=1e-6, **settings).fit(X)
    assert np.isfinite(gm.precisions_cholesky_).all()
    assert np.all(np.linalg.eigvalsh(gm.covariances_) > 0)


def test_n_init_keeps_the_best_and_warm_start_continues(blobs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        bounds = [fastgen.GaussianMixture(3, init_params="random", random_state=s, max_iter=3).fit(blobs).lower_bound_
                  for s in range(3)]
        best = fastgen.GaussianMixture(3, init_params="random", n_init=3, random_state=0, max_iter=3).fit(blobs)
        sk = SkGaussianMixture(3, init_params="random", n_init=3, random_state=0, max_iter=3).fit(blobs)
    assert best.lower_bound_ == pytest.approx(sk.lower_bound_, rel=1e-9) and best.lower_bound_ >= min(bounds)

    warm = fastgen.GaussianMixture(3, warm_start=True, max_iter=2, random_state=0, tol=0)
    cold = fastgen.GaussianMixture(3, max_iter=4, random_state=0, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(blobs).fit(blobs)
        cold.fit(blobs)
    np.testing.assert_allclose(warm.means_, cold.means_, rtol=1e-10)


def test_fit_predict_sample_and_pickle(blobs):
    gm = fastgen.GaussianMixture(3, random_state=0)
    labels = gm.fit_predict(blobs)
    np.testing.assert_array_equal(labels, gm.predict(blobs))
    sk = SkGaussianMixture(3, random_state=0).fit(blobs)
    for a, b in zip(gm.sample(50), sk.sample(50)):
        np.testing.assert_allclose(a, b, rtol=1e-8)
    clone = pickle.loads(pickle.dumps(gm))
    np.testing.assert_array_equal(clone.predict(blobs), labels)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "params, X, match",
    [
        ({}, np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), "X"),
        ({}, np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), "X"),
        ({}, np.array([["a", "b"], ["c", "d"]], dtype=object), "could not convert string to float"),
        ({"n_components": 5}, np.ones((3, 2)), "n_components"),
        ({"covariance_type": "banana"}, np.ones((3, 2)), "covariance_type"),
        ({"n_components": 2, "weights_init": [0.5, 0.6]}, np.eye(3, 2), "'weights' should be normalized"),
        ({"n_components": 2, "weights_init": [0.5, 0.5, 0.0]}, np.eye(3, 2), "'weights' should have the shape"),
        ({"n_components": 2, "means_init": np.zeros((2, 3))}, np.eye(3, 2), "'means' should have the shape"),
        ({"n_components": 2, "precisions_init": -np.ones((2, 2, 2))}, np.eye(3, 2),
         "'full precision' should be symmetric, positive-definite"),
        ({"n_components": 2, "covariance_type": "diag", "precisions_init": np.zeros((2, 2))}, np.eye(3, 2),
         "'diag precision' should be positive"),
        ({"backend": "nope"}, np.eye(3, 2), "backend"),
    ],
)
def test_bad_input_is_a_value_error_with_sklearns_message(params, X, match):
    with pytest.raises(ValueError, match=match):
        fastgen.GaussianMixture(**params).fit(X)


def test_failed_fit_leaves_fitted_model_unchanged(blobs):
    gm = fastgen.GaussianMixture(3, random_state=0).fit(blobs)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in gm.__dict__.items()}
    gm.set_params(weights_init=[0.2, 0.2, 0.2])
    with pytest.raises(ValueError, match="'weights' should be normalized"):
        gm.fit(blobs[:, :2])
    gm.set_params(weights_init=None)
    assert gm.__dict__.keys() == before.keys()
    for k, v in before.items():
        np.testing.assert_array_equal(gm.__dict__[k], v)
    with pytest.raises(ValueError, match="features"):
        gm.predict(blobs[:, :2])


# ---------------------------------------------------------------- scikit-learn's estimator checks

# Since fit takes sample_weight, check_estimator runs the sample-weight checks; this one fits
# shuffled rows with weights against repeated rows, with the stochastic k-means initialisation,
# whose draws depend on the order of the rows: scikit-learn lists it as an expected failure of
# KMeans for that reason. tests/gmm/test_gmm_sample_weight.py runs the same check with a
# deterministic initialisation, where it passes.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data":
        "the k-means initialisation is stochastic and depends on the order of the rows (as KMeans's)",
}


def test_check_estimator(cpu_backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(fastgen.GaussianMixture(n_components=2, max_iter=5, backend=cpu_backend),
                                  on_fail=None, expected_failed_checks=EXPECTED_FAILED_CHECKS)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []
    xfailed = {r["check_name"] for r in results if r["status"] == "xfail"}
    assert xfailed == set(EXPECTED_FAILED_CHECKS)
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input", "check_sample_weights_pandas_series"}  # need SCIPY_ARRAY_API, pandas


def test_warm_start_on_other_features_raises_and_keeps_the_model(cpu_backend):
    rng = np.random.default_rng(0)
    gmm = fastgen.GaussianMixture(2, warm_start=True, backend=cpu_backend, random_state=0).fit(rng.normal(size=(50, 3)))
    means = gmm.means_.copy()
    with pytest.raises(ValueError, match="X has 2 features, but this warm-started GaussianMixture was fitted on 3"):
        gmm.fit(rng.normal(size=(50, 2)))
    assert gmm.n_features_in_ == 3
    np.testing.assert_array_equal(gmm.means_, means)


def test_zero_density_scores_minus_infinity_as_sklearn(cpu_backend):
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    X = np.random.default_rng(0).normal(size=(50, 2))
    far = np.array([[1e160, 0.0], [0.0, 0.0]])
    ours = fastgen.GaussianMixture(2, backend=cpu_backend, random_state=0).fit(X).score_samples(far)
    theirs = SkGaussianMixture(2, random_state=0).fit(X).score_samples(far)
    assert ours[0] == -np.inf
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_float32_data_whose_squares_overflow_raises_and_keeps_the_model(cpu_backend):
    rng = np.random.default_rng(0)
    gmm = fastgen.GaussianMixture(2, backend=cpu_backend, random_state=0)
    with pytest.raises(ValueError, match="covariances_ are not finite in float32"):
        gmm.fit((rng.normal(size=(200, 2)) * 1e20).astype(np.float32))
    assert not hasattr(gmm, "means_")
    # the same data in float64 fits
    fitted = gmm.fit(rng.normal(size=(200, 2)) * 1e20)
    assert np.isfinite(fitted.covariances_).all()
