"""`progress=`: every long operation shows a tqdm bar when asked, says nothing otherwise, and
gives the same results either way (the bar only watches the loop)."""
import numpy as np
import pytest

import fastgen
from fastgen import _progress, dbm, gbrbm, rbm

RNG = np.random.default_rng(0)
X = (RNG.random((60, 12)) < 0.3).astype(np.float64)
W, B, C = RNG.normal(0, 0.3, (12, 5)), RNG.normal(0, 0.3, 12), RNG.normal(0, 0.3, 5)
BETAS = np.linspace(0.0, 1.0, 30)


def _shown(capsys, *texts):
    err = capsys.readouterr().err
    for text in texts:
        assert text in err, err
    return err


def _silent(capsys):
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == "", captured


@pytest.fixture(scope="module")
def fitted():
    return fastgen.BernoulliRBM(5, n_iter=2, batch_size=20, random_state=0).fit(X)


def test_fit_shows_the_epochs_and_fits_the_same_model(capsys):
    quiet = fastgen.BernoulliRBM(5, n_iter=3, batch_size=20, random_state=0).fit(X)
    _silent(capsys)
    shown = fastgen.BernoulliRBM(5, n_iter=3, batch_size=20, random_state=0).fit(X, progress=True)
    _shown(capsys, "BernoulliRBM", "3/3", "epoch")
    np.testing.assert_array_equal(quiet.components_, shown.components_)


@pytest.mark.parametrize("method, label", [("gibbs", "Gibbs sampling"), ("pt", "parallel tempering")])
def test_sample_shows_the_sweeps_and_draws_the_same(fitted, capsys, method, label):
    quiet = fitted.sample(4, n_steps=25, random_state=1, method=method)
    _silent(capsys)
    shown = fitted.sample(4, n_steps=25, random_state=1, method=method, progress=True)
    _shown(capsys, label, "25/25", "sweep")
    np.testing.assert_array_equal(quiet, shown)


def test_log_likelihood_shows_ais_once_and_caches_by_the_options_alone(capsys):
    model = fastgen.BernoulliRBM(5, n_iter=1, batch_size=20, random_state=0).fit(X)
    shown = model.log_likelihood(X, "ais", betas=BETAS, n_chains=8, progress=True)
    _shown(capsys, "AIS", "elapsed")
    # the same options: the cached log Z, whatever progress says (no second run, no bar)
    assert model.log_likelihood(X, "ais", betas=BETAS, n_chains=8) == shown
    assert model.log_likelihood(X, "ais", betas=BETAS, n_chains=8, progress=True) == shown
    _silent(capsys)


def test_rbm_ais_op_same_result_with_the_bar(capsys):
    quiet = rbm.log_partition_ais(W, B, C, n_chains=8, betas=BETAS, seed=3)
    _silent(capsys)
    shown = rbm.log_partition_ais(W, B, C, n_chains=8, betas=BETAS, seed=3, progress=True)
    _shown(capsys, "AIS", "elapsed")
    np.testing.assert_array_equal(quiet.log_weights, shown.log_weights)


def test_gbrbm_and_dbm_ais_show_the_betas(capsys):
    sigma = np.ones(12)
    quiet = gbrbm.log_partition_ais(W, B, C, sigma, n_chains=8, betas=BETAS, seed=3)
    _silent(capsys)
    shown = gbrbm.log_partition_ais(W, B, C, sigma, n_chains=8, betas=BETAS, seed=3, progress=True)
    _shown(capsys, "AIS", f"{BETAS.size - 1}/{BETAS.size - 1}", "beta")
    np.testing.assert_array_equal(quiet.log_weights, shown.log_weights)

    weights, biases = [W, RNG.normal(0, 0.3, (5, 4))], [B, C, RNG.normal(0, 0.3, 4)]
    quiet = dbm.log_partition_ais(weights, biases, n_chains=8, betas=BETAS, seed=3)
    _silent(capsys)
    shown = dbm.log_partition_ais(weights, biases, n_chains=8, betas=BETAS, seed=3, progress=True)
    _shown(capsys, "AIS", f"{BETAS.size - 1}/{BETAS.size - 1}")
    np.testing.assert_array_equal(quiet.log_weights, shown.log_weights)


