"""fastgen.gbrbm ops on every backend and fastgen.GaussianBernoulliRBM on the CPU backends (and
on cuda, where there is a GPU), against float64 NumPy/SciPy references written here (mixtures of
Gaussians enumerated over the hidden states, numerical integration, the CD statistics from the
chains' samples). On cuda, where cuBLAS rounds the GEMMs otherwise and NVRTC may contract
a * b + c into one FMA, values are compared within the GPU tolerances."""
import itertools
import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import integrate
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import fastgen
from fastgen import _backend, gbrbm
from fastgen._arrays import host


def normal_kernels(name):
    return _backend.kernels(name).random


DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 2e-6, np.float64: 1e-13}
GPU_RTOL = {np.float32: 1e-4, np.float64: 1e-10}  # the GEMMs' results on cuda, as the binary RBM's
STREAM_HIDDEN, STREAM_VISIBLE, STREAM_INIT = 0, 1, 2


def gemm_rtol(backend, dtype, cpu_factor=1):
    """Relative tolerance of a value computed through a GEMM: `cpu_factor` RTOL on the CPU
    backends, GPU_RTOL on cuda."""
    return GPU_RTOL[dtype] if backend == "cuda" else cpu_factor * RTOL[dtype]

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


# ------------------------------------------------------------------ float64 references


def make_model(seed, n_visible, n_hidden, dtype=np.float64, w_scale=1.0):
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, w_scale, (n_visible, n_hidden))
    b = rng.normal(0.0, 0.5, n_visible)
    c = rng.normal(0.0, 0.5, n_hidden)
    sigma = rng.uniform(0.6, 1.5, n_visible)
    return tuple(a.astype(dtype) for a in (W, b, c, sigma))


def as64(*arrays):
    return tuple(np.asarray(a, dtype=np.float64) for a in arrays)


def ref_p_hidden(v, W, c, sigma):
    v, W, c, sigma = as64(v, W, c, sigma)
    return 1.0 / (1.0 + np.exp(-(c + (v / sigma**2) @ W)))


def ref_free_energy(v, W, b, c, sigma):
    v, W, b, c, sigma = as64(v, W, b, c, sigma)
    return (((v - b) / sigma) ** 2).sum(axis=1) / 2 - np.logaddexp(0.0, c + (v / sigma**2) @ W).sum(axis=1)


def all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def exact_mixture(W, b, c, sigma):
    """p(v) as the mixture over hidden states h of N(b + W h, sigma^2) with weights
    proportional to exp(c.h + sum((b + W h)^2 - b^2) / (2 sigma^2)): (states, weights,
    means, log Z)."""
    W, b, c, sigma = as64(W, b, c, sigma)
    H = all_states(W.shape[1])
    means = b + H @ W.T
    log_w = H @ c + ((means**2 - b**2) / (2 * sigma**2)).sum(axis=1)
    top = log_w.max()
    log_z = top + np.log(np.exp(log_w - top).sum()) + 0.5 * len(b) * math.log(2 * math.pi) + np.log(sigma).sum()
    weights = np.exp(log_w - top)
    return H, weights / weights.sum(), means, log_z


def ref_cd_statistics(v_data, v_model, W, b, c, sigma):
    """Data minus model means of (v / sigma^2) p(h|v)^T, (v - b) / sigma^2, p(h|v) and
    (0.5 (v - b)^2 - v (W p(h|v))) / sigma^2 (the gradient of log sigma^2), float64."""
    v_data, v_model, W, b, c, sigma = as64(v_data, v_model, W, b, c, sigma)

    def stats(v):
        p = ref_p_hidden(v, W, c, sigma)
        return (
            np.einsum("ni,nj->ij", v / sigma**2, p) / len(v),
            ((v - b) / sigma**2).mean(axis=0),
            p.mean(axis=0),
            ((0.5 * (v - b) ** 2 - v * (p @ W.T)) / sigma**2).mean(axis=0),
        )

    return [d - m for d, m in zip(stats(v_data), stats(v_model))]


def tv_noise_floor(p, n_samples, seed=7):
    """The mean total-variation distance of n_samples exact i.i.d. draws from p."""
    rng = np.random.default_rng(seed)
    return np.mean([0.5 * np.abs(rng.multinomial(n_samples, p) / n_samples - p).sum() for _ in range(8)])


