"""Tests of BernoulliRBM.log_partition, log_likelihood and sample(method="pt") against
float64 NumPy written here (brute force over both layers, enumeration of the hidden layer)."""
import copy
import itertools

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

import fastgen
from fastgen import rbm as ops

# AIS options that keep the cache tests quick (the accuracy test uses the defaults).
QUICK_AIS = dict(n_chains=4, betas=np.linspace(0.0, 1.0, 50), seed=1)


def _all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _hand_set(n_visible, n_hidden, seed, scale=1.0, **kwargs):
    rng = np.random.RandomState(seed)
    model = fastgen.BernoulliRBM(n_components=n_hidden, **kwargs)
    model.components_ = scale * rng.normal(size=(n_hidden, n_visible))
    model.intercept_visible_ = scale * rng.normal(size=n_visible)
    model.intercept_hidden_ = scale * rng.normal(size=n_hidden)
    return model


def _params64(model):
    return (np.asarray(a, dtype=np.float64) for a in (model.components_, model.intercept_visible_,
                                                      model.intercept_hidden_))


def _log_z_brute_force(model):
    """log sum over every (v, h) of exp(b.v + c.h + v W^T h), W = components_ (n_h, n_v)."""
    W, b, c = _params64(model)
    v, h = _all_states(W.shape[1]), _all_states(W.shape[0])
    minus_energy = (v @ b)[:, None] + (h @ c)[None, :] + v @ W.T @ h.T
    top = minus_energy.max()
    return float(top + np.log(np.exp(minus_energy - top).sum()))


def _log_z_over_hidden(model):
    """log Z = log sum_h exp(c.h + sum_i softplus(b_i + (h W)_i)), enumerating h only."""
    W, b, c = _params64(model)
    h = _all_states(W.shape[0])
    log_p = h @ c + np.logaddexp(0.0, h @ W + b).sum(axis=1)
    top = log_p.max()
    return float(top + np.log(np.exp(log_p - top).sum()))


def _mean_log_p(model, X, log_z):
    W, b, c = _params64(model)
    free = -X @ b - np.logaddexp(0.0, X @ W.T + c).sum(axis=1)
    return float(np.mean(-free) - log_z)


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data > 7).astype(np.float64)


@pytest.fixture(scope="module")
def digits_model(digits):
    """15 hidden units, 20 epochs of PCD-1 on the binarized digits."""
    return fastgen.BernoulliRBM(n_components=15, n_iter=20, learning_rate=0.05, random_state=0).fit(digits)


# ---------------------------------------------------------------- log Z


def test_log_partition_exact_equals_brute_force(cpu_backend):
    model = _hand_set(8, 5, seed=0, backend=cpu_backend)
    log_z = model.log_partition("exact")
    assert isinstance(log_z, float)
    assert abs(log_z - _log_z_brute_force(model)) < 1e-9


def test_ais_on_a_digits_model_brackets_the_exact_value(cpu_backend, digits, digits_model):
    model = copy.deepcopy(digits_model).set_params(backend=cpu_backend)
    exact = model.log_partition("exact")
    assert abs(exact - _log_z_over_hidden(model)) < 1e-9
    result = model.log_partition("ais", n_chains=100, base_visible_bias=ops.base_visible_bias(digits))
    assert isinstance(result, ops.AISResult)
    assert isinstance(result.log_weights, np.ndarray) and result.log_weights.shape == (100,)
    assert abs(result.log_z - exact) < 0.3
    assert result.log_z_lower <= exact <= result.log_z_upper
    # log_likelihood reuses that cached estimate.
    ais_ll = model.log_likelihood(digits, "ais", n_chains=100, base_visible_bias=ops.base_visible_bias(digits))
    assert ais_ll == pytest.approx(_mean_log_p(model, digits, result.log_z), abs=1e-9)


def test_log_likelihood_exact(cpu_backend, digits, digits_model):
    model = copy.deepcopy(digits_model).set_params(backend=cpu_backend)
    X = digits[:300]
    ll = model.log_likelihood(X, "exact")
    assert isinstance(ll, float)
    assert abs(ll - _mean_log_p(model, X, _log_z_over_hidden(model))) < 1e-9


# ---------------------------------------------------------------- the cache


def test_cache_returns_the_same_result_until_the_parameters_change(cpu_backend):
    model = _hand_set(6, 4, seed=1, backend=cpu_backend)
    first = model.log_partition("ais", **QUICK_AIS)
    assert model.log_partition("ais", **copy.deepcopy(QUICK_AIS)) is first
    exact = model.log_partition("exact")
    assert model.log_partition("exact") is exact
    assert model.log_partition("ais", **QUICK_AIS) is first  # both methods kept
    other_seed = model.log_partition("ais", **dict(QUICK_AIS, seed=2))
    assert other_seed is not first and other_seed.log_z != first.log_z

    model.components_[0, 0] += 0.5  # in place, by hand
    changed = model.log_partition("ais", **QUICK_AIS)
    assert changed is not first and changed.log_z != first.log_z
    new_exact = model.log_partition("exact")
    assert new_exact != exact and abs(new_exact - _log_z_brute_force(model)) < 1e-9

    model.intercept_hidden_ = model.intercept_hidden_ + 0.25  # a new array
    assert model.log_partition("exact") != new_exact


