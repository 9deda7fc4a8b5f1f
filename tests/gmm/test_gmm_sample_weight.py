"""sample_weight in the fused E-step (`em_pass(..., weights)` of every backend, cuda where a GPU
is, against a float64 NumPy reference written here) and in fastgen.GaussianMixture.fit: a row of integer
weight w gives the statistics, and the fit, of the data with that row repeated w times."""
import warnings

import numpy as np
import pytest
from gmm_layout import K, N, gmm_kernels, kernel_inputs, problem, reference_log_prob
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import fastgen

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _reference_statistics(X, centre, weights, precisions, kind, sample_weight):
    """float64: sum w log p, and nk, s1, s2 of the responsibilities times w, centred on `centre`."""
    X = X.astype(np.float64)
    log_prob = reference_log_prob(X, centre, weights, precisions, kind)
    lse = logsumexp(log_prob, axis=1)
    resp = np.exp(log_prob - lse[:, None]) * sample_weight[:, None]
    s1 = np.stack([resp[:, k] @ (X - centre[k]) for k in range(K)])
    if kind == "full":
        s2 = np.stack([(resp[:, k] * (X - centre[k]).T) @ (X - centre[k]) for k in range(K)])
    else:
        s2 = np.stack([resp[:, k] @ (X - centre[k]) ** 2 for k in range(K)])
    return sample_weight @ lse, resp.sum(axis=0), s1, s2


# ---------------------------------------------------------------- the kernels


