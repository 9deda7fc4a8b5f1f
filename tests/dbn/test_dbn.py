"""Tests of fastgen.DBN: greedy training, the up-pass, and the ancestral sampler against the
exact distribution of a tiny net (enumerated in float64 NumPy here)."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

import fastgen


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data[:400] > 7).astype(np.float64)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _up_pass(rbms, X):
    """float64 reference of DBN.transform: the chain of p(h = 1 | x) through the layers."""
    inputs = [X]
    for rbm in rbms:
        inputs.append(_sigmoid(inputs[-1] @ rbm.components_.T.astype(np.float64) + rbm.intercept_hidden_))
    return inputs


def _mean_reconstruction_error(rbm, x):
    p_h = _sigmoid(x @ rbm.components_.T + rbm.intercept_hidden_)
    return np.mean((_sigmoid(p_h @ rbm.components_ + rbm.intercept_visible_) - x) ** 2)


def test_transform_is_the_up_pass(digits, cpu_backend):
    dbn = fastgen.DBN((16, 8), n_iter=2, batch_size=20, learning_rate=0.05, random_state=0,
                      backend=cpu_backend).fit(digits)
    assert [rbm.components_.shape for rbm in dbn.rbms_] == [(16, 64), (8, 16)]
    np.testing.assert_allclose(dbn.transform(digits), _up_pass(dbn.rbms_, digits)[-1], rtol=1e-9, atol=1e-12)


def test_greedy_training_reduces_each_layers_reconstruction_error(digits, cpu_backend):
    dbn = fastgen.DBN((24, 12), n_iter=10, batch_size=20, learning_rate=0.05, random_state=1,
                      backend=cpu_backend).fit(digits)
    inputs = _up_pass(dbn.rbms_, digits)
    errors = dbn.reconstruction_errors(digits)
    for layer, rbm in enumerate(dbn.rbms_):
        np.testing.assert_allclose(errors[layer], _mean_reconstruction_error(rbm, inputs[layer]), rtol=1e-9)
        untrained = clone(rbm).set_params(n_iter=0).fit(inputs[layer])
        before = _mean_reconstruction_error(untrained, inputs[layer])
        assert errors[layer] < 0.7 * before, (layer, errors[layer], before)


def test_propagate_sample_trains_the_next_layer_on_binary_states(digits, cpu_backend):
    dbn = fastgen.DBN((10, 5), n_iter=1, propagate="sample", random_state=2, backend=cpu_backend).fit(digits)
    assert dbn.rbms_[1].components_.shape == (5, 10)
    same = fastgen.DBN((10, 5), n_iter=1, propagate="sample", random_state=2, backend=cpu_backend).fit(digits)
    np.testing.assert_array_equal(dbn.rbms_[1].components_, same.rbms_[1].components_)
    means = fastgen.DBN((10, 5), n_iter=1, propagate="mean", random_state=2, backend=cpu_backend).fit(digits)
    np.testing.assert_array_equal(dbn.rbms_[0].components_, means.rbms_[0].components_)
    assert not np.array_equal(dbn.rbms_[1].components_, means.rbms_[1].components_)


def _set_layer(rbm, rng, scale):
    """Hand-set parameters of a fitted layer with strong weights (so the test has structure)."""
    n_hidden, n_visible = rbm.components_.shape
    rbm.components_ = rng.normal(0, scale, (n_hidden, n_visible))
    rbm.intercept_hidden_ = rng.normal(0, 1, n_hidden)
    rbm.intercept_visible_ = rng.normal(0, 1, n_visible)


def _exact_visible_marginal(rbms):
    """p(v) of a DBN with layers v - h1 - h2 by enumeration: p(h1) is the top RBM's marginal of
    its visible units, and p(v | h1) the bottom layer's conditional, all float64."""
    bottom, top = rbms
    h1 = np.array(list(itertools.product([0, 1], repeat=top.components_.shape[1])), dtype=np.float64)
    h2 = np.array(list(itertools.product([0, 1], repeat=top.components_.shape[0])), dtype=np.float64)
    log_joint = (h1 @ top.intercept_visible_)[:, None] + (h2 @ top.intercept_hidden_)[None, :]
    log_joint += h1 @ top.components_.T @ h2.T
    p_h1 = np.exp(log_joint - log_joint.max()).sum(axis=1)
    p_h1 /= p_h1.sum()
    v = np.array(list(itertools.product([0, 1], repeat=bottom.components_.shape[1])), dtype=np.float64)
    p_v_given_h1 = _sigmoid(h1 @ bottom.components_ + bottom.intercept_visible_)  # (states h1, n_visible)
    likelihood = np.prod(np.where(v[:, None, :] == 1, p_v_given_h1[None], 1 - p_v_given_h1[None]), axis=2)
    return likelihood @ p_h1, v


