"""fastgen.nade's ops against the float64 NumPy reference (nade_reference.py) on tiny models:
normalisation over all 2^D vectors, log p, the gradient against finite differences, and the
samples against the exact distribution; cpu and numba bit for bit."""
import numpy as np
import pytest
from nade_reference import all_states, finite_difference_gradient, log_likelihood, random_model

import fastgen
from fastgen import nade


def _binary(rng, n, D, p=0.5, dtype=np.float64):
    return (rng.random((n, D)) < p).astype(dtype)


@pytest.mark.parametrize("D, H", [(10, 6), (12, 17)])
def test_probabilities_of_all_vectors_sum_to_one(backend, D, H):
    W, V, b, c = random_model(D, H, scale=1.5)
    log_p = np.asarray(nade.log_likelihood(all_states(D), W, V, b, c, backend=backend))
    assert abs(np.exp(log_p).sum() - 1.0) < 1e-12


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("D, H", [(9, 5), (23, 40)])  # H = 40: two full dot lanes of 16 and a tail
def test_log_likelihood_matches_the_reference(backend, dtype, tolerance, D, H):
    rng = np.random.default_rng(1)
    W, V, b, c = random_model(D, H, dtype=dtype, seed=2)
    v = _binary(rng, 50, D, dtype=dtype)
    expected = log_likelihood(v, W, V, b, c)
    got = nade.log_likelihood(v, W, V, b, c, backend=backend)
    assert got.dtype == np.float64 and got.shape == (50,)
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def test_gradient_matches_finite_differences(backend):
    rng = np.random.default_rng(3)
    W, V, b, c = random_model(6, 4, seed=4)
    v = _binary(rng, 37, 6)  # more rows than one chunk of 32
    log_p, *grads = nade.log_likelihood_grad(v, W, V, b, c, backend=backend)
    np.testing.assert_allclose(log_p, log_likelihood(v, W, V, b, c), rtol=1e-12, atol=1e-12)
    for name, got, expected in zip("W V b c".split(), grads, finite_difference_gradient(v, W, V, b, c)):
        assert got.shape == expected.shape, name
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8, err_msg=name)


def test_float32_gradient_is_close_to_float64(backend):
    rng = np.random.default_rng(5)
    W, V, b, c = random_model(30, 20, seed=6, scale=0.5)
    v = _binary(rng, 40, 30)
    _, *exact = nade.log_likelihood_grad(v, W, V, b, c, backend=backend)
    _, *single = nade.log_likelihood_grad(*(a.astype(np.float32) for a in (v, W, V, b, c)), backend=backend)
    for name, a, e in zip("W V b c".split(), single, exact):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, e, rtol=1e-3, atol=1e-5, err_msg=name)


def _total_variation(counts, p):
    return 0.5 * np.abs(counts / counts.sum() - p).sum()


def test_samples_follow_the_exact_distribution(backend):
    """Total variation between the empirical distribution of n samples and the exact one
    (from the NumPy reference) within 1.5x the mean total variation of n i.i.d. draws from
    the exact distribution (its noise floor, simulated with NumPy)."""
    D, n = 8, 20_000
    W, V, b, c = random_model(D, 5, seed=7, scale=1.5)
    states = all_states(D)
    p = np.exp(log_likelihood(states, W, V, b, c))
    p /= p.sum()
    samples = np.asarray(nade.sample(n, W, V, b, c, seed=11, backend=backend))
    assert set(np.unique(samples)) <= {0.0, 1.0}
    index = samples @ (2.0 ** np.arange(D - 1, -1, -1))  # all_states is in binary counting order
    tv = _total_variation(np.bincount(index.astype(np.int64), minlength=2**D), p)
    rng = np.random.default_rng(0)
    floor = np.mean([_total_variation(rng.multinomial(n, p), p) for _ in range(200)])
    assert tv <= 1.5 * floor, (tv, floor)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_and_numba_agree_bit_for_bit(cpu_backends, dtype):
    if len(cpu_backends) < 2:
        pytest.skip("needs both CPU backends")
    rng = np.random.default_rng(8)
    W, V, b, c = random_model(50, 37, dtype=dtype, seed=9)
    v = _binary(rng, 700, 50, p=0.3, dtype=dtype)  # 700 x 50 x 37 multiply-adds: the parallel loops
    results = {}
    for name in cpu_backends:
        results[name] = (nade.log_likelihood(v, W, V, b, c, backend=name),
                         *nade.log_likelihood_grad(v, W, V, b, c, backend=name),
                         nade.sample(700, W, V, b, c, seed=12, counter=3, backend=name))
    for a, b_ in zip(results["cpu"], results["numba"]):
        np.testing.assert_array_equal(a, b_)


