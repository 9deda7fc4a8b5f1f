"""fastgen.GaussianMixture as a subclass of scikit-learn's: scikit-learn's messages and errors,
the fused EM pass inside scikit-learn's loop, float32 data with float64 accumulation
(scikit-learn's issue #30382), the fallback to scikit-learn's code for other array namespaces,
and the supported scikit-learn range."""
import os
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
import sklearn.mixture._gaussian_mixture as sk_gaussian_mixture
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import fastgen
import fastgen.gmm._estimator as fg_estimator

REPO = Path(__file__).resolve().parents[2]
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_")


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.RandomState(0)
    return np.concatenate([rng.normal(size=(150, 2)) + [6, 0], rng.normal(size=(150, 2)) * 0.5])


def _snapshot(estimator):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in estimator.__dict__.items()}


def _assert_unchanged(estimator, before):
    assert estimator.__dict__.keys() == before.keys()
    for k, v in before.items():
        np.testing.assert_array_equal(estimator.__dict__[k], v, err_msg=k)


# ---------------------------------------------------------------- a subclass, with scikit-learn's API


def test_is_sklearns_class_with_a_backend():
    assert issubclass(fastgen.GaussianMixture, SkGaussianMixture)
    assert fastgen.GaussianMixture.__module__ == "fastgen"
    params = fastgen.GaussianMixture().get_params()
    assert params.pop("backend") is None
    assert params == SkGaussianMixture().get_params()
    for name in ("_set_parameters", "_get_parameters", "_initialize", "_initialize_parameters", "_e_step", "_m_step",
                 "_estimate_log_prob", "_estimate_weighted_log_prob", "_n_parameters", "_check_parameters"):
        assert callable(getattr(fastgen.GaussianMixture(), name))


def _message(cls, params, X, call=lambda gm, X: gm.fit(X)):
    with pytest.raises(Exception) as info:
        call(cls(**params), X)
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 2, "weights_init": [0.5, 0.6]},
        {"n_components": 2, "weights_init": [1.5, -0.5]},
        {"n_components": 2, "weights_init": [[0.5], [0.5]]},
        {"n_components": 2, "means_init": np.zeros((3, 2))},
        {"n_components": 2, "precisions_init": np.ones((2, 2, 2))},
        {"n_components": 2, "covariance_type": "tied", "precisions_init": -np.eye(2)},
        {"n_components": 2, "covariance_type": "diag", "precisions_init": np.zeros((2, 2))},
        {"n_components": 2, "covariance_type": "spherical", "precisions_init": np.ones(3)},
        {"n_components": 50},
        {"n_components": 0},
        {"covariance_type": "banana"},
    ],
)
def test_errors_are_sklearns(blobs, params):
    assert _message(fastgen.GaussianMixture, params, blobs[:20]) == _message(SkGaussianMixture, params, blobs[:20])


def test_sample_errors_are_sklearns(blobs):
    fitted = [cls(2, random_state=0).fit(blobs) for cls in (fastgen.GaussianMixture, SkGaussianMixture)]
    messages = []
    for gm in fitted:
        with pytest.raises(ValueError) as info:
            gm.sample(0)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "Invalid value for 'n_samples'" in messages[0]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # KMeans: 2 distinct points
def test_ill_defined_covariance_with_reg_covar_zero_raises_as_sklearn():
    """scikit-learn's test_regularisation: two collapsed clusters, ten components. The former
    class regularised them silently; now scikit-learn's ValueError, and the model is unchanged."""
    X = np.vstack((np.ones((5, 5)), np.zeros((5, 5))))
    for covariance_type in COVARIANCE_TYPES:
        settings = dict(n_components=10, reg_covar=0, covariance_type=covariance_type, random_state=0)
        assert _message(fastgen.GaussianMixture, settings, X) == _message(SkGaussianMixture, settings, X)
        gm = fastgen.GaussianMixture(**settings).set_params(reg_covar=1e-6).fit(X)
        before = _snapshot(gm)
        with pytest.raises(ValueError, match="ill-defined empirical covariance"):
            gm.set_params(reg_covar=0).fit(X)
        gm.set_params(reg_covar=1e-6)
        _assert_unchanged(gm, before)