# ------------------------------------------------------------------ the Gaussian kernel


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed,call", [(0, 0), (2**40 + 3, 5), (2**64 - 1, 2**32 - 1)])
def test_gaussian_kernel_against_backend_normals(backend, dtype, seed, call):
    # 13 columns: rows start in the middle of Box-Muller pairs and Philox blocks
    rng = np.random.default_rng(1)
    products = rng.normal(0.0, 2.0, (9, 13)).astype(dtype)
    bias = rng.normal(0.0, 1.0, 13).astype(dtype)
    sigma = rng.uniform(0.1, 3.0, 13).astype(dtype)
    kernels = _backend.kernels(backend)
    z = host(kernels.random.normals(products.size, seed, call, STREAM_VISIBLE)).reshape(products.shape)
    p64, b64, s64 = as64(products, bias, sigma)
    xp = kernels.xp  # the kernel takes the backend's arrays (and writes the mean into its first argument)
    state, mean = kernels.gbrbm.gaussian(xp.array(products), xp.asarray(bias), xp.asarray(sigma), seed, call,
                                         STREAM_VISIBLE)
    state, mean = host(state), host(mean)
    assert state.dtype == dtype and mean.dtype == dtype and state.shape == products.shape
    ref = p64 + b64 + s64 * z.astype(np.float64)
    if backend == "cuda":
        # NVRTC may contract a * b + c into one FMA, and its sqrt/log round like the CPU's to 1 ulp
        np.testing.assert_allclose(mean, p64 + b64, rtol=1e-6)
        np.testing.assert_allclose(state, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())
    else:
        np.testing.assert_array_equal(mean, (p64 + b64).astype(dtype))  # one rounding of the exact sum
        np.testing.assert_allclose(state, ref, rtol=RTOL[dtype], atol=RTOL[dtype] * np.abs(ref).max())


def test_gaussian_kernel_draws_standard_normals(backend):
    n = 200_000
    xp = _backend.kernels(backend).xp
    state, _ = _backend.kernels(backend).gbrbm.gaussian(xp.zeros((n // 100, 100)), xp.zeros(100), xp.ones(100), 3, 0,
                                                        STREAM_VISIBLE)
    x = host(state).ravel()
    assert abs(x.mean()) < 4 / math.sqrt(n)
    assert abs(x.var() - 1) < 4 * math.sqrt(2 / n)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_kernel_rows_drawn_alone_are_the_batchs_rows(backend, dtype):
    """first_row: a block of rows drawn alone (an AIS worker's chains) gets the values the whole
    batch gives those rows, bit for bit, whatever the block's place in the Philox blocks."""
    rng = np.random.default_rng(3)
    products = rng.normal(0.0, 2.0, (9, 13)).astype(dtype)  # 13 columns: rows start inside Philox blocks
    bias = rng.normal(0.0, 1.0, 13).astype(dtype)
    sigma = rng.uniform(0.1, 3.0, 13).astype(dtype)
    kernels = _backend.kernels(backend)
    xp = kernels.xp
    whole = [host(a) for a in kernels.gbrbm.gaussian(xp.array(products), xp.asarray(bias), xp.asarray(sigma), 5, 2,
                                                     STREAM_VISIBLE)]
    for start, stop in [(0, 1), (1, 4), (3, 9), (8, 9)]:
        block = kernels.gbrbm.gaussian(xp.array(products[start:stop]), xp.asarray(bias), xp.asarray(sigma), 5, 2,
                                       STREAM_VISIBLE, start)
        for got, expected in zip(block, whole):
            np.testing.assert_array_equal(host(got), expected[start:stop])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7, 13), (1025, 4099)])  # the second runs the multi-threaded loops
