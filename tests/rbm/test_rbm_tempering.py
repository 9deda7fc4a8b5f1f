"""Tests of fastgen.rbm.parallel_tempering against exact enumeration (float64 NumPy written here)."""
import numpy as np
import pytest

import fastgen
from fastgen import rbm
from fastgen._constants import RbmStream


def _all_states(n):
    return ((np.arange(1 << n)[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.float64)


def _exact_p(W, b, c):
    """p(v) over _all_states(n_visible), from the float64 free energy
    F(v) = -b.v - sum_j softplus(c_j + (v W)_j)."""
    states = _all_states(W.shape[0])
    log_p = states @ b + np.logaddexp(0.0, states @ W + c).sum(axis=1)
    p = np.exp(log_p - log_p.max())
    return states, p / p.sum()


def _codes(samples):
    """Each binary row as the index of that state in _all_states."""
    return samples.astype(np.int64) @ (1 << np.arange(samples.shape[1] - 1, -1, -1))


def _random_model(n_visible, n_hidden, seed, scale):
    rng = np.random.RandomState(seed)
    return scale * rng.normal(size=(n_visible, n_hidden)), scale * rng.normal(size=n_visible), scale * rng.normal(
        size=n_hidden
    )


def _random_states(n_chains, n_visible, seed):
    return (np.random.RandomState(seed).uniform(size=(n_chains, n_visible)) < 0.5).astype(np.float64)


def _two_modes(n=10, alpha=4.0, ones_weight=0.2):
    """One hidden unit: with h = 0 the visible units are off (each costs alpha), with h = 1
    they are on; p(v) puts ones_weight on the all-ones mode and 1 - ones_weight on the
    all-zeros one. From a state in one mode, Gibbs reaches the other with probability
    about exp(-n alpha) per sweep."""
    W = np.full((n, 1), 2.0 * alpha)
    b = np.full(n, -alpha)
    c = np.array([-n * alpha + np.log(ones_weight / (1.0 - ones_weight))])
    return W, b, c


def _ones_mode_weight(samples):
    return float((samples.sum(axis=1) > samples.shape[1] / 2).mean())


def test_stream_is_not_a_gibbs_stream():
    assert RbmStream.SWAP not in (RbmStream.HIDDEN, RbmStream.VISIBLE, RbmStream.INIT)


def test_pt_crosses_between_modes_where_gibbs_does_not(backend):
    W, b, c = _two_modes()
    states, p = _exact_p(W, b, c)
    exact = float(p[states.sum(axis=1) > 5].sum())
    assert abs(exact - 0.2) < 1e-3  # the model is what it claims to be
    n_steps, betas = 100, np.linspace(0.0, 1.0, 8)
    v0 = _random_states(3000, 10, seed=0)
    result = rbm.parallel_tempering(v0, W, b, c, n_steps, betas, seed=11, backend=backend)
    # 3,000 chains: the standard error of a weight of 0.2 is 0.0073; 0.02 is 2.7 of them.
    assert abs(_ones_mode_weight(result.samples) - exact) < 0.02
    gibbs, _ = rbm.gibbs(v0, W, b, c, n_steps, seed=11, backend=backend)
    # Gibbs keeps each chain in the mode its first sweep chose: about 0.43 on the all-ones mode.
    assert abs(_ones_mode_weight(gibbs) - exact) > 0.02
    assert result.acceptance.shape == (7,) and result.acceptance.dtype == np.float64
    assert np.all((result.acceptance > 0) & (result.acceptance <= 1))


def _tempered_free_energy(states, W, b, c, beta):
    return -beta * (states @ b) - np.logaddexp(0.0, beta * (states @ W + c)).sum(axis=1)


def _exact_acceptance(W, b, c, betas):
    """The Metropolis swap acceptance rate of each neighbouring pair at equilibrium:
    E min(1, exp(F_1(x) + F_2(y) - F_1(y) - F_2(x))) over x ~ p_beta1, y ~ p_beta2."""
    states = _all_states(W.shape[0])
    free = [_tempered_free_energy(states, W, b, c, beta) for beta in betas]
    p = [np.exp(-(f - f.min())) / np.exp(-(f - f.min())).sum() for f in free]
    rates = []
    for k in range(len(betas) - 1):
        f1, f2 = free[k], free[k + 1]
        log_r = (f1[:, None] + f2[None, :]) - (f1[None, :] + f2[:, None])  # x on rows, y on columns
        rates.append(float(p[k] @ np.minimum(1.0, np.exp(log_r)) @ p[k + 1]))
    return np.array(rates)


def test_pt_samples_and_swap_rates_follow_the_exact_distribution(backend):
    W, b, c = _random_model(6, 3, seed=4, scale=1.5)
    betas = [0.0, 0.3, 0.6, 1.0]
    _, p = _exact_p(W, b, c)
    n_chains = 10_000
    burn_in = rbm.parallel_tempering(_random_states(n_chains, 6, seed=1), W, b, c, 10, betas, seed=5,
                                     backend=backend)
    result = rbm.parallel_tempering(burn_in.states, W, b, c, 20, betas, seed=5, counter=10, backend=backend)
    empirical = np.bincount(_codes(result.samples), minlength=64) / n_chains
    # E|count/N - p| ~ sqrt(2 p (1 - p) / (pi N)) per state; the distance of exact samples
    # concentrates near half their sum (relative spread under 10% over 64 states).
    expected = 0.5 * np.sqrt(2.0 * p * (1.0 - p) / (np.pi * n_chains)).sum()
    assert 0.5 * np.abs(empirical - p).sum() < 1.5 * expected
    # 100,000 attempts per pair after the burn-in: standard errors about 0.002.
    np.testing.assert_allclose(result.acceptance, _exact_acceptance(W, b, c, betas), atol=0.01)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pt_result_shapes_kinds_and_reproducibility(backend, dtype):
    W, b, c = (a.astype(dtype) for a in _random_model(7, 4, seed=2, scale=1.0))
    v0 = _random_states(50, 7, seed=3).astype(dtype)
    betas = [0.0, 0.5, 0.8, 1.0]
    a = rbm.parallel_tempering(v0, W, b, c, 6, betas, seed=1, counter=4, backend=backend)
    assert isinstance(a, rbm.PTResult)
    assert a.samples.shape == (50, 7) and a.samples.dtype == dtype
    assert a.states.shape == (4, 50, 7) and a.states.dtype == dtype
    assert np.array_equal(a.samples, a.states[-1])
    assert np.all((a.states == 0) | (a.states == 1))
    b_ = rbm.parallel_tempering(v0, W, b, c, 6, betas, seed=1, counter=4, backend=backend)
    assert np.array_equal(a.states, b_.states) and np.array_equal(a.acceptance, b_.acceptance)
    other = rbm.parallel_tempering(v0, W, b, c, 6, betas, seed=2, counter=4, backend=backend)
    assert not np.array_equal(a.states, other.states)
    # A run continued from its states with the next counter is the same run.
    first = rbm.parallel_tempering(v0, W, b, c, 3, betas, seed=1, counter=4, backend=backend)
    rest = rbm.parallel_tempering(first.states, W, b, c, 3, betas, seed=1, counter=7, backend=backend)
    assert np.array_equal(rest.states, a.states)


def test_pt_backends_agree(cpu_backends):
    if len(cpu_backends) < 2:
        pytest.skip("one CPU backend only")
    W, b, c = _random_model(9, 5, seed=6, scale=1.0)
    v0 = _random_states(200, 9, seed=7)
    results = [
        rbm.parallel_tempering(v0, W, b, c, 20, np.linspace(0, 1, 5), seed=3, backend=backend)
        for backend in cpu_backends
    ]
    for other in results[1:]:
        assert np.array_equal(results[0].states, other.states)
        assert np.array_equal(results[0].acceptance, other.acceptance)


def test_one_sweep_leaves_odd_pairs_unattempted():
    W, b, c = _random_model(4, 2, seed=0, scale=1.0)
    result = rbm.parallel_tempering(_random_states(10, 4, seed=0), W, b, c, 1, [0.0, 0.3, 0.6, 1.0], seed=0)
    assert np.isfinite(result.acceptance[[0, 2]]).all() and np.isnan(result.acceptance[1])


@pytest.mark.parametrize(
    "betas, match",
    [
        ([0.0, 0.6, 0.3, 1.0], "increasing"),
        ([0.0, 0.5, 0.5, 1.0], "increasing"),
        ([0.0, 0.5, 0.9], "end at 1"),
        ([-0.1, 0.5, 1.0], r"\[0, 1\]"),
        ([0.0, 1.5, 1.0], "increasing"),
        ([1.0], "at least two"),
        ([[0.0, 1.0]], "1-D"),
        ([0.0, np.nan, 1.0], "NaN"),
    ],
)
def test_bad_betas(betas, match):
    W, b, c = _random_model(4, 2, seed=0, scale=1.0)
    with pytest.raises(ValueError, match=match):
        rbm.parallel_tempering(np.zeros((3, 4)), W, b, c, 2, betas, seed=0)


def test_betas_of_the_wrong_type():
    W, b, c = _random_model(4, 2, seed=0, scale=1.0)
    with pytest.raises(TypeError, match="betas must be a 1-D sequence of numbers"):
        rbm.parallel_tempering(np.zeros((3, 4)), W, b, c, 2, "abc", seed=0)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(v=np.zeros((3, 5))), "v must have 4 columns"),
        (dict(v=np.zeros(4)), "v must be 2-D .* or 3-D"),
        (dict(v=np.zeros((2, 3, 4))), "one set of chains per beta"),
        (dict(v=np.zeros((0, 4))), "at least one chain"),
        (dict(v=np.full((3, 4), 0.5)), "binary"),
        (dict(n_steps=0), "n_steps"),
        (dict(b=np.zeros(5)), "b must have length 4"),
        (dict(c=np.zeros(3)), "c must have length 2"),
        (dict(seed=-1), "seed"),
        (dict(counter=2**32 - 1), "counter"),
    ],
)
def test_bad_input(change, match):
    W, b, c = _random_model(4, 2, seed=0, scale=1.0)
    args = dict(v=np.zeros((3, 4)), W=W, b=b, c=c, n_steps=2, betas=[0.0, 0.5, 1.0], seed=0)
    args.update(change)
    with pytest.raises(ValueError, match=match):
        rbm.parallel_tempering(**args)


def test_exported_from_fastgen_rbm():
    for name in ("parallel_tempering", "PTResult", "log_partition_exact", "log_partition_ais", "AISResult",
                 "default_ais_betas", "base_visible_bias"):
        assert hasattr(fastgen.rbm, name), name