def test_max_iter_zero_with_precisions_init_sets_the_covariances(blobs):
    """scikit-learn's raises AttributeError (no covariances_) here."""
    precisions = np.array([np.eye(2), 4 * np.eye(2)])
    gm = fastgen.GaussianMixture(2, precisions_init=precisions, max_iter=0, random_state=0).fit(blobs)
    np.testing.assert_allclose(gm.covariances_, np.linalg.inv(precisions), rtol=1e-12)
    np.testing.assert_allclose(gm.precisions_, precisions, rtol=1e-12)


# ---------------------------------------------------------------- the fused pass inside scikit-learn's loop


class _Counting:
    """A backend's GMM kernels, counting the calls and the rows they see."""

    def __init__(self, kernels):
        self.kernels, self.em_passes, self.log_prob_rows, self.score_passes = kernels, 0, 0, []

    def em_pass(self, X, *args):
        self.em_passes += 1
        return self.kernels.em_pass(X, *args)

    def weighted_log_prob(self, X, *args):
        self.log_prob_rows += X.shape[0]
        return self.kernels.weighted_log_prob(X, *args)

    def score_rows(self, X, *args, **outputs):
        self.score_passes.append((X.shape[0], outputs))
        return self.kernels.score_rows(X, *args, **outputs)

    def __getattr__(self, name):  # the k-means of the initialisation, not counted
        return getattr(self.kernels, name)


