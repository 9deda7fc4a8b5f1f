"""All-or-nothing fits, divergence stops, hand-set parameters and wrong kinds of input, for the
RBM estimators and the ops (issue: hardening)."""
import numpy as np
import pytest
import scipy.sparse as sp

import fastgen
from fastgen import gbrbm, rbm
from fastgen.rbm import _base


def _binary(rows=60, cols=6, seed=0):
    return (np.random.default_rng(seed).random((rows, cols)) < 0.4).astype(np.float64)


def _interrupt_in_epoch(monkeypatch, epoch, n_batches):
    """Make the trainer's step raise KeyboardInterrupt in the given epoch."""
    original, calls = _base.Trainer.step, []

    def step(self, v_data, stream):
        calls.append(1)
        if len(calls) > (epoch - 1) * n_batches:
            raise KeyboardInterrupt
        return original(self, v_data, stream)

    monkeypatch.setattr(_base.Trainer, "step", step)


@pytest.mark.parametrize("make", [lambda: fastgen.BernoulliRBM(n_components=4, n_iter=3, batch_size=20),
                                  lambda: fastgen.GaussianBernoulliRBM(n_components=4, n_iter=3, batch_size=20)])
def test_an_interrupted_refit_leaves_the_model_as_it_was(monkeypatch, make, cpu_backend):
    model = make().set_params(random_state=0, backend=cpu_backend).fit(_binary())
    before = {name: getattr(model, name).copy() for name in model._trained_attributes}
    _interrupt_in_epoch(monkeypatch, epoch=2, n_batches=3)
    with pytest.raises(KeyboardInterrupt):
        model.set_params(n_components=7).fit(_binary(cols=9))
    assert model.n_features_in_ == 6
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)


def test_fit_iter_keeps_the_last_completed_epoch(monkeypatch, cpu_backend):
    model = fastgen.BernoulliRBM(n_components=4, n_iter=3, batch_size=20, random_state=0, backend=cpu_backend)
    _interrupt_in_epoch(monkeypatch, epoch=2, n_batches=3)
    epochs = []
    with pytest.raises(KeyboardInterrupt):
        for epoch in model.fit_iter(_binary()):
            epochs.append(epoch)
            first = model.components_.copy()
    assert epochs == [1]
    np.testing.assert_array_equal(model.components_, first)


def test_a_failed_first_partial_fit_sets_nothing(cpu_backend):
    model = fastgen.BernoulliRBM(n_components=3, backend=cpu_backend)
    with pytest.raises(ValueError):
        model.partial_fit(np.full((4, 5), np.nan))
    assert not hasattr(model, "n_features_in_") and not hasattr(model, "components_")
    model = fastgen.GaussianBernoulliRBM(n_components=3, learning_rate=1e308, backend=cpu_backend)
    with pytest.raises(FloatingPointError, match="partial_fit"):
        model.partial_fit(1e6 * np.random.default_rng(0).normal(size=(8, 5)))
    assert not hasattr(model, "n_features_in_") and not hasattr(model, "components_")


@pytest.mark.parametrize("kwargs, scale", [(dict(learn_sigma=True, learning_rate=0.01), 1000.0),
                                           (dict(learning_rate=1e300), 1.0)])
def test_a_diverging_fit_stops_with_an_error_and_keeps_the_model(kwargs, scale, cpu_backend):
    X = np.random.default_rng(1).normal(size=(100, 5))
    model = fastgen.GaussianBernoulliRBM(n_components=3, n_iter=2, random_state=0, backend=cpu_backend).fit(X)
    before = model.components_.copy()
    with pytest.raises(FloatingPointError, match=r"diverged: \w+ holds NaN or infinity after epoch \d"):
        model.set_params(n_iter=5, **kwargs).fit(X * scale)
    np.testing.assert_array_equal(model.components_, before)


def test_a_binary_rbm_diverging_stops_too(cpu_backend):
    with pytest.raises(FloatingPointError, match="learning_rate"):
        fastgen.BernoulliRBM(n_components=3, n_iter=2, learning_rate=1e308, random_state=0,
                             backend=cpu_backend).fit(_binary() * 1e10)