def test_sample_matches_the_exact_distribution_of_a_tiny_dbn(cpu_backend):
    data = (np.random.RandomState(0).uniform(size=(50, 4)) < 0.5).astype(np.float64)
    dbn = fastgen.DBN((3, 2), n_iter=1, random_state=0, backend=cpu_backend).fit(data)
    rng = np.random.RandomState(5)
    for rbm in dbn.rbms_:
        _set_layer(rbm, rng, 2.0)
    exact, states = _exact_visible_marginal(dbn.rbms_)
    n = 20000
    samples = dbn.sample(n, n_steps=50, random_state=3)
    assert samples.shape == (n, 4) and set(np.unique(samples)) <= {0.0, 1.0}
    index = samples @ (1 << np.arange(3, -1, -1))
    observed = np.bincount(index.astype(int), minlength=16) / n
    tv = 0.5 * np.abs(observed - exact).sum()
    draws = np.random.default_rng(0)
    floor = np.mean([0.5 * np.abs(np.bincount(draws.choice(16, n, p=exact), minlength=16) / n - exact).sum()
                     for _ in range(20)])
    assert tv < 1.5 * floor, (tv, floor)
    assert states.shape == (16, 4)


def test_same_seed_same_samples_and_fit(digits, cpu_backend):
    make = lambda: fastgen.DBN((12, 6), n_iter=1, random_state=4, backend=cpu_backend).fit(digits)  # noqa: E731
    a, b = make(), make()
    for ra, rb in zip(a.rbms_, b.rbms_):
        np.testing.assert_array_equal(ra.components_, rb.components_)
    np.testing.assert_array_equal(a.sample(30, 20, random_state=9), b.sample(30, 20, random_state=9))
    assert not np.array_equal(a.sample(30, 20), a.sample(30, 20))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"layer_sizes": ()}, "at least one hidden layer"),
        ({"layer_sizes": (4, 0)}, r"layer_sizes\[1\]"),
        ({"layer_sizes": 5}, "layer_sizes.*must be an array-like"),
        ({"first_layer": "poisson"}, "first_layer"),
        ({"propagate": "maybe"}, "propagate"),
        ({"learning_rate": (0.1, 0.1, 0.1)}, "learning_rate must be one value or 2"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"n_iter": (1, -1)}, "n_iter"),
        ({"batch_size": 0}, "batch_size"),
        ({"backend": "fortran"}, "backend"),
    ],
)
def test_bad_hyperparameters(digits, params, message):
    dbn = fastgen.DBN(**{"layer_sizes": (4, 3), **params})
    with pytest.raises(ValueError, match=message):
        dbn.fit(digits)


def test_bad_input_and_failed_fit_keeps_the_model(digits, cpu_backend):
    dbn = fastgen.DBN((6, 3), n_iter=1, random_state=0, backend=cpu_backend)
    with pytest.raises(NotFittedError):
        dbn.transform(digits)
    dbn.fit(digits)
    weights = [rbm.components_.copy() for rbm in dbn.rbms_]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dbn.fit(digits * 3)
    with pytest.raises(ValueError, match="NaN|infinity"):
        dbn.fit(np.where(digits == 1, np.nan, digits))
    for rbm, before in zip(dbn.rbms_, weights):
        np.testing.assert_array_equal(rbm.components_, before)
    assert dbn.n_features_in_ == 64
    with pytest.raises(ValueError, match="features"):
        dbn.transform(digits[:, :10])
    with pytest.raises(ValueError, match="n_samples"):
        dbn.sample(0)


def test_gaussian_first_layer(cpu_backend):
    X = load_digits().data[:300]
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-3)
    dbn = fastgen.DBN((16, 8), first_layer="gaussian", learning_rate=(0.005, 0.05), n_iter=3, batch_size=20,
                      random_state=0, backend=cpu_backend).fit(X)
    bottom, top = dbn.rbms_
    assert isinstance(bottom, fastgen.GaussianBernoulliRBM) and isinstance(top, fastgen.BernoulliRBM)
    # the up-pass through a Gaussian-Bernoulli layer: p(h = 1 | v) = sigmoid(c + (v / sigma^2) W)
    first = _sigmoid((X / bottom.sigma_**2) @ bottom.components_.T + bottom.intercept_hidden_)
    np.testing.assert_allclose(dbn.transform(X), _up_pass([top], first)[-1], rtol=1e-9, atol=1e-12)
    samples = dbn.sample(50, n_steps=20, random_state=0)
    assert samples.shape == (50, 64) and np.isfinite(samples).all()
    assert len(np.unique(samples)) > 1000  # real values: the Gaussian visible draws
    with pytest.raises(TypeError, match="[Ss]parse"):
        dbn.transform(sp.csr_matrix(X))
