"""fastgen.NADE: training against the exact update rules, scoring against the NumPy reference,
sampling, all-or-nothing fits, scikit-learn's conventions and bad input."""
import pickle

import numpy as np
import pytest
from nade_reference import log_likelihood
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

import fastgen
from fastgen import nade

MODEL = ("input_weights_", "output_weights_", "intercept_visible_", "intercept_hidden_")


def _data(n=120, D=9, seed=0, dtype=np.float64):
    """Binary rows from two prototypes with flipped bits: structure a NADE can learn."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((2, D)) < 0.5
    rows = prototypes[rng.integers(0, 2, n)] ^ (rng.random((n, D)) < 0.1)
    return rows.astype(dtype)


def _independent_log_likelihood(X_train, X_test):
    """Mean log-likelihood of X_test under independent Bernoulli units fitted to X_train."""
    p = np.clip(X_train.mean(axis=0), 1e-3, 1 - 1e-3)
    return float(np.mean(X_test @ np.log(p) + (1 - X_test) @ np.log1p(-p)))


def test_fit_learns_more_than_the_marginals(cpu_backend):
    X = _data(400)
    model = fastgen.NADE(n_components=8, n_iter=30, learning_rate=0.01, batch_size=20, random_state=0,
                         backend=cpu_backend).fit(X[:300])
    assert model.score(X[300:]) > _independent_log_likelihood(X[:300], X[300:]) + 0.5  # at most ~0.9 to gain


def test_score_samples_is_the_exact_log_likelihood(backend):
    X = _data()
    model = fastgen.NADE(n_components=5, n_iter=2, random_state=1, backend=backend).fit(X)
    expected = log_likelihood(X, *(getattr(model, name) for name in MODEL))
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-12, atol=1e-12)
    assert model.score(X) == pytest.approx(expected.mean(), rel=1e-12)


def test_zero_epochs_give_the_marginals():
    """With n_iter=0 each conditional is sigmoid(b_d + V_d . h) with V small: near the data's marginals."""
    X = _data()
    model = fastgen.NADE(n_components=4, n_iter=0, random_state=0).fit(X)
    np.testing.assert_allclose(model.score(X), _independent_log_likelihood(X, X), atol=0.05)


def test_one_sgd_step_is_the_gradient_times_the_learning_rate():
    X = _data(30)
    start = fastgen.NADE(n_components=4, n_iter=0, random_state=3).fit(X)
    model = fastgen.NADE(n_components=4, optimizer="sgd", learning_rate=0.5, batch_size=30, shuffle=False,
                         random_state=3).partial_fit(X)
    _, *grads = nade.log_likelihood_grad(X, *(getattr(start, name) for name in MODEL))
    for name, g in zip(MODEL, grads):
        np.testing.assert_allclose(getattr(model, name), getattr(start, name) + 0.5 * g, rtol=1e-12, atol=1e-15)


def test_adam_steps_follow_its_rule():
    """Two Adam steps, from partial_fit twice (its moments carried over), against the rule
    (Kingma & Ba's Algorithm 1, as torch.optim.Adam) written out in NumPy."""
    X = _data(30)
    lr, (beta1, beta2), eps = 0.01, (0.9, 0.999), 1e-8
    params = [getattr(fastgen.NADE(n_components=4, n_iter=0, random_state=3).fit(X), name) for name in MODEL]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    for t in (1, 2):
        _, *grads = nade.log_likelihood_grad(X, *params)
        for i, g in enumerate(grads):
            first[i] = beta1 * first[i] + (1 - beta1) * g
            second[i] = beta2 * second[i] + (1 - beta2) * g * g
            m_hat, v_hat = first[i] / (1 - beta1**t), second[i] / (1 - beta2**t)
            params[i] = params[i] + lr * m_hat / (np.sqrt(v_hat) + eps)
    model = fastgen.NADE(n_components=4, learning_rate=lr, batch_size=30, shuffle=False, random_state=3)
    model.partial_fit(X).partial_fit(X)
    for name, expected in zip(MODEL, params):
        np.testing.assert_allclose(getattr(model, name), expected, rtol=1e-9, atol=1e-12, err_msg=name)


def test_fits_on_cpu_and_numba_are_identical(cpu_backends):
    if len(cpu_backends) < 2:
        pytest.skip("needs both CPU backends")
    X = _data(150, dtype=np.float32)
    fits = [fastgen.NADE(n_components=6, n_iter=3, batch_size=40, random_state=4, backend=name).fit(X)
            for name in cpu_backends]
    for name in MODEL:
        np.testing.assert_array_equal(getattr(fits[0], name), getattr(fits[1], name))
    np.testing.assert_array_equal(fits[0].sample(50, random_state=2), fits[1].sample(50, random_state=2))


def test_dtype_is_kept():
    X = _data(dtype=np.float32)
    model = fastgen.NADE(n_components=3, n_iter=1, random_state=0).fit(X)
    assert all(getattr(model, name).dtype == np.float32 for name in MODEL)
    assert model.transform(X).dtype == np.float32 and model.sample(2).dtype == np.float32
    assert fastgen.NADE(n_components=3, n_iter=1).fit(X.astype(int)).input_weights_.dtype == np.float64