def test_gradient_and_samples_do_not_depend_on_the_thread_count(cpu_backend):
    rng = np.random.default_rng(10)
    W, V, b, c = random_model(40, 30, dtype=np.float32, seed=11)
    v = _binary(rng, 900, 40, dtype=np.float32)
    kernels = fastgen._backend.kernels(cpu_backend)
    results = []
    for threads in (1, 2):
        with kernels.threads(threads):
            results.append((*nade.log_likelihood_grad(v, W, V, b, c, backend=cpu_backend),
                            nade.sample(900, W, V, b, c, seed=1, backend=cpu_backend)))
    for a, b_ in zip(*results):
        np.testing.assert_array_equal(a, b_)


def test_a_sample_does_not_depend_on_how_many_are_drawn(backend):
    W, V, b, c = random_model(15, 8, seed=12)
    many = np.asarray(nade.sample(40, W, V, b, c, seed=5, counter=2, backend=backend))
    few = np.asarray(nade.sample(7, W, V, b, c, seed=5, counter=2, backend=backend))
    np.testing.assert_array_equal(many[:7], few)
    other = np.asarray(nade.sample(40, W, V, b, c, seed=5, counter=3, backend=backend))
    assert not np.array_equal(many, other)
    assert nade.sample(0, W, V, b, c, seed=5, backend=backend).shape == (0, 15)


def test_torch_tensors_in_torch_tensors_out():
    torch = pytest.importorskip("torch")
    W, V, b, c = random_model(7, 3, seed=13)
    v = all_states(7)[::5]
    got = nade.log_likelihood(torch.from_numpy(v), *(torch.from_numpy(a) for a in (W, V, b, c)))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), log_likelihood(v, W, V, b, c), rtol=1e-12)


# ---------------------------------------------------------------- bad input


def _model():
    return random_model(5, 3, seed=14)


@pytest.mark.parametrize("change, error, match", [
    (lambda m, v: ((np.full((2, 5), 0.5),), m), ValueError, "v must hold binary"),
    (lambda m, v: ((v[:, :4],), m), ValueError, "v must have 5 columns"),
    (lambda m, v: ((v[0],), m), ValueError, "v must be 2-D"),
    (lambda m, v: ((v.astype(np.float32),), m), TypeError, "v has dtype float32"),
    (lambda m, v: ((v,), (m[0], m[1][:, :2], m[2], m[3])), ValueError, "V must have the shape of W"),
    (lambda m, v: ((v,), (m[0], m[1].astype(np.float32), m[2], m[3])), TypeError, "V has dtype float32"),
    (lambda m, v: ((v,), (m[0], m[1], m[2][:4], m[3])), ValueError, "b must have length 5"),
    (lambda m, v: ((v,), (m[0], m[1], m[2], m[3][:2])), ValueError, "c must have length 3"),
    (lambda m, v: ((v,), (m[0][:, :0], m[1][:, :0], m[2], m[3][:0])), ValueError, "at least one visible and one"),
    (lambda m, v: ((v,), (np.where(m[0] > 0, np.nan, m[0]), *m[1:])), ValueError, "W contains NaN"),
    (lambda m, v: ((v,), (m[0].astype(np.int64), *m[1:])), TypeError, "W must be float32 or float64"),
    (lambda m, v: ((v.astype(np.float32),), (np.full((5, 3), 1e38, np.float32),
                                              *(a.astype(np.float32) for a in m[1:]))),
     ValueError, "overflow"),
    (lambda m, v: ((None,), m), TypeError, "v must be an array"),
])
@pytest.mark.parametrize("op", [nade.log_likelihood, nade.log_likelihood_grad])
def test_bad_arrays_are_named(cpu_backend, op, change, error, match):
    model = _model()
    v = (np.random.default_rng(0).random((2, 5)) < 0.5).astype(np.float64)
    (v,), model = change(model, v)
    with pytest.raises(error, match=match):
        op(v, *model, backend=cpu_backend)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_samples": -1}, ValueError, "n_samples must be an integer >= 0"),
    ({"n_samples": 2.0}, TypeError, "n_samples must be an integer"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": "a"}, TypeError, "seed"),
    ({"counter": 2**32}, ValueError, "counter"),
    ({"backend": "tpu"}, ValueError, "backend='tpu' is not an available backend"),
])
def test_bad_sample_arguments_are_named(kwargs, error, match):
    arguments = {"n_samples": 3, "seed": 0, **kwargs}
    n = arguments.pop("n_samples")
    with pytest.raises(error, match=match):
        nade.sample(n, *_model(), **arguments)


def test_integer_and_boolean_states_are_taken_as_the_weights_dtype(cpu_backend):
    model = _model()
    v = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 1, 1]])
    expected = log_likelihood(v, *model)
    np.testing.assert_allclose(nade.log_likelihood(v, *model, backend=cpu_backend), expected, rtol=1e-12)
    np.testing.assert_allclose(nade.log_likelihood(v.astype(bool), *model, backend=cpu_backend), expected, rtol=1e-12)