@pytest.mark.parametrize("kind", ["full", "diag"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weighted_em_pass_matches_reference(backend, kind, dtype):
    X, means, weights, precisions, sample_weight = problem(kind, dtype, seed=1, weighted=True)
    inputs = kernel_inputs(kind, means, weights, precisions, dtype)
    got = gmm_kernels(backend).em_pass(X, *inputs, sample_weight)
    ref = _reference_statistics(X, inputs[0].T.astype(np.float64), weights, precisions, kind, sample_weight)
    tol = 1e-10 if dtype == np.float64 else 1e-4
    for name, a, b in zip(("log_likelihood", "nk", "s1", "s2"), got, ref):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * np.abs(b).max(), err_msg=name)
    assert all(a.dtype == np.float64 for a in got[1:])


@pytest.mark.parametrize("kind", ["full", "diag"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_integer_weights_give_the_statistics_of_repeated_rows(backend, kind, dtype):
    """Exact equivalence up to the order of the float64 sums (w r against r + ... + r)."""
    X, means, weights, precisions, sample_weight = problem(kind, dtype, seed=2, weighted=True)
    inputs = kernel_inputs(kind, means, weights, precisions, dtype)
    kernels = gmm_kernels(backend)
    weighted = kernels.em_pass(X, *inputs, sample_weight)
    repeated = kernels.em_pass(np.repeat(X, sample_weight.astype(int), axis=0), *inputs)
    for name, a, b in zip(("log_likelihood", "nk", "s1", "s2"), weighted, repeated):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max(), err_msg=name)


def test_unit_weights_are_the_unweighted_pass_bit_for_bit(backend):
    X, means, weights, precisions, _ = problem("full", np.float64, seed=3, weighted=True)
    inputs = kernel_inputs("full", means, weights, precisions, np.float64)
    kernels = gmm_kernels(backend)
    for a, b in zip(kernels.em_pass(X, *inputs, np.ones(N)), kernels.em_pass(X, *inputs)):
        np.testing.assert_array_equal(a, b)


def test_zero_weight_rows_add_nothing(backend):
    """A row of weight 0 adds exact zeros, even one whose log density is -inf for every component."""
    X = np.array([[0.0], [1.0], [np.finfo(np.float64).max]])
    means_t, prec_t, bias = np.array([[0.0, 1.0]]), np.ones((1, 2)), np.log([0.5, 0.5])
    kernels = gmm_kernels(backend)
    ll, nk, s1, s2 = kernels.em_pass(X, means_t, prec_t, False, bias, np.array([1.0, 2.0, 0.0]))
    ll_ref, nk_ref, s1_ref, s2_ref = kernels.em_pass(X[[0, 1, 1]], means_t, prec_t, False, bias)
    assert ll == pytest.approx(ll_ref, rel=1e-14)
    np.testing.assert_allclose(nk, nk_ref, rtol=1e-14)
    np.testing.assert_allclose(s1, s1_ref, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(s2, s2_ref, rtol=1e-14, atol=1e-300)


# ---------------------------------------------------------------- the estimator


@pytest.fixture(scope="module")
def blobs():
    """Three clusters in 3-D, 300 rows, and integer weights 0..3."""
    rng = np.random.RandomState(1)
    X = np.concatenate([rng.normal(size=(100, 3)) @ rng.normal(size=(3, 3)) + 4 * rng.normal(size=3)
                        for _ in range(3)])
    return X, rng.randint(0, 4, size=len(X)).astype(np.float64)


def _explicit_inits(X, covariance_type):
    precisions = {"full": np.repeat(np.eye(3)[None], 3, axis=0), "tied": np.eye(3), "diag": np.ones((3, 3)),
                  "spherical": np.ones(3)}[covariance_type]
    return {"weights_init": np.full(3, 1 / 3), "means_init": X[[0, 100, 200]], "precisions_init": precisions}


def _assert_same_fit(a, b, rtol):
    assert (a.n_iter_, a.converged_) == (b.n_iter_, b.converged_)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=rtol)
    for name in FITTED:
        expected = getattr(b, name)
        np.testing.assert_allclose(getattr(a, name), expected, rtol=rtol, atol=rtol * np.abs(expected).max(),
                                   err_msg=name)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_weighted_fit_is_the_fit_of_repeated_rows(backend, blobs, covariance_type):
    X, w = blobs
    settings = dict(n_components=3, covariance_type=covariance_type, max_iter=50, tol=1e-8, backend=backend,
                    **_explicit_inits(X, covariance_type))
    weighted = fastgen.GaussianMixture(**settings).fit(X, sample_weight=w)
    repeated = fastgen.GaussianMixture(**settings).fit(np.repeat(X, w.astype(int), axis=0))
    _assert_same_fit(weighted, repeated, rtol=1e-9)
    # and scikit-learn's unweighted GaussianMixture on the repeated rows agrees
    sk = SkGaussianMixture(**{k: v for k, v in settings.items() if k != "backend"})
    _assert_same_fit(weighted, sk.fit(np.repeat(X, w.astype(int), axis=0)), rtol=1e-6)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_weighted_initialisation_is_that_of_repeated_rows(blobs, init_params, covariance_type):
    """KMeans and kmeans_plusplus with sample_weight draw what they draw on the repeated rows
    (rows in the same order); k-means++ picks one row per component, which counts once."""
    X, w = blobs
    settings = dict(n_components=3, covariance_type=covariance_type, init_params=init_params, random_state=0)
    for max_iter in (0, 20):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            weighted = fastgen.GaussianMixture(**settings, max_iter=max_iter).fit(X, sample_weight=w)
            repeated = fastgen.GaussianMixture(**settings, max_iter=max_iter).fit(np.repeat(X, w.astype(int), axis=0))
        for name in FITTED:
            np.testing.assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-9, atol=1e-12,
                                       err_msg=f"{name} after {max_iter} iterations")


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_unit_weights_are_the_unweighted_fit(blobs, init_params):
    X, _ = blobs
    settings = dict(n_components=3, init_params=init_params, random_state=0, n_init=2)
    a = fastgen.GaussianMixture(**settings).fit(X, sample_weight=np.ones(len(X)))
    b = fastgen.GaussianMixture(**settings).fit(X)
    for name in FITTED:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lower_bounds_ == b.lower_bounds_


@pytest.mark.parametrize("init_params", ["random", "random_from_data"])
def test_random_initialisations_use_the_weights(blobs, init_params):
    """The draws differ from the repeated rows', but the weighted fit reaches the same optimum."""
    X, w = blobs
    settings = dict(n_components=3, init_params=init_params, random_state=0, n_init=3, tol=1e-8, max_iter=300)
    weighted = fastgen.GaussianMixture(**settings).fit(X, sample_weight=w)
    repeated = fastgen.GaussianMixture(**settings).fit(np.repeat(X, w.astype(int), axis=0))
    order_w, order_r = np.argsort(weighted.means_[:, 0]), np.argsort(repeated.means_[:, 0])
    np.testing.assert_allclose(weighted.means_[order_w], repeated.means_[order_r], rtol=1e-6)
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, rel=1e-9)


