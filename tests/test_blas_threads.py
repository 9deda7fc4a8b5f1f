"""fastgen._blas: loops of small BLAS calls run with BLAS on one thread (OpenBLAS's threads
wake up on every call, and on a busy machine that cost 50x), larger ones keep BLAS's setting,
and the caller's setting comes back afterwards."""
import numpy as np
import pytest
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info, threadpool_limits

import fastgen
from fastgen import _blas
from fastgen.dbm._estimator import _SML
from fastgen.rbm import _tempering
from fastgen.rbm._base import Trainer


def blas_threads():
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    if not blas_threads():
        pytest.skip("no BLAS library that threadpoolctl controls")
    with threadpool_limits(2, user_api="blas"):
        if max(blas_threads()) < 2:
            pytest.skip("BLAS runs on one thread here: nothing to limit")
        yield


def test_small_work_runs_on_one_thread_and_restores(two_blas_threads):
    before = blas_threads()
    with _blas.blas_threads_for(_blas.SMALL_BLAS_WORK - 1):
        assert set(blas_threads()) == {1}
        with _blas.blas_threads_for(10):  # nested: still one, and the outer exit restores
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}
    assert blas_threads() == before
    with _blas.blas_threads_for(_blas.SMALL_BLAS_WORK):
        assert blas_threads() == before


def _recording(monkeypatch, cls, method):
    """Record the BLAS threads at each call of cls.method."""
    seen = []
    original = getattr(cls, method)

    def wrapped(self, *args, **kwargs):
        seen.append(max(blas_threads()))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, wrapped)
    return seen


def test_rbm_training_and_sampling_hold_blas_to_one_thread_when_small(two_blas_threads, monkeypatch, cpu_backend):
    X = (load_digits().data[:300] > 7).astype(np.float32)
    seen = _recording(monkeypatch, Trainer, "step")
    rbm = fastgen.BernoulliRBM(n_components=16, n_iter=2, n_chains=50, random_state=0, backend=cpu_backend)
    rbm.fit(X)
    assert seen and set(seen) == {1}
    assert max(blas_threads()) == 2  # restored after the fit
    rbm.partial_fit(X[:10])  # one update: BLAS's own setting
    assert seen[-1] == 2

    exchanged = _recording(monkeypatch, _tempering._Exchange, "__call__")
    rbm.sample(20, n_steps=3, method="pt", n_temperatures=4, random_state=0)
    fastgen.rbm.parallel_tempering(X[:5], rbm.components_.T, rbm.intercept_visible_, rbm.intercept_hidden_, 2,
                                   [0.5, 1.0], seed=0, backend=cpu_backend)
    assert exchanged and set(exchanged) == {1} and max(blas_threads()) == 2


def test_large_training_keeps_blas_threads(two_blas_threads, monkeypatch, cpu_backend):
    """A batch whose product is SMALL_BLAS_WORK multiply-adds or more keeps BLAS's threads."""
    n_features, n_components = 64, 512
    batch = -(-_blas.SMALL_BLAS_WORK // (n_features * n_components))
    X = (np.random.default_rng(0).random((batch, n_features)) < 0.3).astype(np.float32)
    seen = _recording(monkeypatch, Trainer, "step")
    fastgen.BernoulliRBM(n_components=n_components, n_iter=1, batch_size=batch, random_state=0,
                         backend=cpu_backend).fit(X)
    assert seen == [2]


def test_dbm_training_holds_blas_to_one_thread_when_small(two_blas_threads, monkeypatch):
    X = (load_digits().data[:200] > 7).astype(np.float64)
    seen = _recording(monkeypatch, _SML, "step")
    fastgen.DBM((8, 4), n_iter=1, pretrain_n_iter=1, batch_size=50, random_state=0).fit(X)
    assert seen and set(seen) == {1}
    assert max(blas_threads()) == 2