def test_sample_and_transform():
    X = _data()
    model = fastgen.NADE(n_components=5, n_iter=2, random_state=0).fit(X)
    samples = model.sample(40, random_state=7)
    assert samples.shape == (40, 9) and set(np.unique(samples)) <= {0.0, 1.0}
    np.testing.assert_array_equal(samples, model.sample(40, random_state=7))
    assert not np.array_equal(model.sample(40), model.sample(40))  # the stream moves on
    W, c = model.input_weights_, model.intercept_hidden_
    np.testing.assert_allclose(model.transform(X), 1 / (1 + np.exp(-(X @ W + c))), rtol=1e-12)
    assert list(model.get_feature_names_out()) == [f"nade{i}" for i in range(5)]


def test_pickles_and_clones():
    X = _data()
    model = fastgen.NADE(n_components=4, n_iter=1, random_state=0).fit(X)
    assert type(model).__module__ == "fastgen"
    data = pickle.dumps(model)
    assert b"fastgen.nade" not in data
    again = pickle.loads(data)
    np.testing.assert_array_equal(again.score_samples(X), model.score_samples(X))
    np.testing.assert_array_equal(again.sample(5), model.sample(5))
    assert clone(model).get_params() == model.get_params()


# ---------------------------------------------------------------- all or nothing


def _failing_gradient(monkeypatch, when, failure):
    """Make the cpu kernels' gradient fail at call number `when`: NaN values, or raise `failure`."""
    from fastgen.nade import _cpu

    original = _cpu.Kernels.gradient
    calls = []

    def gradient(self, v, W, V, b, c, scale):
        calls.append(1)
        grad, log_p = original(self, v, W, V, b, c, scale)
        if len(calls) == when:
            if failure is None:
                grad[:] = np.nan
            else:
                raise failure
        return grad, log_p

    monkeypatch.setattr(_cpu.Kernels, "gradient", gradient)


@pytest.mark.parametrize("failure", [None, KeyboardInterrupt()])
def test_failed_fits_leave_the_model_as_it_was(monkeypatch, failure):
    pytest.importorskip("fastgen._core")
    X = _data(dtype=np.float32)
    model = fastgen.NADE(n_components=4, n_iter=3, batch_size=50, random_state=0, backend="cpu").fit(X)
    before = {name: np.array(getattr(model, name), copy=True) for name in (*MODEL, "n_features_in_")}
    optimizer_step = model._optimizer_state["step"]
    with pytest.raises(ValueError, match="binary"):
        model.fit(X * 0.5)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :5])
    expected = FloatingPointError if failure is None else KeyboardInterrupt
    _failing_gradient(monkeypatch, 5, failure)  # in the second epoch
    with pytest.raises(expected):
        model.fit(X)
    _failing_gradient(monkeypatch, 2, failure)
    with pytest.raises(expected):
        model.partial_fit(X)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)
    assert model._optimizer_state["step"] == optimizer_step


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("params", [
    {"n_components": 0}, {"n_components": 2.5}, {"learning_rate": 0}, {"learning_rate": "big"}, {"batch_size": 0},
    {"n_iter": -1}, {"optimizer": "rmsprop"}, {"momentum": 1.0}, {"shuffle": "yes"}, {"backend": "tpu"},
])
def test_bad_hyperparameters_are_named(params):
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        fastgen.NADE(**params).fit(_data())


@pytest.mark.parametrize("X, error, match", [
    (np.full((4, 3), 0.5), ValueError, "binary"),
    (np.array([[0.0, 1.0], [np.nan, 1.0]]), ValueError, "NaN"),
    (np.array([0.0, 1.0, 1.0]), ValueError, "2D array"),
    (np.array([["a", "b"]]), ValueError, "convert"),
    (np.zeros((0, 3)), ValueError, "0 sample"),
])
def test_bad_training_data_is_refused(X, error, match):
    with pytest.raises(error, match=match):
        fastgen.NADE(n_iter=1).fit(X)


def test_bad_calls_of_a_fitted_model():
    X = _data()
    with pytest.raises(NotFittedError):
        fastgen.NADE().score_samples(X)
    with pytest.raises(NotFittedError):
        fastgen.NADE().sample(2)
    model = fastgen.NADE(n_components=3, n_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="9 features"):
        model.score_samples(X[:, :4])
    with pytest.raises(ValueError, match="binary"):
        model.transform(X * 0.3)
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(-1)
    with pytest.raises(TypeError, match="n_samples"):
        model.sample(2.0)
    model.output_weights_ = model.output_weights_[:, :2]
    with pytest.raises(ValueError, match="output_weights_ must have shape"):
        model.score(X)
    model.output_weights_ = np.full((9, 3), np.nan)
    with pytest.raises(ValueError, match="output_weights_ contains NaN"):
        model.sample(1)
