"""learning_rate_schedule of the estimators trained by stochastic gradients (BernoulliRBM,
GaussianBernoulliRBM, DBN, DBM): each update takes the rate the schedule names."""
import numpy as np
import pytest
from sklearn.datasets import load_digits

import fastgen
from fastgen._estimator import learning_rates
from fastgen.dbm._estimator import _SML

RBMS = [fastgen.BernoulliRBM, fastgen.GaussianBernoulliRBM]


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data[:200] > 7).astype(np.float64)


def test_rates_of_each_schedule():
    assert list(learning_rates(0.2, "constant", 3)) == [0.2, 0.2, 0.2]
    assert list(learning_rates(0.2, "linear", 4)) == pytest.approx([0.2, 0.15, 0.1, 0.05], rel=1e-15)  # last: 0.2 / 4
    assert list(learning_rates(0.2, "linear", 0)) == []


@pytest.mark.parametrize("estimator", RBMS)
def test_rbm_fit_takes_the_linear_rates(cpu_backend, estimator, digits):
    """fit with the linear schedule is fit's updates, one by one, each at its own rate: the
    same as partial_fit of the same batches in turn with learning_rate set to it (partial_fit
    continues fit's chains and random streams; tested equal for a constant rate below)."""
    common = dict(n_components=12, batch_size=50, shuffle=False, random_state=3, backend=cpu_backend)
    rate, n_iter, n_batches = 0.1, 3, 4
    scheduled = estimator(**common, learning_rate=rate, n_iter=n_iter, learning_rate_schedule="linear").fit(digits)
    constant = estimator(**common, learning_rate=rate, n_iter=n_iter).fit(digits)
    by_hand = estimator(**common, learning_rate=rate, n_iter=0).fit(digits)
    step_by_step = estimator(**common, learning_rate=rate, n_iter=0).fit(digits)
    total = n_iter * n_batches
    for update in range(total):
        batch = digits[(update % n_batches) * 50:(update % n_batches + 1) * 50]
        by_hand.learning_rate = rate * (1 - update / total)
        by_hand.partial_fit(batch)
        step_by_step.partial_fit(batch)
    for name in scheduled._trained_attributes:
        np.testing.assert_array_equal(getattr(scheduled, name), getattr(by_hand, name), err_msg=name)
        np.testing.assert_array_equal(getattr(constant, name), getattr(step_by_step, name), err_msg=name)
    assert not np.array_equal(scheduled.components_, constant.components_)
    assert scheduled.learning_rate == rate  # the hyperparameter is left as it was set


def test_dbn_layers_take_the_schedule(digits):
    dbn = fastgen.DBN((8, 4), n_iter=2, learning_rate_schedule="linear", random_state=0).fit(digits)
    assert [rbm.learning_rate_schedule for rbm in dbn.rbms_] == ["linear", "linear"]
    constant = fastgen.DBN((8, 4), n_iter=2, random_state=0).fit(digits)
    assert not np.array_equal(dbn.rbms_[0].components_, constant.rbms_[0].components_)


def test_dbm_sml_updates_take_the_linear_rates(digits, monkeypatch):
    """Each SML update runs at its scheduled rate (the pretraining keeps its own)."""
    taken = []
    step = _SML.step

    def recording(trainer, v, stream):
        taken.append(trainer.learning_rate)
        return step(trainer, v, stream)

    monkeypatch.setattr(_SML, "step", recording)
    kwargs = dict(batch_size=50, n_iter=3, pretrain_n_iter=1, learning_rate=0.01, random_state=0)
    scheduled = fastgen.DBM((8, 4), **kwargs, learning_rate_schedule="linear").fit(digits)
    assert taken == pytest.approx([0.01 * (1 - t / 12) for t in range(12)], rel=0, abs=1e-15)
    taken.clear()
    constant = fastgen.DBM((8, 4), **kwargs).fit(digits)
    assert taken == [0.01] * 12
    assert not np.array_equal(scheduled.weights_[0], constant.weights_[0])


@pytest.mark.parametrize("estimator", RBMS + [fastgen.DBN])
def test_unknown_schedule_is_refused_before_training(estimator, digits):
    with pytest.raises(ValueError, match="learning_rate_schedule"):
        estimator(learning_rate_schedule="cosine").fit(digits)


def test_unknown_schedule_is_refused_by_the_dbm(digits):
    with pytest.raises(ValueError, match="learning_rate_schedule"):
        fastgen.DBM((4, 2), learning_rate_schedule=None).fit(digits)