def test_tiny_sigma_is_refused_before_it_overflows(cpu_backend):
    X = np.random.default_rng(2).normal(size=(20, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="sigma holds standard deviations too small for float32"):
        fastgen.GaussianBernoulliRBM(n_components=2, n_iter=1, sigma=1e-25, backend=cpu_backend).fit(X)
    W = np.ones((3, 2), np.float32)
    with pytest.raises(ValueError, match="too small for float32"):
        gbrbm.free_energy(X, W, np.zeros(3, np.float32), np.zeros(2, np.float32), np.full(3, 1e-25, np.float32),
                          backend=cpu_backend)


@pytest.mark.parametrize("name, value, match", [
    ("intercept_hidden_", np.zeros(4), r"intercept_hidden_ must have shape \(3,\)"),
    ("intercept_visible_", np.zeros(2), r"intercept_visible_ must have shape \(6,\)"),
    ("intercept_visible_", np.full(6, np.nan), "intercept_visible_ contains NaN"),
    ("components_", np.zeros((3, 6, 1)), r"components_ must be 2-D"),
    ("components_", np.zeros((4, 6)), r"intercept_hidden_ must have shape \(4,\)"),
])
def test_hand_set_parameters_of_the_wrong_shape_are_named(name, value, match, cpu_backend):
    model = fastgen.BernoulliRBM(n_components=3, n_iter=1, random_state=0, backend=cpu_backend).fit(_binary())
    setattr(model, name, value)
    for method in (model.transform, model.free_energy, model.score_samples, model.gibbs, model.partial_fit):
        with pytest.raises(ValueError, match=match):
            method(_binary())


def test_hand_set_sigma_of_the_wrong_length_is_named(cpu_backend):
    model = fastgen.GaussianBernoulliRBM(n_components=2, n_iter=1, backend=cpu_backend).fit(
        np.random.default_rng(0).normal(size=(30, 4)))
    model.sigma_ = np.ones(3)
    with pytest.raises(ValueError, match=r"sigma_ must have shape \(4,\)"):
        model.transform(np.zeros((2, 4)))


def test_non_contiguous_hand_set_parameters_work(cpu_backend):
    model = fastgen.BernoulliRBM(n_components=3, n_iter=1, random_state=0, backend=cpu_backend).fit(_binary())
    expected = model.transform(_binary())
    model.intercept_hidden_ = np.repeat(model.intercept_hidden_, 2)[::2]
    model.components_ = np.asfortranarray(model.components_)
    np.testing.assert_array_equal(model.transform(_binary()), expected)
    model.partial_fit(_binary())


@pytest.mark.parametrize("make", [lambda v, W, c: rbm.sample_hidden(v, W, c, seed=0),
                                  lambda v, W, c: rbm.free_energy(v, W, np.zeros(4), c)])
def test_ops_name_the_argument_given_none_or_a_sparse_matrix(make, cpu_backend):
    v, W, c = _binary(5, 4), np.zeros((4, 3)), np.zeros(3)
    with fastgen.use_backend(cpu_backend):
        with pytest.raises(TypeError, match="v is a SciPy sparse matrix"):
            make(sp.csr_matrix(v), W, c)
        with pytest.raises(TypeError, match="W must be an array, got None"):
            make(v, None, c)
        with pytest.raises(TypeError, match="v must be an array, got None"):
            make(None, W, c)


def test_a_diverging_dbm_stops_with_an_error_and_keeps_the_model(cpu_backend):
    X = _binary(40, 6)
    model = fastgen.DBM((4, 3), n_iter=1, pretrain_n_iter=1, batch_size=20, random_state=0, backend=cpu_backend)
    model.fit(X)
    before = [W.copy() for W in model.weights_]
    with pytest.raises(FloatingPointError, match=r"diverged: \w+ holds NaN or infinity after epoch"):
        model.set_params(learning_rate=1e308, momentum=0.99, pretrain=False, n_iter=3).fit(X)
    for W, W_before in zip(model.weights_, before):
        np.testing.assert_array_equal(W, W_before)


def test_float32_weights_whose_products_overflow_are_refused(cpu_backend):
    """Weights near 1e38 in float32 would turn sums into inf or NaN, in an order that depends on
    the kernel (the sparse and dense paths disagreed): refused before any kernel runs."""
    W = np.full((6, 3), 1e38, np.float32)
    W[::2] *= -1
    b, c = np.zeros(6, np.float32), np.zeros(3, np.float32)
    v = np.ones((2, 6), np.float32)
    for call in (lambda: rbm.free_energy(v, W, b, c, backend=cpu_backend),
                 lambda: rbm.sample_hidden(v, W, c, seed=0, backend=cpu_backend),
                 lambda: rbm.gibbs(v, W, b, c, 1, seed=0, backend=cpu_backend),
                 lambda: gbrbm.free_energy(v, W, b, c, np.ones(6, np.float32), backend=cpu_backend)):
        with pytest.raises(ValueError, match="W holds values up to 1e\\+38: in float32, its products"):
            call()
    # the same values in float64 are fine
    assert np.isfinite(rbm.free_energy(v.astype(np.float64), W.astype(np.float64), b.astype(np.float64),
                                       c.astype(np.float64), backend=cpu_backend)).all()
    model = fastgen.BernoulliRBM(n_components=3, n_iter=1, random_state=0, backend=cpu_backend).fit(_binary())
    model.components_ = W.T.copy()
    model.intercept_visible_, model.intercept_hidden_ = b, c
    with pytest.raises(ValueError, match="components_ holds values up to"):
        model.transform(np.ones((2, 6)))


ESTIMATOR_CLASSES = [
    lambda **kw: fastgen.BernoulliRBM(**kw),
    lambda **kw: fastgen.GaussianBernoulliRBM(**kw),
    lambda **kw: fastgen.DBN(layer_sizes=(3, 2), **kw),
    lambda **kw: fastgen.DBM(layer_sizes=(3, 2), n_chains=4, **kw),
]


@pytest.mark.parametrize("make", ESTIMATOR_CLASSES)
@pytest.mark.parametrize("name", ["batch_size", "n_iter"])
def test_a_bool_count_is_refused_by_name(make, name):
    # scikit-learn's Interval(Integral) admits bools; True rows per batch is a mistake
    with pytest.raises(ValueError, match=f"'{name}' parameter .* not a bool"):
        make(**{name: True}).fit(_binary())


@pytest.mark.parametrize("X, match", [(1.5, "^X: Expected 2D array"), ("abc", "^X: ")])
@pytest.mark.parametrize("make", ESTIMATOR_CLASSES)
def test_scikit_learns_data_errors_name_X(make, X, match):
    with pytest.raises(ValueError, match=match):
        make().fit(X)


@pytest.mark.parametrize("batch_size", [2**32, 2**64])
def test_persistent_chains_too_many_to_allocate_name_their_count(batch_size, cpu_backend):
    # n_chains defaults to batch_size, as scikit-learn's h_samples_ (batch_size rows)
    model = fastgen.BernoulliRBM(n_components=2, n_iter=1, batch_size=2, random_state=0, backend=cpu_backend)
    model.fit(_binary(rows=4))
    before = model.components_.copy()
    with pytest.raises((ValueError, MemoryError), match=f"batch_size={batch_size} persistent chains"):
        model.set_params(batch_size=batch_size).fit(_binary(rows=4))
    np.testing.assert_array_equal(model.components_, before)


@pytest.mark.parametrize("make", [lambda: fastgen.BernoulliRBM(n_components=4, batch_size=20),
                                  lambda: fastgen.GaussianBernoulliRBM(n_components=4, batch_size=20)])
def test_a_diverging_partial_fit_leaves_the_fitted_model_as_it_was(make, cpu_backend):
    model = make().set_params(random_state=0, backend=cpu_backend)
    # float32: a step of 1e300 times a gradient overflows
    model.partial_fit(_binary().astype(np.float32)).partial_fit(_binary(seed=1).astype(np.float32))
    attributes = [*model._model_attributes, "h_samples_"]
    before = {name: getattr(model, name).copy() for name in attributes}
    with pytest.raises(FloatingPointError, match="partial_fit"):
        model.set_params(learning_rate=1e300).partial_fit(_binary(seed=2).astype(np.float32))
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value, err_msg=name)


