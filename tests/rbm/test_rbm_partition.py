"""Tests of fastgen.rbm.log_partition_exact and log_partition_ais: brute force in float64
NumPy written here, agreement between the CPU backends, reproducibility, bad input."""
import itertools

import numpy as np
import pytest

from fastgen import rbm

SHORT_BETAS = np.linspace(0.0, 1.0, 200)


def _all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _model(n_visible, n_hidden, seed, scale=1.0):
    rng = np.random.RandomState(seed)
    return (scale * rng.normal(size=(n_visible, n_hidden)), scale * rng.normal(size=n_visible),
            scale * rng.normal(size=n_hidden))


def _log_z_brute_force(W, b, c):
    """log sum over every (v, h) of exp(b.v + c.h + v W h)."""
    v, h = _all_states(W.shape[0]), _all_states(W.shape[1])
    minus_energy = (v @ b)[:, None] + (h @ c)[None, :] + v @ W @ h.T
    top = minus_energy.max()
    return float(top + np.log(np.exp(minus_energy - top).sum()))


# ---------------------------------------------------------------- exact log Z


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (7, 3), (10, 4), (4, 10), (10, 10)])
def test_log_partition_exact_equals_brute_force(backend, shape):
    for seed, scale in ((0, 1.0), (1, 3.0)):
        W, b, c = _model(*shape, seed=seed, scale=scale)
        assert abs(rbm.log_partition_exact(W, b, c, backend=backend) - _log_z_brute_force(W, b, c)) < 1e-9


def test_log_partition_exact_rejects_large_models():
    W, b, c = _model(30, 30, seed=0)
    with pytest.raises(ValueError, match="log_partition_ais"):
        rbm.log_partition_exact(W, b, c)


# ---------------------------------------------------------------- AIS


def test_ais_backends_give_identical_weights(cpu_backends):
    if len(cpu_backends) < 2:
        pytest.skip("one CPU backend only")
    W, b, c = _model(20, 10, seed=2, scale=0.5)
    base = np.random.RandomState(3).normal(size=20)
    for dtype in (np.float32, np.float64):
        args = [a.astype(dtype) for a in (W, b, c)]
        weights = [
            rbm.log_partition_ais(*args, n_chains=20, betas=SHORT_BETAS, base_visible_bias=base.astype(dtype), seed=4,
                                  backend=backend).log_weights
            for backend in cpu_backends
        ]
        for other in weights[1:]:
            assert np.array_equal(weights[0], other), dtype


@pytest.mark.parametrize("bias", [-3.0, 3.0])
def test_ais_backends_agree_on_mostly_off_and_mostly_on_states(cpu_backends, bias):
    # cpu sums the selected rows of W (sparse, chains interleaved in groups) or all rows times
    # the states (dense, most units on), chosen per step by the density of ones; numba always
    # adds the selected rows one after the other. Biases of -3 / +3 keep the states far on one
    # side, 13 chains leave partial groups: both ways and their remainders must give the bits
    # of numba.
    if len(cpu_backends) < 2:
        pytest.skip("one CPU backend only")
    W, b, c = _model(40, 30, seed=6, scale=0.3)
    b, c = b + bias, c + bias
    base = np.full(40, bias)
    weights = [
        rbm.log_partition_ais(W, b, c, n_chains=13, betas=SHORT_BETAS, base_visible_bias=base, seed=2,
                              backend=backend).log_weights
        for backend in cpu_backends
    ]
    assert np.isfinite(weights[0]).all()
    for other in weights[1:]:
        assert np.array_equal(weights[0], other)


def test_ais_is_reproducible_and_chains_do_not_depend_on_their_number(backend):
    W, b, c = _model(12, 6, seed=5, scale=0.5)
    run = dict(betas=SHORT_BETAS, seed=7, backend=backend)
    few = rbm.log_partition_ais(W, b, c, n_chains=3, **run)
    assert np.array_equal(few.log_weights, rbm.log_partition_ais(W, b, c, n_chains=3, **run).log_weights)
    assert np.array_equal(few.log_weights, rbm.log_partition_ais(W, b, c, n_chains=8, **run).log_weights[:3])
    other = rbm.log_partition_ais(W, b, c, n_chains=3, **dict(run, seed=8))
    assert not np.array_equal(few.log_weights, other.log_weights)
    assert few.log_z_lower <= few.log_z <= few.log_z_upper


@pytest.mark.parametrize(
    "betas, match",
    [
        ([0.0, 0.6, 0.3, 1.0], "increasing"),
        ([0.0, 0.5, 0.5, 1.0], "increasing"),
        ([0.1, 0.5, 1.0], "start at 0"),
        ([0.0, 0.5, 0.9], "end at 1"),
        ([0.0], "at least two"),
        ([[0.0, 1.0]], "1-D"),
        ([0.0, np.inf, 1.0], "NaN or infinity"),
    ],
)
def test_ais_bad_betas(betas, match):
    W, b, c = _model(4, 3, seed=0)
    with pytest.raises(ValueError, match=match):
        rbm.log_partition_ais(W, b, c, betas=betas)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(n_chains=0), "n_chains"),
        (dict(b=np.zeros(5)), "b must have length 4"),
        (dict(c=np.zeros(2)), "c must have length 3"),
        (dict(W=np.zeros(4)), "W must be 2-D"),
        (dict(b=np.zeros((4, 1))), "b must be 1-D"),
        (dict(base_visible_bias=np.zeros(3)), "base_visible_bias must have length 4"),
        (dict(base_visible_bias=np.zeros((4, 1))), "base_visible_bias must be 1-D"),
        (dict(seed=-1), "seed"),
    ],
)
def test_ais_bad_input(change, match):
    W, b, c = _model(4, 3, seed=0)
    args = dict(W=W, b=b, c=c, betas=SHORT_BETAS)
    args.update(change)
    with pytest.raises(ValueError, match=match):
        rbm.log_partition_ais(**args)


@pytest.mark.parametrize("change, match", [(dict(n_chains=2.5), "n_chains"), (dict(seed="1"), "seed"),
                                           (dict(W=None), "W must be an array, got None")])
def test_ais_wrong_types(change, match):
    W, b, c = _model(4, 3, seed=0)
    args = dict(W=W, b=b, c=c, betas=SHORT_BETAS)
    args.update(change)
    with pytest.raises(TypeError, match=match):
        rbm.log_partition_ais(**args)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(b=np.zeros(5)), "b must have length 4"),
        (dict(c=np.zeros(2)), "c must have length 3"),
        (dict(W=np.zeros((0, 3)), b=np.zeros(0)), "at least one visible and one hidden unit"),
    ],
)
def test_exact_bad_input(change, match):
    W, b, c = _model(4, 3, seed=0)
    args = dict(W=W, b=b, c=c)
    args.update(change)
    with pytest.raises(ValueError, match=match):
        rbm.log_partition_exact(**args)