def test_gaussian_kernel_identical_on_cpu_backends(cpu_backends, dtype, shape):
    if len(cpu_backends) < 2:
        pytest.skip("needs the cpu and numba backends")
    rng = np.random.default_rng(2)
    products = rng.normal(0.0, 2.0, shape).astype(dtype)
    bias = rng.normal(0.0, 1.0, shape[1]).astype(dtype)
    sigma = rng.uniform(0.1, 3.0, shape[1]).astype(dtype)
    results = [_backend.kernels(name).gbrbm.gaussian(products.copy(), bias, sigma, 11, 4, STREAM_VISIBLE)
               for name in ("cpu", "numba")]
    for a, b in zip(*results):
        assert np.array_equal(a, b)


# ------------------------------------------------------------------ conditionals, Gibbs, free energy


@pytest.mark.parametrize("dtype", DTYPES)
def test_conditionals_against_reference(backend, dtype):
    W, b, c, sigma = make_model(3, 6, 4, dtype)
    rng = np.random.default_rng(4)
    v = rng.normal(0.0, 1.5, (30, 6)).astype(dtype)
    h, p = gbrbm.sample_hidden(v, W, c, sigma, seed=5, counter=2, backend=backend)
    tol = gemm_rtol(backend, dtype, 10)
    np.testing.assert_allclose(p, ref_p_hidden(v, W, c, sigma), rtol=tol, atol=tol)
    u = host(_backend.kernels(backend).random.uniforms(h.size, 5, 2, STREAM_HIDDEN)).reshape(h.shape)
    assert np.array_equal(h, (u.astype(dtype) < p).astype(dtype))

    hs = (rng.random((30, 4)) < 0.5).astype(dtype)
    v_new, mean = gbrbm.sample_visible(hs, W, b, sigma, seed=5, counter=2, backend=backend)
    h64, W64, b64, s64 = as64(hs, W, b, sigma)
    np.testing.assert_allclose(mean, b64 + h64 @ W64.T, rtol=tol, atol=tol)
    z = host(normal_kernels(backend).normals(v_new.size, 5, 2, STREAM_VISIBLE)).reshape(v_new.shape)
    if backend == "cuda":  # the Gaussian kernel's tolerance on the GPU (test_gaussian_kernel_against_backend_normals)
        np.testing.assert_allclose(v_new, mean.astype(np.float64) + s64 * z, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(v_new, mean.astype(np.float64) + s64 * z, rtol=RTOL[dtype], atol=10 * RTOL[dtype])


def test_gibbs_is_composition_of_conditionals(backend):
    W, b, c, sigma = make_model(6, 5, 3)
    v0 = np.random.default_rng(7).normal(size=(8, 5))
    v, counter = v0, 10
    for step in range(3):
        h, _ = gbrbm.sample_hidden(v, W, c, sigma, seed=9, counter=counter + step, backend=backend)
        v, _ = gbrbm.sample_visible(h, W, b, sigma, seed=9, counter=counter + step, backend=backend)
    v_out, h_out = gbrbm.gibbs(v0, W, b, c, sigma, 3, seed=9, counter=counter, backend=backend)
    assert np.array_equal(v_out, v) and np.array_equal(h_out, h)


@pytest.mark.parametrize("dtype", DTYPES)
def test_free_energy_against_reference(backend, dtype):
    W, b, c, sigma = make_model(8, 7, 5, dtype)
    v = np.random.default_rng(9).normal(0.0, 2.0, (12, 7)).astype(dtype)
    F = gbrbm.free_energy(v, W, b, c, sigma, backend=backend)
    ref = ref_free_energy(v, W, b, c, sigma)
    assert isinstance(F, np.ndarray) and F.dtype == np.float64 and F.shape == (12,)
    tol = gemm_rtol(backend, dtype, 10)
    np.testing.assert_allclose(F, ref, rtol=tol, atol=tol * np.abs(ref).max())


# ------------------------------------------------------------------ CD statistics


def manual_chain(v_data, W, b, c, sigma, k, seed, counter, backend, chains=None):
    """The samples of CD-k / PCD-k through the public conditionals: h0 at `counter`, v_s at
    counter + s - 1, h_s at counter + s."""
    h, _ = gbrbm.sample_hidden(v_data, W, c, sigma, seed=seed, counter=counter, backend=backend)
    if chains is not None:
        h = chains
    for s in range(1, k + 1):
        v, _ = gbrbm.sample_visible(h, W, b, sigma, seed=seed, counter=counter + s - 1, backend=backend)
        h, _ = gbrbm.sample_hidden(v, W, c, sigma, seed=seed, counter=counter + s, backend=backend)
    return v, h


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k,n_chains", [(1, None), (3, None), (2, 9)])
def test_cd_statistics_against_reference(backend, dtype, k, n_chains):
    W, b, c, sigma = make_model(10, 6, 5, dtype)
    rng = np.random.default_rng(11)
    v_data = rng.normal(0.0, 1.5, (20, 6)).astype(dtype)
    chains = None if n_chains is None else (rng.random((n_chains, 5)) < 0.5).astype(dtype)
    dW, db, dc, d_log_var, h_last = gbrbm.cd_statistics(v_data, W, b, c, sigma, k, chains=chains, seed=12, counter=30,
                                                        sigma_gradient=True, backend=backend)
    v_model, h_ref = manual_chain(v_data, W, b, c, sigma, k, 12, 30, backend, chains)
    assert np.array_equal(h_last, h_ref)
    tol = gemm_rtol(backend, dtype, 20)
    for got, ref in zip((dW, db, dc, d_log_var), ref_cd_statistics(v_data, v_model, W, b, c, sigma)):
        assert got.dtype == dtype and got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())
    without = gbrbm.cd_statistics(v_data, W, b, c, sigma, k, chains=chains, seed=12, counter=30, backend=backend)
    assert without[3] is None
    for a, b_ in zip(without[:3], (dW, db, dc)):
        assert np.array_equal(a, b_)