@pytest.mark.parametrize("make", [lambda **kw: fastgen.BernoulliRBM(n_components=3, **kw),
                                  lambda **kw: fastgen.GaussianBernoulliRBM(n_components=3, **kw)])
def test_shuffle_visits_every_row_once_per_epoch_in_a_new_order(monkeypatch, make, cpu_backend):
    X = np.arange(24, dtype=np.float64).reshape(12, 2) % 2  # rows told apart by their index below
    seen = []
    original = _base.Trainer.step

    def step(self, v_data, stream):
        seen.append(np.asarray(v_data).copy())
        return original(self, v_data, stream)

    monkeypatch.setattr(_base.Trainer, "step", step)
    index = np.arange(12, dtype=np.float64)[:, None]
    data = np.hstack([X, index / 100])  # the last column names the row
    make(n_iter=3, batch_size=5, shuffle=True, random_state=0, backend=cpu_backend).fit(data)
    epochs = [np.concatenate(seen[i * 3:(i + 1) * 3])[:, -1] * 100 for i in range(3)]
    for rows in epochs:
        assert sorted(np.rint(rows).astype(int)) == list(range(12))
    assert len({tuple(np.rint(rows).astype(int)) for rows in epochs}) == 3  # a new order each epoch


@pytest.mark.parametrize("make", [lambda **kw: fastgen.BernoulliRBM(n_components=3, **kw),
                                  lambda **kw: fastgen.DBN(layer_sizes=(3, 2), **kw),
                                  lambda **kw: fastgen.DBM(layer_sizes=(3, 2), n_chains=4, **kw)])
def test_shuffle_is_reproducible_and_changes_the_fit(make, cpu_backend):
    X = _binary(rows=40, cols=5)
    fits = [make(n_iter=2, batch_size=8, shuffle=shuffle, random_state=0, backend=cpu_backend).fit(X).transform(X)
            for shuffle in (True, True, False)]
    np.testing.assert_array_equal(fits[0], fits[1])
    assert not np.array_equal(fits[0], fits[2])


def test_the_drop_in_keeps_scikit_learns_batch_order_by_default():
    assert fastgen.BernoulliRBM().shuffle is False
    assert fastgen.GaussianBernoulliRBM().shuffle and fastgen.DBN().shuffle and fastgen.DBM((2, 2)).shuffle