def test_parallel_tempering_op_shows_the_sweeps(capsys):
    v = (RNG.random((3, 12)) < 0.5).astype(np.float64)
    quiet = rbm.parallel_tempering(v, W, B, C, 20, BETAS[20:], seed=1)
    _silent(capsys)
    shown = rbm.parallel_tempering(v, W, B, C, 20, BETAS[20:], seed=1, progress=True)
    _shown(capsys, "parallel tempering", "20/20")
    np.testing.assert_array_equal(quiet.states, shown.states)
    np.testing.assert_array_equal(quiet.acceptance, shown.acceptance)


def test_the_other_estimators_show_fits_and_samples(capsys):
    gb = fastgen.GaussianBernoulliRBM(4, n_iter=2, batch_size=20, random_state=0).fit(X, progress=True)
    _shown(capsys, "GaussianBernoulliRBM", "2/2")
    np.testing.assert_array_equal(gb.sample(3, n_steps=10, random_state=0),
                                  gb.sample(3, n_steps=10, random_state=0, progress=True))
    _shown(capsys, "Gibbs sampling", "10/10")

    deep = fastgen.DBM([6, 4], n_iter=2, pretrain_n_iter=3, batch_size=20, random_state=0).fit(X, progress=True)
    _shown(capsys, "DBM", "8/8")  # 2 SML epochs and 3 pretraining epochs per layer
    np.testing.assert_array_equal(deep.sample(3, n_steps=10, random_state=0),
                                  deep.sample(3, n_steps=10, random_state=0, progress=True))
    _shown(capsys, "Gibbs sampling", "10/10")

    belief = fastgen.DBN([6, 4], n_iter=2, batch_size=20, random_state=0).fit(X, progress=True)
    assert _shown(capsys, "BernoulliRBM", "2/2").count("2/2") >= 2  # one bar per layer
    np.testing.assert_array_equal(belief.sample(3, n_steps=10, random_state=0),
                                  belief.sample(3, n_steps=10, random_state=0, progress=True))
    _shown(capsys, "Gibbs sampling", "10/10")


@pytest.mark.parametrize("bad", ["yes", 2, None, 0.5])
def test_progress_must_be_a_bool(fitted, bad):
    for call in (lambda: fitted.sample(2, n_steps=2, progress=bad),
                 lambda: fastgen.BernoulliRBM(2, n_iter=1).fit(X, progress=bad),
                 lambda: fitted.log_likelihood(X, "ais", betas=BETAS, progress=bad),
                 lambda: rbm.parallel_tempering(X[:2], W, B, C, 2, BETAS[20:], seed=0, progress=bad)):
        with pytest.raises(TypeError, match="progress must be True or False"):
            call()


def test_the_bar_that_is_off_loads_no_tqdm():
    import subprocess
    import sys

    code = ("import sys, numpy as np\nfrom fastgen import _progress\n"
            "with _progress.bar(False, 10, 'x') as b:\n    b.update()\n"
            "with _progress.waiting(False, 'x'):\n    pass\n"
            "list(_progress.iterate(False, range(3), 'x'))\nprint('tqdm' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_waiting_completes_its_bar_and_passes_errors_on(capsys):
    with _progress.waiting(True, "work", refresh_s=0.01):
        pass
    _shown(capsys, "work", "elapsed")
    with pytest.raises(KeyError):
        with _progress.waiting(True, "work", refresh_s=0.01):
            raise KeyError("x")


@pytest.mark.filterwarnings("ignore:Best performing initialization did not converge")  # tol=0: all 7 iterations
def test_gaussian_mixture_shows_its_em_iterations(capsys):
    points = np.concatenate([RNG.normal(-3, 1, (100, 2)), RNG.normal(3, 1, (100, 2))])
    quiet = fastgen.GaussianMixture(2, max_iter=7, tol=0, random_state=0).fit(points)
    _silent(capsys)
    shown = fastgen.GaussianMixture(2, max_iter=7, tol=0, random_state=0).fit(points, progress=True)
    _shown(capsys, "GaussianMixture", "7/7", "iteration")
    np.testing.assert_array_equal(quiet.means_, shown.means_)
    with pytest.raises(TypeError, match="progress must be True or False"):
        fastgen.GaussianMixture(2).fit(points, progress="yes")