@pytest.mark.parametrize("n_init", [1, 3])
def test_each_iteration_is_one_fused_pass(cpu_backend, blobs, monkeypatch, n_init):
    """em_pass once per EM iteration; the final labels one fused scoring pass (no (N, K) array)."""
    counting = _Counting(fastgen._backend.resolve(cpu_backend, on_device=False).gmm)
    monkeypatch.setattr(fg_estimator._backend, "resolve", lambda *args, **kwargs: type("K", (), {"gmm": counting}))
    called = []
    monkeypatch.setattr(sk_gaussian_mixture, "_estimate_gaussian_parameters",
                        lambda *args, **kwargs: called.append(1))
    gm = fastgen.GaussianMixture(2, n_init=n_init, max_iter=7, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = gm.fit_predict(blobs)
    assert counting.em_passes == 7 * n_init and counting.log_prob_rows == 0 and not called
    assert counting.score_passes == [(len(blobs), {"labels": True, "proba": False})]
    np.testing.assert_array_equal(labels, gm.predict(blobs))


def test_scoring_methods_are_one_fused_pass_each(cpu_backend, blobs, monkeypatch):
    """score_samples, score, bic, aic, predict and predict_proba: one score_rows pass over X each,
    asking only for what the method returns, and no (N, K) log densities."""
    gm = fastgen.GaussianMixture(2, random_state=0, backend=cpu_backend).fit(blobs)
    counting = _Counting(fastgen._backend.resolve(cpu_backend, on_device=False).gmm)
    monkeypatch.setattr(fg_estimator._backend, "resolve", lambda *args, **kwargs: type("K", (), {"gmm": counting}))
    methods = {"score_samples": {"labels": False, "proba": False}, "score": {"labels": False, "proba": False},
               "bic": {"labels": False, "proba": False}, "aic": {"labels": False, "proba": False},
               "predict": {"labels": True, "proba": False}, "predict_proba": {"labels": False, "proba": True}}
    for name, outputs in methods.items():
        counting.score_passes.clear()
        getattr(gm, name)(blobs)
        assert counting.score_passes == [(len(blobs), outputs)], name
    assert counting.log_prob_rows == 0 and counting.em_passes == 0


def test_fit_makes_no_labelling_pass(cpu_backend, blobs, monkeypatch):
    """fit discards fit_predict's labels, so it skips their (N, K) pass, and fits the same model."""
    counting = _Counting(fastgen._backend.resolve(cpu_backend, on_device=False).gmm)
    monkeypatch.setattr(fg_estimator._backend, "resolve", lambda *args, **kwargs: type("K", (), {"gmm": counting}))
    settings = {"n_components": 2, "max_iter": 7, "tol": 0, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = fastgen.GaussianMixture(**settings).fit(blobs)
        assert counting.em_passes == 7 and counting.log_prob_rows == 0 and counting.score_passes == []
        labelled = fastgen.GaussianMixture(**settings)
        labelled.fit_predict(blobs)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bound_", "n_iter_"):
        np.testing.assert_array_equal(getattr(fitted, name), getattr(labelled, name))


def test_all_inits_given_estimate_nothing_at_initialisation(blobs, monkeypatch):
    """What scikit-learn's test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters
    is for (gh-26015), on fastgen's initialisation: with weights_init, means_init and
    precisions_init all given, nothing is estimated from responsibilities."""
    calls = []

    def counting(estimate):
        def counted(*args, **kwargs):
            calls.append(1)
            return estimate(*args, **kwargs)
        return counted

    for name in ("_estimate_from_resp", "_estimate_from_labels"):  # responsibilities; k-means labels
        monkeypatch.setattr(fg_estimator, name, counting(getattr(fg_estimator, name)))
    inits = {"weights_init": [0.5, 0.5], "means_init": blobs[[0, 200]], "precisions_init": np.array([np.eye(2)] * 2)}
    fastgen.GaussianMixture(2, **inits).fit(blobs)
    assert calls == []
    fastgen.GaussianMixture(2, **{**inits, "precisions_init": None}).fit(blobs)
    assert calls == [1]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_verbose_output_is_sklearns(blobs, covariance_type, capsys):
    settings = dict(n_components=2, covariance_type=covariance_type, random_state=0, verbose=1, verbose_interval=1)
    fastgen.GaussianMixture(**settings).fit(blobs)
    ours = capsys.readouterr().out
    SkGaussianMixture(**settings).fit(blobs)
    assert ours == capsys.readouterr().out and "Iteration 1" in ours


# ---------------------------------------------------------------- float32 data, float64 accumulation


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sklearn_issue_30382_reproducer(dtype, covariance_type):
    """scikit-learn's issue #30382: two points, two components, reg_covar=0.1: each variance is
    reg_covar (scikit-learn 1.9.1 fits variances of 112.1 for "diag" and 60.1 for "tied" on float32)."""
    X = np.array([[9999.0], [0.0]], dtype=dtype)
    gm = fastgen.GaussianMixture(2, covariance_type=covariance_type, reg_covar=0.1, random_state=0).fit(X)
    assert gm.covariances_.dtype == dtype
    np.testing.assert_allclose(gm.covariances_, 0.1, rtol=1e-6)
    np.testing.assert_allclose(np.sort(gm.means_.ravel()), [0.0, 9999.0], rtol=1e-7)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_far_from_origin_fits_the_float64_answer(cpu_backend, covariance_type):
    """Two tight clusters (spread 0.01) at 1e4 in float32, reg_covar=0: E[x^2] - E[x]^2 in
    float32 loses every digit of the variances (scikit-learn raises its ill-defined-covariance
    ValueError for tied, diag and spherical, and fits a negative covariance entry for full)."""
    rng = np.random.RandomState(0)
    X = np.concatenate([1e4 + rng.normal(size=(500, 2)) * 0.01,
                        1e4 + 5 + rng.normal(size=(500, 2)) * 0.01]).astype(np.float32)
    settings = dict(n_components=2, covariance_type=covariance_type, reg_covar=0, random_state=0, backend=cpu_backend)
    gm32 = fastgen.GaussianMixture(**settings).fit(X)
    gm64 = fastgen.GaussianMixture(**settings).fit(X.astype(np.float64))
    for name in FITTED:
        value = getattr(gm32, name)
        assert value.dtype == np.float32 and np.isfinite(value).all(), name
    assert np.all(np.linalg.eigvalsh(np.atleast_2d(gm32.covariances_)) > 0) if covariance_type in ("full", "tied") \
        else np.all(gm32.covariances_ > 0)
    order32, order64 = np.argsort(gm32.means_[:, 0]), np.argsort(gm64.means_[:, 0])
    np.testing.assert_allclose(gm32.means_[order32], gm64.means_[order64], rtol=1e-7)
    covariances32, covariances64 = gm32.covariances_, gm64.covariances_
    if covariance_type != "tied":
        covariances32, covariances64 = covariances32[order32], covariances64[order64]
    scale = np.abs(covariances64).max()
    np.testing.assert_allclose(covariances32, covariances64, rtol=1e-3, atol=1e-3 * scale)
    assert isinstance(gm32.lower_bound_, np.float64)
    # the log densities are float32's: the means they use are rounded to 1e-3 at 1e4, 0.05 spreads
    assert gm32.lower_bound_ == pytest.approx(gm64.lower_bound_, rel=1e-3)


def test_float32_one_component_is_the_float64_mean_and_variance(cpu_backend):
    rng = np.random.RandomState(1)
    X = (1e3 + rng.normal(size=(20_000, 3)) * [1.0, 1e-2, 1e-3]).astype(np.float32)
    gm = fastgen.GaussianMixture(1, covariance_type="diag", reg_covar=0, tol=1e-12, backend=cpu_backend).fit(X)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(gm.means_[0], X64.mean(axis=0), rtol=1e-7)
    np.testing.assert_allclose(gm.covariances_[0], X64.var(axis=0), rtol=1e-4)


# ---------------------------------------------------------------- other array namespaces: scikit-learn's code


def test_array_api_dispatch_runs_sklearns_code_on_torch_tensors(tmp_path):
    pytest.importorskip("torch")
    script = textwrap.dedent("""
        import numpy as np, sklearn, torch, fastgen
        X = np.random.RandomState(0).normal(size=(200, 2)) + np.repeat([[0, 0], [6, 6]], 100, axis=0)
        settings = dict(n_components=2, init_params="random_from_data", random_state=0)
        reference = fastgen.GaussianMixture(**settings).fit(X)
        with sklearn.config_context(array_api_dispatch=True):
            gm = fastgen.GaussianMixture(**settings).fit(torch.asarray(X))
            assert isinstance(gm.means_, torch.Tensor) and isinstance(gm.predict(torch.asarray(X)), torch.Tensor)
            assert isinstance(gm.score_samples(torch.asarray(X)), torch.Tensor)
            try:
                fastgen.GaussianMixture(**settings).fit(torch.asarray(X), sample_weight=np.ones(200))
            except ValueError as error:
                assert "NumPy" in str(error)
            else:
                raise AssertionError("sample_weight with torch tensors")
        np.testing.assert_allclose(gm.means_.numpy(), reference.means_, rtol=1e-7)
        print("ok")
    """)
    environ = {**os.environ, "SCIPY_ARRAY_API": "1"}
    completed = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=environ, capture_output=True,
                               text=True, timeout=300)
    assert completed.stdout.strip() == "ok", completed.stderr[-4000:]


# ---------------------------------------------------------------- the supported scikit-learn range


def test_supported_sklearn_range_is_pinned_and_its_lowest_release_is_tested_by_ci():
    """pyproject.toml pins scikit-learn to the releases whose private mixture API the subclass
    was tested on; .ci/run tests the lowest of them (SKLEARN_LOWEST) in a second environment,
    the newest being what pip installs in the first."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement
    from packaging.version import Version

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    requirements = [Requirement(r) for r in pyproject["project"]["dependencies"]]
    (sklearn_requirement,) = [r for r in requirements if r.name == "scikit-learn"]
    lower = [s for s in sklearn_requirement.specifier if s.operator == ">="]
    upper = [s for s in sklearn_requirement.specifier if s.operator == "<"]
    assert len(lower) == 1 and len(upper) == 1, "pin scikit-learn as >=LOWEST,<NEXT"
    ci_lowest = re.search(r"^SKLEARN_LOWEST=(\S+)$", (REPO / ".ci" / "run").read_text(), re.M)
    assert ci_lowest and Version(ci_lowest.group(1)) == Version(lower[0].version)
    assert Version(sklearn.__version__) in sklearn_requirement.specifier