def test_random_from_data_draws_rows_with_positive_weight_only(blobs):
    X, _ = blobs
    w = np.zeros(len(X))
    w[[5, 150, 250]] = [1.0, 2.0, 3.0]
    w[[6, 151]] = 1e-300  # positive, but too light to be drawn in practice
    gm = fastgen.GaussianMixture(3, init_params="random_from_data", random_state=0, max_iter=0).fit(X, sample_weight=w)
    picked = X[[5, 150, 250]]
    np.testing.assert_allclose(gm.means_[np.argsort(gm.means_[:, 0])], picked[np.argsort(picked[:, 0])], rtol=1e-12)


def test_lower_bound_is_the_weighted_mean_log_likelihood(blobs):
    X, w = blobs
    inits = _explicit_inits(X, "full")
    start = fastgen.GaussianMixture(3, max_iter=0, **inits).fit(X)  # the initial parameters, fitted as they are
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = fastgen.GaussianMixture(3, max_iter=1, **inits).fit(X, sample_weight=w)
    assert one.lower_bound_ == pytest.approx(w @ start.score_samples(X) / w.sum(), rel=1e-12)


def test_fit_predict_with_weights_is_fit_then_predict(blobs):
    X, w = blobs
    a = fastgen.GaussianMixture(3, random_state=0)
    labels = a.fit_predict(X, sample_weight=w)
    b = fastgen.GaussianMixture(3, random_state=0).fit(X, sample_weight=w)
    np.testing.assert_array_equal(labels, b.predict(X))
    np.testing.assert_array_equal(a.means_, b.means_)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (-np.ones(300), "Negative values in data passed to `?sample_weight"),
        (np.ones(299), r"sample_weight.shape == \(299,\), expected \(300,\)"),
        (np.full(300, np.nan), "NaN"),
        (np.r_[np.ones(2), np.zeros(298)], "sample_weight must have at least n_components=3 positive entries, got 2"),
        # the latter is scikit-learn's own check, from 1.8 on
        (np.zeros(300), "positive entries, got 0|must contain at least one non-zero"),
    ],
)
def test_bad_weights_are_value_errors_and_leave_the_model_unchanged(blobs, sample_weight, match):
    X, _ = blobs
    gm = fastgen.GaussianMixture(3, random_state=0).fit(X)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in gm.__dict__.items()}
    with pytest.raises(ValueError, match=match):
        gm.fit(X, sample_weight=sample_weight)
    assert gm.__dict__.keys() == before.keys()
    for k, v in before.items():
        np.testing.assert_array_equal(gm.__dict__[k], v)


def test_sample_weight_equivalence_check_passes_with_a_deterministic_initialisation():
    """scikit-learn's check (integer weights against repeated rows, with the rows shuffled) passes
    when the initialisation is given; check_estimator runs it with the k-means one, stochastic."""
    from sklearn.utils.estimator_checks import (
        check_sample_weight_equivalence_on_dense_data,
    )

    rng = np.random.RandomState(0)
    n_features = 30  # the check's data: 15 rows of 30 features
    estimator = fastgen.GaussianMixture(2, covariance_type="diag", reg_covar=1e-3, weights_init=[0.5, 0.5],
                                        means_init=rng.rand(2, n_features), precisions_init=np.ones((2, n_features)))
    check_sample_weight_equivalence_on_dense_data("GaussianMixture", estimator)