# ------------------------------------------------------------------ exact distribution


@pytest.mark.parametrize("n_hidden", [3, 4])
def test_exact_log_partition_against_numerical_integration(backend, n_hidden):
    W, b, c, sigma = make_model(20 + n_hidden, 2, n_hidden, w_scale=0.8)

    def unnormalised(y, x):
        v = np.array([x, y])
        return math.exp(-(((v - b) / sigma) ** 2).sum() / 2 + np.logaddexp(0.0, c + (v / sigma**2) @ W).sum())

    # the mixture's means lie within sum |W| of b; 12 sigma beyond them the density is < e^-72
    reach = np.abs(W).sum(axis=1) + 12 * sigma
    value, _ = integrate.dblquad(unnormalised, b[0] - reach[0], b[0] + reach[0], b[1] - reach[1], b[1] + reach[1],
                                     epsabs=0, epsrel=1e-10)
    log_z = gbrbm.log_partition_exact(W, b, c, sigma, backend=backend)
    assert abs(log_z - math.log(value)) < 1e-8
    assert abs(log_z - exact_mixture(W, b, c, sigma)[3]) < (1e-9 if backend == "cuda" else 1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_samples_match_exact_mixture(backend, dtype):
    """Independent chains after a burn-in against the exact mixture: mean and covariance of
    v within 4.5 standard errors, the hidden-state frequencies within 1.5 times the TV noise
    floor of as many exact i.i.d. draws."""
    W, b, c, sigma = make_model(30, 2, 3, dtype, w_scale=1.2)
    H, weights, means, _ = exact_mixture(W, b, c, sigma)
    s64 = np.asarray(sigma, np.float64)
    mean = weights @ means
    cov = np.diag(s64**2) + (weights[:, None] * means).T @ means - np.outer(mean, mean)

    n_chains = 20_000
    v0 = np.random.default_rng(31).normal(0.0, 3.0, (n_chains, 2)).astype(dtype)
    v, h = gbrbm.gibbs(v0, W, b, c, sigma, 40, seed=32, counter=0, backend=backend)
    v = v.astype(np.float64)

    se_mean = np.sqrt(np.diag(cov) / n_chains)
    assert np.all(np.abs(v.mean(axis=0) - mean) < 4.5 * se_mean), (v.mean(axis=0), mean)
    centred = v - mean
    products = centred[:, :, None] * centred[:, None, :]
    se_cov = products.std(axis=0) / math.sqrt(n_chains)
    assert np.all(np.abs(products.mean(axis=0) - cov) < 4.5 * se_cov), (products.mean(axis=0), cov)

    index = (h.astype(np.int64) * (1 << np.arange(2, -1, -1))).sum(axis=1)  # the row of H
    frequencies = np.bincount(index, minlength=len(H)) / n_chains
    tv = 0.5 * np.abs(frequencies - weights).sum()
    assert tv < 1.5 * tv_noise_floor(weights, n_chains), (tv, frequencies, weights)


def test_ais_against_exact(backend):
    W, b, c, sigma = make_model(40, 5, 6, w_scale=0.7)
    exact = gbrbm.log_partition_exact(W, b, c, sigma, backend=backend)
    result = gbrbm.log_partition_ais(W, b, c, sigma, n_chains=100, seed=3, backend=backend)
    assert abs(result.log_z - exact) < 0.05, (result.log_z, exact)
    assert result.log_z_lower <= exact <= result.log_z_upper
    assert result.log_weights.shape == (100,)
    assert result.log_z_base == pytest.approx(2.5 * math.log(2 * math.pi) + np.log(sigma).sum() + 6 * math.log(2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_ops_identical_on_cpu_backends(cpu_backends, dtype):
    if len(cpu_backends) < 2:
        pytest.skip("needs the cpu and numba backends")
    W, b, c, sigma = make_model(50, 9, 7, dtype)
    v = np.random.default_rng(51).normal(size=(33, 9)).astype(dtype)

    def run(name):
        gibbs = gbrbm.gibbs(v, W, b, c, sigma, 20, seed=52, counter=3, backend=name)
        cd = gbrbm.cd_statistics(v, W, b, c, sigma, 2, seed=52, counter=3, sigma_gradient=True, backend=name)
        ais = gbrbm.log_partition_ais(W, b, c, sigma, n_chains=20, betas=np.linspace(0, 1, 200), backend=name)
        return [*gibbs, *cd, ais.log_weights]

    for a, b_ in zip(run("cpu"), run("numba")):
        assert a.dtype == b_.dtype and np.array_equal(a, b_)


# ------------------------------------------------------------------ ops: bad input


def _bad_cases():
    W, b, c, sigma = make_model(60, 4, 3)
    v = np.random.default_rng(61).normal(size=(5, 4))
    h = (np.random.default_rng(62).random((5, 3)) < 0.5).astype(np.float64)
    nan_v, inf_v = v.copy(), v.copy()
    nan_v[1, 2], inf_v[0, 0] = np.nan, np.inf
    s = {"seed": 1}
    return [
        ("v NaN", lambda be: gbrbm.sample_hidden(nan_v, W, c, sigma, backend=be, **s), ValueError, r"^v contains NaN"),
        ("v inf", lambda be: gbrbm.gibbs(inf_v, W, b, c, sigma, 1, backend=be, **s), ValueError, r"^v contains NaN"),
        ("free energy NaN", lambda be: gbrbm.free_energy(nan_v, W, b, c, sigma, backend=be), ValueError,
         r"^v contains"),
        ("v columns", lambda be: gbrbm.sample_hidden(v[:, :3], W, c, sigma, backend=be, **s), ValueError,
         r"^v must have 4 columns"),
        ("v empty", lambda be: gbrbm.gibbs(v[:0], W, b, c, sigma, 1, backend=be, **s), ValueError, r"^v must hold at"),
        ("h columns", lambda be: gbrbm.sample_visible(v, W, b, sigma, backend=be, **s), ValueError,
         r"^h must have 3 columns"),
        ("h non-binary", lambda be: gbrbm.sample_visible(h * 0.5, W, b, sigma, backend=be, **s), ValueError,
         r"^h must hold binary"),
        ("chains non-binary", lambda be: gbrbm.cd_statistics(v, W, b, c, sigma, 1, chains=h * 0.5, backend=be, **s),
         ValueError, r"^chains must hold binary"),
        ("b length", lambda be: gbrbm.sample_visible(h, W, b[:3], sigma, backend=be, **s), ValueError,
         r"^b must have length 4"),
        ("sigma zero", lambda be: gbrbm.sample_hidden(v, W, c, np.r_[sigma[:3], 0.0], backend=be, **s), ValueError,
         r"^sigma must hold standard deviations > 0"),
        ("sigma negative", lambda be: gbrbm.log_partition_exact(W, b, c, -sigma, backend=be), ValueError,
         r"^sigma must"),
        ("sigma length", lambda be: gbrbm.free_energy(v, W, b, c, sigma[:3], backend=be), ValueError,
         r"^sigma must have length 4"),
        ("sigma NaN", lambda be: gbrbm.log_partition_ais(W, b, c, np.full(4, np.nan), backend=be), ValueError,
         r"^sigma contains NaN"),
        ("sigma dtype", lambda be: gbrbm.sample_hidden(v, W, c, sigma.astype(np.float32), backend=be, **s), TypeError,
         r"^sigma has dtype float32"),
        ("v dtype", lambda be: gbrbm.gibbs(v.astype(np.float32), W, b, c, sigma, 1, backend=be, **s), TypeError,
         r"^v has dtype float32"),
        ("string v", lambda be: gbrbm.free_energy(np.full((2, 4), "x"), W, b, c, sigma, backend=be), TypeError,
         r"^v must be float32 or float64"),
        ("W 1-D", lambda be: gbrbm.sample_hidden(v, W[:, 0], c, sigma, backend=be, **s), ValueError, r"^W must be 2-D"),
        ("k 0", lambda be: gbrbm.cd_statistics(v, W, b, c, sigma, 0, backend=be, **s), ValueError, r"^k must be"),
        ("sigma_gradient", lambda be: gbrbm.cd_statistics(v, W, b, c, sigma, 1, sigma_gradient="yes", backend=be, **s),
         TypeError, r"^sigma_gradient must be True or False"),
        ("counter + n_steps", lambda be: gbrbm.gibbs(v, W, b, c, sigma, 5, counter=2**32 - 3, backend=be, **s),
         ValueError, r"^counter \+ n_steps"),
        ("exact too big", lambda be: gbrbm.log_partition_exact(np.zeros((2, 26)), b[:2], np.zeros(26), sigma[:2],
                                                               backend=be), ValueError, r"at most 25 units"),
        ("AIS betas", lambda be: gbrbm.log_partition_ais(W, b, c, sigma, betas=[0.0, 0.5], backend=be), ValueError,
         r"^betas must start at 0 and end at 1"),
        ("AIS n_chains", lambda be: gbrbm.log_partition_ais(W, b, c, sigma, n_chains=0, backend=be), ValueError,
         r"^n_chains must be an integer >= 1"),
        ("unknown backend", lambda be: gbrbm.sample_hidden(v, W, c, sigma, backend="foo", **s), ValueError,
         r"^backend='foo' is not an available backend"),
    ]


BAD_CASES = _bad_cases()


# The checks run on the host before any kernel (on cuda, NumPy arrays of strings fail earlier,
# in the copy to the device, with another message): the CPU backends cover them.
@pytest.mark.parametrize("case", BAD_CASES, ids=[case[0] for case in BAD_CASES])
def test_ops_bad_input(cpu_backend, case):
    _, call, exc, match = case
    with pytest.raises(exc, match=match):
        call(cpu_backend)


# ------------------------------------------------------------------ the estimator


def mixture_data(n=300, seed=0):
    """Three well-separated clusters of unit variance in 2-D, centred: a Gaussian-Bernoulli
    RBM with sigma = 1 can fit it much better than its starting point N(mean, I)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[3.0, 3.0], [-3.0, -1.0], [1.0, -3.5]])
    X = centers[rng.integers(0, 3, n)] + rng.normal(size=(n, 2))
    return X - X.mean(axis=0)


def test_check_estimator(cpu_backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(fastgen.GaussianBernoulliRBM(n_components=4, n_iter=2, backend=cpu_backend))


def test_training_raises_exact_log_likelihood(cpu_backend):
    X = mixture_data()
    start = fastgen.GaussianBernoulliRBM(n_components=8, n_iter=0, backend=cpu_backend).fit(X)
    assert np.array_equal(start.intercept_visible_, X.mean(axis=0))  # initialised from the data mean
    model = fastgen.GaussianBernoulliRBM(n_components=8, n_iter=20, learning_rate=0.03, random_state=0,
                                         backend=cpu_backend).fit(X)
    before, after = start.log_likelihood(X, method="exact"), model.log_likelihood(X, method="exact")
    assert after > before + 2.0, (before, after)
    # the likelihood is the float64 reference: -F(v) - log Z with log Z from the exact mixture
    params = (model.components_.T, model.intercept_visible_, model.intercept_hidden_, model.sigma_)
    ref = -ref_free_energy(X, *params).mean() - exact_mixture(*params)[3]
    assert after == pytest.approx(ref, abs=1e-9)
    ais = model.log_partition("ais", n_chains=100, seed=1)
    assert abs(ais.log_z - model.log_partition("exact")) < 0.05


def test_fit_identical_on_cpu_backends(cpu_backends):
    if len(cpu_backends) < 2:
        pytest.skip("needs the cpu and numba backends")
    X = mixture_data(100)
    models = [fastgen.GaussianBernoulliRBM(n_components=5, n_iter=3, random_state=4, learn_sigma=True, momentum=0.5,
                                           backend=name).fit(X.astype(np.float32)) for name in ("cpu", "numba")]
    for name in ("components_", "intercept_visible_", "intercept_hidden_", "sigma_", "h_samples_"):
        a, b = (getattr(m, name) for m in models)
        assert a.dtype == np.float32 and np.array_equal(a, b), name
    assert np.array_equal(models[0].sample(7, 20, random_state=1), models[1].sample(7, 20, random_state=1))


def test_fit_with_learned_sigma_raises_exact_log_likelihood(backend):
    """The estimator on every backend, cuda included: NumPy attributes, and a better model."""
    X = mixture_data()
    model = fastgen.GaussianBernoulliRBM(n_components=8, n_iter=20, learning_rate=0.03, random_state=0,
                                         learn_sigma=True, backend=backend).fit(X)
    start = fastgen.GaussianBernoulliRBM(n_components=8, n_iter=0, backend=backend).fit(X)
    assert model.log_likelihood(X, method="exact") > start.log_likelihood(X, method="exact") + 2.0
    assert isinstance(model.sigma_, np.ndarray) and model.sample(5, 10).shape == (5, 2)


@pytest.mark.parametrize("start,scale", [(3.0, 1.0), (0.3, 1.0)])
def test_learn_sigma_moves_toward_data_scale(cpu_backend, start, scale):
    X = np.random.default_rng(5).normal(0.0, scale, (400, 3))
    model = fastgen.GaussianBernoulliRBM(n_components=4, n_iter=10, learn_sigma=True, sigma=start, random_state=0,
                                         backend=cpu_backend).fit(X)
    assert np.all(np.abs(np.log(model.sigma_ / scale)) < 0.5 * abs(math.log(start / scale))), model.sigma_
    fixed = fastgen.GaussianBernoulliRBM(n_components=4, n_iter=2, sigma=start, random_state=0,
                                         backend=cpu_backend).fit(X)
    assert np.array_equal(fixed.sigma_, np.full(3, start))


def test_learn_sigma_respects_floor():
    X = np.random.default_rng(6).normal(0.0, 0.01, (200, 2))
    model = fastgen.GaussianBernoulliRBM(n_components=3, n_iter=10, learn_sigma=True, sigma=0.5, min_sigma=0.2,
                                         learning_rate=0.05, random_state=0).fit(X)
    assert np.all(model.sigma_ >= 0.2 * (1 - 1e-12))


def test_per_feature_sigma_and_pipeline():
    X = mixture_data(200) * np.array([10.0, 0.1])
    scaled = make_pipeline(StandardScaler(), fastgen.GaussianBernoulliRBM(n_components=6, n_iter=3, random_state=0))
    assert scaled.fit_transform(X).shape == (200, 6)
    model = fastgen.GaussianBernoulliRBM(n_components=6, n_iter=1, sigma=X.std(axis=0), random_state=0).fit(X)
    assert np.allclose(model.sigma_, X.std(axis=0))


def test_methods(cpu_backend):
    X = mixture_data(120)
    model = fastgen.GaussianBernoulliRBM(n_components=5, n_iter=2, random_state=3, backend=cpu_backend).fit(X)
    params = (model.components_.T, model.intercept_visible_, model.intercept_hidden_, model.sigma_)
    np.testing.assert_allclose(model.transform(X), ref_p_hidden(X, params[0], params[2], params[3]), rtol=1e-12)
    np.testing.assert_allclose(model.free_energy(X), ref_free_energy(X, *params), rtol=1e-12)
    assert model.gibbs(X[:4]).shape == (4, 2)
    samples = model.sample(50, n_steps=5, random_state=2)
    assert samples.shape == (50, 2) and np.isfinite(samples).all()
    assert np.array_equal(samples, model.sample(50, n_steps=5, random_state=2))
    assert model.log_partition("exact") == pytest.approx(exact_mixture(*params)[3], abs=1e-10)
    before = model.log_partition("exact")
    model.sigma_ = model.sigma_ * 2  # a change by hand invalidates the cached log Z
    assert model.log_partition("exact") != before
    partial = fastgen.GaussianBernoulliRBM(n_components=5, random_state=3, backend=cpu_backend)
    partial.partial_fit(X[:10]).partial_fit(X[10:20])
    assert partial.components_.shape == (5, 2) and partial.sigma_.shape == (2,)


def test_failed_fit_leaves_model_unchanged():
    X = mixture_data(60)
    model = fastgen.GaussianBernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(X)
    saved = {name: np.copy(getattr(model, name)) for name in ("components_", "intercept_visible_", "sigma_")}
    bad = X.copy()
    bad[3, 1] = np.nan
    for attempt in (lambda: model.fit(bad), lambda: model.set_params(sigma=[1.0, 2.0, 3.0]).fit(X),
                    lambda: model.set_params(sigma=1.0, learn_sigma=1).fit(X)):
        with pytest.raises(ValueError):
            attempt()
        for name, value in saved.items():
            assert np.array_equal(getattr(model, name), value), name


@pytest.mark.parametrize("params,match", [
    ({"sigma": 0.0}, r"sigma.*must be a float in the range \(0.0, inf\) or an array-like. Got 0.0"),
    ({"sigma": [1.0, -1.0]}, r"^sigma must hold finite"),
    ({"sigma": [1.0, 2.0, 3.0]}, r"^sigma has 3 values but X has 2 features"),
    ({"sigma": [[1.0, 2.0]]}, r"^sigma must be a real number > 0 or a 1-D array"),
    ({"sigma": "big"}, r"sigma.*Got 'big'"),
    ({"sigma": True}, r"^sigma must be a real number > 0"),
    ({"learn_sigma": "yes"}, r"learn_sigma.*must be an instance of 'bool'"),
    ({"min_sigma": 0.0}, r"min_sigma.*must be a float in the range \(0.0, inf\)"),
    ({"min_sigma": np.inf}, r"min_sigma.*Got inf"),
    ({"backend": "foo"}, r"backend.*Got 'foo'"),
])
def test_estimator_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        fastgen.GaussianBernoulliRBM(n_components=2, n_iter=1, **params).fit(mixture_data(20))


def test_estimator_bad_data():
    X = mixture_data(20)
    model = fastgen.GaussianBernoulliRBM(n_components=2, n_iter=1)
    for name in ("transform", "free_energy", "gibbs", "log_likelihood"):
        with pytest.raises(NotFittedError):
            getattr(model, name)(X)
    with pytest.raises(NotFittedError):
        model.sample(3)
    with pytest.raises(NotFittedError):
        model.log_partition("exact")
    for bad, exc, match in ((np.where(X > 1, np.inf, X), ValueError, "infinity"),
                            (np.where(X > 1, np.nan, X), ValueError, "NaN"),
                            (sp.csr_matrix(X), TypeError, "dense data is required"),
                            (np.full((3, 2), "a"), ValueError, "could not convert")):
        with pytest.raises(exc, match=match):
            model.fit(bad)
    model.fit(X)
    with pytest.raises(ValueError, match="X has 3 features"):
        model.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="method must be one of 'exact', 'ais', got 'guess'"):
        model.log_partition("guess")
    with pytest.raises(ValueError, match="unknown options for method='ais': base_visible_bias"):
        model.log_partition("ais", base_visible_bias=np.zeros(2))