def test_cache_sees_options_edited_in_place(cpu_backend):
    model = _hand_set(6, 4, seed=1, backend=cpu_backend)
    betas = np.linspace(0.0, 1.0, 50)
    first = model.log_partition("ais", n_chains=4, betas=betas)
    betas[1:-1] **= 2
    assert model.log_partition("ais", n_chains=4, betas=betas).log_z != first.log_z


def test_cache_recomputes_after_partial_fit(cpu_backend, digits):
    model = fastgen.BernoulliRBM(n_components=6, random_state=0, backend=cpu_backend).fit(digits[:100])
    exact = model.log_partition("exact")
    ll = model.log_likelihood(digits[:50], "exact")
    model.partial_fit(digits[100:200])
    assert model.log_partition("exact") != exact
    assert abs(model.log_partition("exact") - _log_z_over_hidden(model)) < 1e-9
    assert model.log_likelihood(digits[:50], "exact") != ll


# ---------------------------------------------------------------- parallel tempering through the estimator


def test_sample_pt(cpu_backend):
    model = _hand_set(6, 3, seed=4, random_state=0, backend=cpu_backend)
    samples = model.sample(40, n_steps=5, method="pt", n_temperatures=4)
    assert samples.shape == (40, 6) and samples.dtype == np.float64
    assert np.all((samples == 0) | (samples == 1))
    again, acceptance = model.sample(40, n_steps=5, random_state=3, method="pt", betas=[0.0, 0.5, 1.0],
                                     return_acceptance=True)
    assert acceptance.shape == (2,) and np.all((acceptance > 0) & (acceptance <= 1))
    same = model.sample(40, n_steps=5, random_state=3, method="pt", betas=[0.0, 0.5, 1.0])
    assert np.array_equal(again, same)
    assert not np.array_equal(again, model.sample(40, n_steps=5, random_state=4, method="pt", betas=[0.0, 0.5, 1.0]))


def test_sample_pt_follows_the_exact_distribution(cpu_backend):
    model = _hand_set(5, 3, seed=2, scale=1.5, random_state=0, backend=cpu_backend)
    W, b, c = _params64(model)
    states = _all_states(5)
    log_p = states @ b + np.logaddexp(0.0, states @ W.T + c).sum(axis=1)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    samples = model.sample(5000, n_steps=20, method="pt", n_temperatures=4)
    np.testing.assert_allclose(samples.mean(axis=0), p @ states, atol=0.03)  # standard errors <= 0.007


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.log_partition("exact"),
        lambda m: m.log_partition("ais", **QUICK_AIS),
        lambda m: m.log_likelihood(np.zeros((2, 3)), "exact"),
        lambda m: m.sample(2, n_steps=2, method="pt"),
    ],
)
def test_unfitted_estimator_raises_not_fitted(call):
    with pytest.raises(NotFittedError):
        call(fastgen.BernoulliRBM())


def test_bad_arguments():
    model = _hand_set(6, 4, seed=1)
    X = np.zeros((3, 6))
    with pytest.raises(ValueError, match="method"):
        model.log_partition("mcmc")
    with pytest.raises(ValueError, match="method"):
        model.log_likelihood(X, "mcmc")
    with pytest.raises(ValueError, match="method"):
        model.sample(2, method="annealing")
    with pytest.raises(ValueError, match="n_chain"):
        model.log_partition("ais", n_chain=10)
    with pytest.raises(ValueError, match="seed"):
        model.log_partition("exact", seed=1)
    with pytest.raises(ValueError, match="n_chains"):
        model.log_partition("ais", n_chains=0)
    with pytest.raises(ValueError, match="betas"):
        model.log_partition("ais", betas=[0.0, 0.5])
    with pytest.raises(ValueError, match="binary"):
        model.log_likelihood(np.full((3, 6), 0.5), "exact")
    with pytest.raises(ValueError, match="6 visible units"):
        model.log_likelihood(np.zeros((3, 5)), "exact")
    with pytest.raises(ValueError, match="binary"):
        model.log_likelihood(np.full((3, 6), 2.0), "exact")
    with pytest.raises(ValueError, match="n_temperatures"):
        model.sample(2, method="pt", n_temperatures=1)
    with pytest.raises(ValueError, match="betas"):
        model.sample(2, method="pt", betas=[0.0, 0.7, 0.5, 1.0])
    with pytest.raises(ValueError, match="method='pt'"):
        model.sample(2, betas=[0.0, 1.0])
    with pytest.raises(ValueError, match="method='pt'"):
        model.sample(2, return_acceptance=True)
