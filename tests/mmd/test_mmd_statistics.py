"""The estimators' expectations against the closed form of the Gaussian-kernel MMD^2 between two
Gaussians (mmd_reference.gaussian_mmd2_closed_form): the unbiased and the linear-time estimators'
means over many independent draws are within 4 standard errors of it, and the biased one's is
above it by its known bias."""
import numpy as np
import pytest

import mmd_reference as ref
from fastgen import mmd

D = 3
MU1, S1 = np.zeros(D), 1.0
MU2, S2 = np.array([0.6, 0.0, -0.3]), 1.3
SIGMAS = (0.8, 2.0)
N, M, DRAWS = 30, 24, 400


def _closed_form():
    return sum(ref.gaussian_mmd2_closed_form(MU1, S1, MU2, S2, s, D) for s in SIGMAS)


def _draws(backend, estimator, n=N, m=M, seed=0):
    rng = np.random.default_rng(seed)
    return np.array([mmd.mmd2(MU1 + S1 * rng.normal(size=(n, D)), MU2 + S2 * rng.normal(size=(m, D)),
                              bandwidth=SIGMAS, estimator=estimator, backend=backend) for _ in range(DRAWS)])


@pytest.mark.parametrize("estimator", ["unbiased", "linear"])
def test_unbiased_estimators_average_to_the_closed_form(backend, estimator):
    values = _draws(backend, estimator)
    standard_error = values.std(ddof=1) / np.sqrt(DRAWS)
    assert abs(values.mean() - _closed_form()) < 4 * standard_error


def test_identical_distributions_average_to_zero(backend):
    rng = np.random.default_rng(1)
    values = np.array([mmd.mmd2(rng.normal(size=(N, D)), rng.normal(size=(M, D)), bandwidth=1.0, backend=backend)
                       for _ in range(DRAWS)])
    assert abs(values.mean()) < 4 * values.std(ddof=1) / np.sqrt(DRAWS)


def test_biased_estimator_is_above_by_its_bias(backend):
    """E[biased] = MMD^2 + (k(0) - E k(x, x')) / N + (k(0) - E k(y, y')) / M: the V-statistic keeps the
    pairs (i, i), where k = k(0) = one per bandwidth."""
    values = _draws(backend, "biased")
    zero = np.zeros(D)
    k0 = len(SIGMAS)
    e_xx = sum((s**2 / (s**2 + 2 * S1**2)) ** (D / 2) for s in SIGMAS)
    e_yy = sum((s**2 / (s**2 + 2 * S2**2)) ** (D / 2) for s in SIGMAS)
    expected = _closed_form() + (k0 - e_xx) / N + (k0 - e_yy) / M
    assert abs(values.mean() - expected) < 4 * values.std(ddof=1) / np.sqrt(DRAWS)
