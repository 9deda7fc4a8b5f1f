"""fastgen.rbm ops on every backend, against float64 NumPy references written here.

The GPU's GEMMs (cuBLAS) round differently from the CPU's BLAS, so on cuda probabilities and
statistics are compared within the looser GPU tolerances, while states must still be exactly
(u < p) for the uniforms that every backend draws. Bit-identity between cpu and numba, thread
counts and the selected-rows (sparse) products are host matters: those tests take `cpu_backend`.
"""
import os

import numpy as np
import pytest

import fastgen
from fastgen import _backend, rbm
from fastgen._arrays import host
from fastgen._constants import RbmStream

STREAM_HIDDEN, STREAM_VISIBLE = RbmStream.HIDDEN, RbmStream.VISIBLE

DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-5, np.float64: 1e-12}
GPU_RTOL = {np.float32: 1e-4, np.float64: 1e-10}  # probabilities on cuda (atol 1e-7)
GPU_FREE_ENERGY_RTOL = {np.float32: 1e-5, np.float64: 1e-10}
GPU_CD_TOL = (1e-4, 1e-5)  # (rtol, atol) of the CD statistics on cuda

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def p_tolerance(backend, dtype):
    """(rtol, atol) of a probability against its float64 reference on `backend`."""
    return (GPU_RTOL[dtype], 1e-7) if backend == "cuda" else (RTOL[dtype], 0.0)


def tie_tolerance(backend, dtype):
    """(rtol, atol) of p within which a state may differ from the float64 reference's: the GPU's
    tolerance of p on cuda, none on the CPU backends (but for float32's ties within 1e-6)."""
    return p_tolerance(backend, dtype) if backend == "cuda" else (0.0, 0.0)


# ------------------------------------------------------------------ float64 references


def ref_sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def ref_free_energy(v, W, b, c):
    """F(v) = -b.v - sum_j log(1 + exp(c_j + (vW)_j)), all in float64."""
    v, W, b, c = (np.asarray(a, dtype=np.float64) for a in (v, W, b, c))
    return -(v @ b) - np.logaddexp(0.0, c + v @ W).sum(axis=1)


def ref_p_hidden(v, W, c):
    v, W, c = (np.asarray(a, dtype=np.float64) for a in (v, W, c))
    return ref_sigmoid(v @ W + c)


def ref_p_visible(h, W, b):
    h, W, b = (np.asarray(a, dtype=np.float64) for a in (h, W, b))
    return ref_sigmoid(h @ W.T + b)


def ref_cd_statistics(v_data, v_model, W, b, c):
    """The CD statistics from the data batch and the chains' last visible sample:
    dW = <v p(h|v)>_data - <v p(h|v)>_model, db = <v>_data - <v>_model,
    dc = <p(h|v)>_data - <p(h|v)>_model, with p(h|v) computed here in float64."""
    v_data = np.asarray(v_data, dtype=np.float64)
    v_model = np.asarray(v_model, dtype=np.float64)
    ph_data = ref_p_hidden(v_data, W, c)
    ph_model = ref_p_hidden(v_model, W, c)
    dW = np.einsum("ni,nj->ij", v_data, ph_data) / len(v_data) - np.einsum("ni,nj->ij", v_model, ph_model) / len(
        v_model
    )
    db = v_data.mean(axis=0) - v_model.mean(axis=0)
    dc = ph_data.mean(axis=0) - ph_model.mean(axis=0)
    return dW, db, dc


def make_rbm(seed, n_visible, n_hidden, dtype, w_scale=1.0, bias_scale=0.5):
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, w_scale, (n_visible, n_hidden)).astype(dtype)
    b = rng.normal(0.0, bias_scale, n_visible).astype(dtype)
    c = rng.normal(0.0, bias_scale, n_hidden).astype(dtype)
    return W, b, c


def binary(seed, shape, dtype, p=0.5):
    return (np.random.default_rng(seed).random(shape) < p).astype(dtype)


def kernels(name):
    return _backend.kernels(name)


def check_states_against_uniforms(states, p_returned, p_ref64, u, dtype, rtol=0.0, atol=0.0):
    """states must be exactly (u < p) for the returned p, and (u < p_ref) for the
    independent reference p in the op's dtype, up to ties closer than 1e-6 in float32, or
    than the tolerance (rtol, atol) of the returned p where it is not the CPU's."""
    assert np.array_equal(states, (u.astype(dtype) < p_returned).astype(dtype))
    expected = (u.astype(dtype) < p_ref64.astype(dtype)).astype(dtype)
    mismatch = states != expected
    if dtype == np.float64 and not (rtol or atol):
        assert not mismatch.any(), np.argwhere(mismatch)[:10]
    else:
        tie = (1e-6 if dtype == np.float32 else 0.0) + rtol * np.abs(p_ref64[mismatch]) + atol
        assert np.all(np.abs(u[mismatch].astype(np.float64) - p_ref64[mismatch]) < tie)


# ------------------------------------------------------------------ conditionals


# Binary inputs at most 20% ones take the selected-rows kernels, denser ones a GEMM:
# tests that take a binary input run at one density of each kind.
DENSITIES = [0.1, 0.5]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("density", DENSITIES)
@pytest.mark.parametrize("seed,counter", [(0, 0), (2**40 + 3, 5), (2**64 - 1, 2**32 - 1)])
def test_sample_hidden(backend, dtype, density, seed, counter):
    W, b, c = make_rbm(1, 13, 11, dtype, w_scale=1.5)
    v = binary(2, (37, 13), dtype, p=density)  # 407 elements, not a multiple of 4
    h, p = rbm.sample_hidden(v, W, c, seed=seed, counter=counter, backend=backend)
    # NumPy in, NumPy out, whatever the backend (cuda copies to the device and back)
    assert isinstance(h, np.ndarray) and isinstance(p, np.ndarray)
    assert h.dtype == dtype and p.dtype == dtype
    assert h.shape == (37, 11) and p.shape == (37, 11)
    p_ref = ref_p_hidden(v, W, c)
    rtol, atol = p_tolerance(backend, dtype)
    np.testing.assert_allclose(p, p_ref, rtol=rtol, atol=atol)
    u = host(kernels(backend).random.uniforms(h.size, seed, counter, STREAM_HIDDEN)).reshape(h.shape)
    check_states_against_uniforms(h, p, p_ref, u, dtype, *tie_tolerance(backend, dtype))
    assert set(np.unique(h)) == {0.0, 1.0}
    # the inputs are not modified
    assert np.array_equal(v, binary(2, (37, 13), dtype, p=density))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed,counter", [(0, 0), (2**40 + 3, 5), (123, 2**32 - 1)])
def test_sample_visible(backend, dtype, seed, counter):
    W, b, c = make_rbm(3, 13, 11, dtype, w_scale=1.5)
    h = binary(4, (29, 11), dtype)  # 377 elements
    v, p = rbm.sample_visible(h, W, b, seed=seed, counter=counter, backend=backend)
    assert isinstance(v, np.ndarray) and isinstance(p, np.ndarray)
    assert v.dtype == dtype and p.dtype == dtype
    assert v.shape == (29, 13) and p.shape == (29, 13)
    p_ref = ref_p_visible(h, W, b)
    rtol, atol = p_tolerance(backend, dtype)
    np.testing.assert_allclose(p, p_ref, rtol=rtol, atol=atol)
    u = host(kernels(backend).random.uniforms(v.size, seed, counter, STREAM_VISIBLE)).reshape(v.shape)
    check_states_against_uniforms(v, p, p_ref, u, dtype, *tie_tolerance(backend, dtype))
    assert set(np.unique(v)) == {0.0, 1.0}


@pytest.mark.parametrize("dtype", DTYPES)
def test_sample_hidden_extreme_logits(backend, dtype):
    """Huge pre-activations: probabilities stay in [0, 1] without overflow warnings."""
    W = np.array([[200.0, -200.0, 0.0, 1000.0]], dtype=dtype)
    c = np.array([0.0, 0.0, -800.0, 0.0], dtype=dtype)
    v = np.array([[1.0], [0.0]], dtype=dtype)
    h, p = rbm.sample_hidden(v, W, c, seed=1, counter=2, backend=backend)
    # float32 underflows e^-200 to 0: allow absolute errors below the smallest normal number
    rtol = p_tolerance(backend, dtype)[0]
    np.testing.assert_allclose(p, ref_p_hidden(v, W, c), rtol=rtol, atol=np.finfo(dtype).tiny)
    assert np.all(np.isfinite(p))
    assert h[0, 0] == 1 and h[0, 1] == 0 and h[0, 2] == 0 and h[1, 2] == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_saturated_unit_is_always_on(backend, dtype):
    # (seed 0, call 1205178, stream 0): element 0 takes a Philox word with top 24 bits all ones,
    # the largest uniform there is: it must still fall below p == 1
    v = np.zeros((1, 1), dtype=dtype)
    W = np.zeros((1, 4), dtype=dtype)
    c = np.full(4, 100.0, dtype=dtype)
    h, p = rbm.sample_hidden(v, W, c, seed=0, counter=1205178, backend=backend)
    assert np.all(p == 1)
    assert np.all(h == 1), h


# ------------------------------------------------------------------ gibbs and CD


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_steps,counter", [(1, 0), (5, 11), (3, 2**32 - 4)])
def test_gibbs_is_composition(backend, dtype, n_steps, counter):
    W, b, c = make_rbm(5, 9, 6, dtype)
    v0 = binary(6, (17, 9), dtype)
    seed = 2**35 + 1
    v_out, h_out = rbm.gibbs(v0, W, b, c, n_steps, seed=seed, counter=counter, backend=backend)
    v = v0
    for k in range(counter, counter + n_steps):
        h, _ = rbm.sample_hidden(v, W, c, seed=seed, counter=k, backend=backend)
        v, _ = rbm.sample_visible(h, W, b, seed=seed, counter=k, backend=backend)
    assert v_out.dtype == dtype and h_out.dtype == dtype
    assert v_out.shape == (17, 9) and h_out.shape == (17, 6)
    assert np.array_equal(v_out, v)
    assert np.array_equal(h_out, h)


def test_gibbs_last_counters(backend):
    W, b, c = make_rbm(5, 9, 6, np.float64)
    v0 = binary(6, (4, 9), np.float64)
    # sample_hidden/sample_visible accept counter 2**32 - 1, so one sweep there must work
    h, _ = rbm.sample_hidden(v0, W, c, seed=1, counter=2**32 - 1, backend=backend)
    v, _ = rbm.sample_visible(h, W, b, seed=1, counter=2**32 - 1, backend=backend)
    v_out, h_out = rbm.gibbs(v0, W, b, c, 1, seed=1, counter=2**32 - 1, backend=backend)
    assert np.array_equal(v_out, v) and np.array_equal(h_out, h)


def manual_chain(v_data, W, b, c, k, seed, counter, backend, chains=None):
    """Samples of CD-k / PCD-k reproduced with the public conditionals:
    h0 at `counter` (hidden), v_s at counter+s-1 (visible), h_s at counter+s (hidden)."""
    h, _ = rbm.sample_hidden(v_data, W, c, seed=seed, counter=counter, backend=backend)
    if chains is not None:
        h = chains
    for s in range(1, k + 1):
        v, _ = rbm.sample_visible(h, W, b, seed=seed, counter=counter + s - 1, backend=backend)
        h, _ = rbm.sample_hidden(v, W, c, seed=seed, counter=counter + s, backend=backend)
    return v, h


def check_cd(result, v_data, v_model, h_last, W, b, c, dtype, backend):
    dW, db, dc, chains = result
    ref_dW, ref_db, ref_dc = ref_cd_statistics(v_data, v_model, W, b, c)
    rtol, atol = GPU_CD_TOL if backend == "cuda" else (RTOL[dtype], RTOL[dtype])
    for got, ref, shape in ((dW, ref_dW, W.shape), (db, ref_db, b.shape), (dc, ref_dc, c.shape)):
        assert got.dtype == dtype and got.shape == shape
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol)
    assert chains.dtype == dtype
    assert np.array_equal(chains, h_last)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("density", DENSITIES)
@pytest.mark.parametrize("k", [1, 3])
def test_cd_statistics_cd(backend, dtype, density, k):
    # negative visible biases keep the model's samples sparse too at density 0.1
    W, b, c = make_rbm(7, 10, 7, dtype)
    b = (b - 3 * (density < 0.2)).astype(dtype)
    v_data = binary(8, (25, 10), dtype, p=density)
    seed, counter = 99, 40
    result = rbm.cd_statistics(v_data, W, b, c, k, seed=seed, counter=counter, backend=backend)
    v_model, h_last = manual_chain(v_data, W, b, c, k, seed, counter, backend)
    check_cd(result, v_data, v_model, h_last, W, b, c, dtype, backend)
    assert result[3].shape == (25, 7)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_chains", [25, 40, 8])
def test_cd_statistics_pcd(backend, dtype, n_chains):
    W, b, c = make_rbm(9, 10, 7, dtype)
    v_data = binary(10, (25, 10), dtype, p=0.6)
    chains = binary(11, (n_chains, 7), dtype)
    seed, counter, k = 2**50 + 7, 3, 2
    result = rbm.cd_statistics(v_data, W, b, c, k, chains=chains, seed=seed, counter=counter, backend=backend)
    v_model, h_last = manual_chain(v_data, W, b, c, k, seed, counter, backend, chains=chains)
    assert v_model.shape == (n_chains, 10)
    check_cd(result, v_data, v_model, h_last, W, b, c, dtype, backend)
    assert result[3].shape == (n_chains, 7)
    # the persistent chains go on from where they were: feeding them back in equals
    # running the manual chain from them
    result2 = rbm.cd_statistics(
        v_data, W, b, c, k, chains=result[3], seed=seed, counter=counter + k + 1, backend=backend
    )
    v_model2, h_last2 = manual_chain(v_data, W, b, c, k, seed, counter + k + 1, backend, chains=result[3])
    check_cd(result2, v_data, v_model2, h_last2, W, b, c, dtype, backend)


# ------------------------------------------------------------------ free energy


def free_energy_rtol(backend, dtype):
    return GPU_FREE_ENERGY_RTOL[dtype] if backend == "cuda" else RTOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
def test_free_energy(backend, dtype):
    W, b, c = make_rbm(12, 15, 9, dtype)
    v = binary(13, (21, 15), dtype)
    F = rbm.free_energy(v, W, b, c, backend=backend)
    ref = ref_free_energy(v, W, b, c)
    assert isinstance(F, np.ndarray) and F.dtype == np.float64 and F.shape == (21,)
    rtol = free_energy_rtol(backend, dtype)
    np.testing.assert_allclose(F, ref, rtol=rtol, atol=rtol * np.abs(ref).max())
    # real-valued (probability) visible vectors are accepted too
    vp = np.random.default_rng(14).random((6, 15)).astype(dtype)
    Fp = rbm.free_energy(vp, W, b, c, backend=backend)
    refp = ref_free_energy(vp, W, b, c)
    np.testing.assert_allclose(Fp, refp, rtol=rtol, atol=rtol * np.abs(refp).max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_free_energy_extreme_weights(backend, dtype):
    rng = np.random.default_rng(15)
    W = rng.choice([-50.0, 50.0], size=(30, 20)) * (1 + 0.1 * rng.random((30, 20)))
    W[:, 0] = 50.0  # pre-activations of several hundred: beyond float64's exp range too
    W[:, 1] = -50.0
    W = W.astype(dtype)
    b = rng.normal(0, 5, 30).astype(dtype)
    c = rng.normal(0, 5, 20).astype(dtype)
    v = binary(16, (12, 30), dtype)
    with np.errstate(over="ignore"):
        naive = -(v @ b) - np.log1p(np.exp(c + v @ W)).sum(axis=1)  # in the op's dtype
    assert not np.all(np.isfinite(naive))  # the naive formula does overflow here
    F = rbm.free_energy(v, W, b, c, backend=backend)
    ref = ref_free_energy(v, W, b, c)
    assert np.all(np.isfinite(F))
    rtol = free_energy_rtol(backend, dtype)
    np.testing.assert_allclose(F, ref, rtol=rtol, atol=rtol * np.abs(ref).max())


def backend_arrays(backend, *arrays):
    """The arrays on the backend's device (CuPy for cuda), for calls of its kernels."""
    xp = kernels(backend).xp
    return [xp.asarray(a) for a in arrays]


# Hidden units per row: fewer than one lane of eight, whole lanes, and lanes plus a remainder.
HIDDEN_COUNTS = [1, 7, 8, 9, 150, 501]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_hidden", HIDDEN_COUNTS)
def test_free_energy_kernel_sums_exact_softplus_in_double(backend, dtype, n_hidden):
    # Given the arguments themselves (no GEMM in between), the free energy is a float64 sum of
    # float64 softplus terms whatever the dtype: float32 rows agree with the float64 reference
    # to 1e-13, where softplus rounded to float32 (as before) was off by about 1e-8 relative.
    rng = np.random.default_rng(30 + n_hidden)
    a = (rng.normal(0.0, 4.0, (40, n_hidden)) * rng.choice([1.0, 30.0], (40, n_hidden))).astype(dtype)
    visible_term = rng.normal(0.0, 3.0, 40)
    scale = rng.uniform(0.05, 1.0, 40).astype(dtype)
    zero = np.zeros(n_hidden, dtype)
    k = kernels(backend).rbm
    # the argument of each softplus is formed in the dtype: scale * (a + 0)
    x = (scale[:, None] * a).astype(np.float64)
    ref = -visible_term - np.logaddexp(0.0, x).sum(axis=1)
    got = host(k.free_energy(*backend_arrays(backend, a, zero, visible_term, scale)))
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13 * np.abs(ref).max())
    # row_scale folds the scale in exactly as scaling the logits first would
    prescaled = (scale[:, None] * a).astype(dtype)
    assert np.array_equal(got, host(k.free_energy(*backend_arrays(backend, prescaled, zero, visible_term))))
    # without row_scale, the scale is 1
    unscaled = -visible_term - np.logaddexp(0.0, a.astype(np.float64)).sum(axis=1)
    np.testing.assert_allclose(host(k.free_energy(*backend_arrays(backend, a, zero, visible_term))), unscaled,
                               rtol=1e-13, atol=1e-13 * np.abs(unscaled).max())


# ------------------------------------------------------------------ cpu vs numba


@pytest.fixture
def thread_settings(cpu_backends):
    """Yields a function that sets both CPU backends' thread counts; restores them after."""
    if set(cpu_backends) != {"cpu", "numba"}:
        pytest.skip("needs both the cpu and numba backends")
    import numba

    ks = {name: kernels(name) for name in ("cpu", "numba")}
    previous = {name: k.get_num_threads() for name, k in ks.items()}
    full = {"cpu": max(previous["cpu"], os.cpu_count() or 1), "numba": numba.config.NUMBA_NUM_THREADS}

    def apply(mode):
        for name, k in ks.items():
            k.set_num_threads(1 if mode == "one" else full[name])
            assert k.get_num_threads() == (1 if mode == "one" else full[name])

    try:
        yield apply
    finally:
        for name, k in ks.items():
            k.set_num_threads(previous[name])


def run_everywhere(thread_settings, op):
    """op(backend) on cpu and numba, with 1 thread and with all threads; all results."""
    results = []
    for mode in ("one", "all"):
        thread_settings(mode)
        for name in ("cpu", "numba"):
            results.append(((mode, name), op(name)))
    return results


def assert_all_identical(results):
    (label0, first), rest = results[0], results[1:]
    for label, other in rest:
        assert len(other) == len(first)
        for a, b in zip(first, other):
            assert a.dtype == b.dtype and a.shape == b.shape, (label0, label)
            assert np.array_equal(a, b), (label0, label)


# 64 chains is below the backends' serial/parallel cut-off (8192 elements); 512 chains
# (15360 visible and 10240 hidden elements) runs the multi-threaded kernels.
CHAIN_COUNTS = [64, 512]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("density", DENSITIES)
@pytest.mark.parametrize("n_chains", CHAIN_COUNTS)
def test_backends_identical_conditionals(thread_settings, dtype, density, n_chains):
    W, b, c = make_rbm(20, 30, 20, dtype, w_scale=0.7)
    v = binary(21, (n_chains, 30), dtype, p=density)
    h = binary(22, (n_chains, 20), dtype)
    seed = 2**33 + 5
    assert_all_identical(
        run_everywhere(thread_settings, lambda be: rbm.sample_hidden(v, W, c, seed=seed, counter=7, backend=be))
    )
    assert_all_identical(
        run_everywhere(thread_settings, lambda be: rbm.sample_visible(h, W, b, seed=seed, counter=7, backend=be))
    )
    assert_all_identical(
        run_everywhere(thread_settings, lambda be: (rbm.free_energy(v, W, b, c, backend=be),))
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_hidden", HIDDEN_COUNTS)
@pytest.mark.parametrize("n_rows", [40, 30_000])  # 30,000 rows of 150 or more: above the parallel threshold
def test_backends_identical_scaled_free_energy(thread_settings, dtype, n_hidden, n_rows):
    rng = np.random.default_rng(n_hidden)
    a = rng.normal(0.0, 5.0, (n_rows, n_hidden)).astype(dtype)
    bias = rng.normal(0.0, 1.0, n_hidden).astype(dtype)
    visible_term = rng.normal(0.0, 3.0, n_rows)
    scale = rng.uniform(0.0, 1.0, n_rows).astype(dtype)
    assert_all_identical(
        run_everywhere(thread_settings, lambda be: (kernels(be).rbm.free_energy(a, bias, visible_term, scale),))
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_chains", CHAIN_COUNTS)
def test_backends_identical_gibbs(thread_settings, dtype, n_chains):
    W, b, c = make_rbm(23, 30, 20, dtype, w_scale=0.7)
    v = binary(24, (n_chains, 30), dtype)
    results = run_everywhere(thread_settings, lambda be: rbm.gibbs(v, W, b, c, 50, seed=77, counter=1000, backend=be))
    assert_all_identical(results)
    assert not np.array_equal(results[0][1][0], v)  # it did move


@pytest.mark.parametrize("dtype", DTYPES)
def test_backends_identical_large_sparse(thread_settings, dtype):
    """Big enough for the parallel selected-rows, gradient and epilogue loops (>= 2**22
    elements each): still bit-identical across backends and thread counts."""
    W, b, c = make_rbm(40, 200, 1500, dtype, w_scale=0.1)
    b = (b - 3).astype(dtype)  # sparse model samples too
    v = binary(41, (3000, 200), dtype, p=0.1)
    assert_all_identical(
        run_everywhere(thread_settings, lambda be: rbm.sample_hidden(v, W, c, seed=3, counter=1, backend=be))
    )
    assert_all_identical(
        run_everywhere(thread_settings, lambda be: rbm.cd_statistics(v, W, b, c, 1, seed=3, counter=1, backend=be))
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("density", DENSITIES)
@pytest.mark.parametrize("n_chains", CHAIN_COUNTS)
def test_backends_identical_cd_statistics(thread_settings, dtype, density, n_chains):
    W, b, c = make_rbm(25, 30, 20, dtype, w_scale=0.7)
    b = (b - 3 * (density < 0.2)).astype(dtype)
    v = binary(26, (n_chains, 30), dtype, p=density)
    chains = binary(27, (n_chains * 3 // 4, 20), dtype)
    assert_all_identical(
        run_everywhere(thread_settings, lambda be: rbm.cd_statistics(v, W, b, c, 3, seed=5, counter=9, backend=be))
    )
    assert_all_identical(
        run_everywhere(
            thread_settings,
            lambda be: rbm.cd_statistics(v, W, b, c, 2, chains=chains, seed=5, counter=9, backend=be),
        )
    )


# ------------------------------------------------------------------ exact distribution


def exact_visible_distribution(W, b, c):
    n_visible = W.shape[0]
    states = ((np.arange(2**n_visible)[:, None] >> np.arange(n_visible)) & 1).astype(np.float64)
    log_p = -ref_free_energy(states, W, b, c)
    log_p -= log_p.max()
    p = np.exp(log_p)
    return p / p.sum()


def state_index(v):
    return (np.asarray(v, dtype=np.int64) << np.arange(v.shape[1])).sum(axis=1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gibbs_samples_exact_distribution(backend, dtype):
    n_visible, n_hidden = 8, 4
    rng = np.random.default_rng(2024)
    W64 = rng.normal(0.0, 1.0, (n_visible, n_hidden))
    b64 = rng.normal(0.0, 0.5, n_visible)
    c64 = rng.normal(0.0, 0.5, n_hidden)
    W, b, c = W64.astype(dtype), b64.astype(dtype), c64.astype(dtype)
    p_exact = exact_visible_distribution(W, b, c)

    n_chains, burn_in, n_sweeps = 2000, 50, 100
    n_samples = n_chains * n_sweeps
    seed = 31337
    v = (rng.random((n_chains, n_visible)) < 0.5).astype(dtype)
    v, _ = rbm.gibbs(v, W, b, c, burn_in, seed=seed, counter=0, backend=backend)
    counts = np.zeros(2**n_visible, dtype=np.int64)
    for k in range(burn_in, burn_in + n_sweeps):
        v, _ = rbm.gibbs(v, W, b, c, 1, seed=seed, counter=k, backend=backend)
        counts += np.bincount(state_index(v), minlength=2**n_visible)
    assert counts.sum() == n_samples
    tv = 0.5 * np.abs(counts / n_samples - p_exact).sum()

    # noise floor: the mean TV distance of n_samples exact i.i.d. draws
    floor_rng = np.random.default_rng(7)
    floor = np.mean([0.5 * np.abs(floor_rng.multinomial(n_samples, p_exact) / n_samples - p_exact).sum()
                     for _ in range(8)])
    assert tv < 1.5 * floor, (tv, floor)


# ------------------------------------------------------------------ bad input


def _bad_cases():
    dtype = np.float64
    W, b, c = make_rbm(40, 6, 4, dtype)
    v = binary(41, (5, 6), dtype)
    h = binary(42, (5, 4), dtype)
    nan_v = v.copy()
    nan_v[2, 3] = np.nan
    inf_W = W.copy()
    inf_W[1, 1] = np.inf
    half_v = v.copy()
    half_v[0, 0] = 0.5
    common = dict(seed=1)
    return [
        ("W 1-D", lambda be: rbm.sample_hidden(v, W[:, 0], c, backend=be, **common), ValueError, r"^W must be 2-D"),
        ("b length", lambda be: rbm.sample_visible(h, W, b[:-1], backend=be, **common), ValueError, r"^b must have length 6"),
        ("c length", lambda be: rbm.sample_hidden(v, W, np.zeros(5), backend=be, **common), ValueError, r"^c must have length 4"),
        ("v columns", lambda be: rbm.sample_hidden(v[:, :5], W, c, backend=be, **common), ValueError, r"^v must have 6 columns"),
        ("h columns", lambda be: rbm.sample_visible(v, W, b, backend=be, **common), ValueError, r"^h must have 4 columns"),
        ("v NaN", lambda be: rbm.gibbs(nan_v, W, b, c, 1, backend=be, **common), ValueError, r"^v contains NaN"),
        ("W inf", lambda be: rbm.gibbs(v, inf_W, b, c, 1, backend=be, **common), ValueError, r"^W contains NaN or inf"),
        ("v non-binary", lambda be: rbm.sample_hidden(half_v, W, c, backend=be, **common), ValueError, r"^v must hold binary"),
        ("v_data non-binary", lambda be: rbm.cd_statistics(half_v, W, b, c, 1, backend=be, **common), ValueError, r"^v_data must hold binary"),
        ("chains non-binary", lambda be: rbm.cd_statistics(v, W, b, c, 1, chains=np.full((3, 4), 0.5), backend=be, **common), ValueError, r"^chains must hold binary"),
        ("v empty", lambda be: rbm.sample_hidden(v[:0], W, c, backend=be, **common), ValueError, r"^v must hold at least one row"),
        ("n_steps 0", lambda be: rbm.gibbs(v, W, b, c, 0, backend=be, **common), ValueError, r"^n_steps must be an integer >= 1"),
        ("n_steps float", lambda be: rbm.gibbs(v, W, b, c, 2.0, backend=be, **common), TypeError, r"^n_steps must be an integer"),
        ("k 0", lambda be: rbm.cd_statistics(v, W, b, c, 0, backend=be, **common), ValueError, r"^k must be an integer >= 1"),
        ("seed negative", lambda be: rbm.sample_hidden(v, W, c, seed=-1, backend=be), ValueError, r"^seed must be an integer in \[0, 2\*\*64\)"),
        ("seed too big", lambda be: rbm.gibbs(v, W, b, c, 1, seed=2**64, backend=be), ValueError, r"^seed must"),
        ("seed bool", lambda be: rbm.sample_hidden(v, W, c, seed=True, backend=be), TypeError, r"^seed must"),
        ("counter negative", lambda be: rbm.sample_visible(h, W, b, counter=-1, backend=be, **common), ValueError, r"^counter must be an integer in \[0, 2\*\*32\)"),
        ("counter too big", lambda be: rbm.sample_hidden(v, W, c, counter=2**32, backend=be, **common), ValueError, r"^counter must"),
        ("counter + n_steps", lambda be: rbm.gibbs(v, W, b, c, 5, counter=2**32 - 3, backend=be, **common), ValueError, r"^counter \+ n_steps"),
        ("counter + k", lambda be: rbm.cd_statistics(v, W, b, c, 5, counter=2**32 - 3, backend=be, **common), ValueError, r"^counter \+ k"),
        ("dtype mismatch", lambda be: rbm.sample_hidden(v, W.astype(np.float32), c.astype(np.float32), backend=be, **common), TypeError, r"^v has dtype float64 but the weights are float32"),
        ("bias dtype mismatch", lambda be: rbm.sample_hidden(v, W, c.astype(np.float32), backend=be, **common), TypeError, r"^c has dtype float32"),
        ("integer W", lambda be: rbm.sample_hidden(v, W.astype(np.int64), c, backend=be, **common), TypeError, r"^W must be float32 or float64"),
        ("string v", lambda be: rbm.sample_hidden(np.full((5, 6), "1"), W, c, backend=be, **common), TypeError, r"^v must be float32 or float64"),
        ("string list v", lambda be: rbm.free_energy([["a"] * 6], W, b, c, backend=be), TypeError, r"^v must be float32 or float64"),
        ("ragged v", lambda be: rbm.sample_hidden([[0, 1], [1]], W, c, backend=be, **common), TypeError, r"^v must be an array of numbers"),
        ("free_energy columns", lambda be: rbm.free_energy(v[:, :4], W, b, c, backend=be), ValueError, r"^v must have 6 columns"),
        ("free_energy NaN", lambda be: rbm.free_energy(nan_v, W, b, c, backend=be), ValueError, r"^v contains NaN"),
    ]


BAD_CASES = _bad_cases()


# The checks run on the host before any kernel (on cuda, NumPy arrays of strings fail earlier,
# in the copy to the device, with another message): the CPU backends cover them.
@pytest.mark.parametrize("case", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input(cpu_backend, case):
    _, call, exc, match = case
    with pytest.raises(exc, match=match):
        call(cpu_backend)


def test_unknown_backend_lists_available():
    W, b, c = make_rbm(43, 6, 4, np.float64)
    v = binary(44, (3, 6), np.float64)
    with pytest.raises(ValueError, match="backend='foo'") as info:
        rbm.sample_hidden(v, W, c, seed=1, backend="foo")
    message = str(info.value)
    assert "available backends" in message
    for name in fastgen.available_backends():
        assert name in message


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("state_dtype", [np.bool_, np.int64, np.uint8, np.int32])
def test_integer_and_bool_states_accepted(backend, dtype, state_dtype):
    W, b, c = make_rbm(45, 6, 4, dtype)
    v = binary(46, (7, 6), dtype)
    h = binary(47, (7, 4), dtype)
    expected_h = rbm.sample_hidden(v, W, c, seed=3, counter=1, backend=backend)
    got_h = rbm.sample_hidden(v.astype(state_dtype), W, c, seed=3, counter=1, backend=backend)
    for a, e in zip(got_h, expected_h):
        assert a.dtype == dtype
        assert np.array_equal(a, e)
    expected_v = rbm.sample_visible(h, W, b, seed=3, counter=1, backend=backend)
    got_v = rbm.sample_visible(h.astype(state_dtype), W, b, seed=3, counter=1, backend=backend)
    for a, e in zip(got_v, expected_v):
        assert a.dtype == dtype and np.array_equal(a, e)
    expected_g = rbm.gibbs(v, W, b, c, 2, seed=3, backend=backend)
    got_g = rbm.gibbs(v.astype(state_dtype), W, b, c, 2, seed=3, backend=backend)
    for a, e in zip(got_g, expected_g):
        assert a.dtype == dtype and np.array_equal(a, e)
    expected_cd = rbm.cd_statistics(v, W, b, c, 1, chains=h, seed=3, backend=backend)
    got_cd = rbm.cd_statistics(v.astype(state_dtype), W, b, c, 1, chains=h.astype(state_dtype), seed=3, backend=backend)
    for a, e in zip(got_cd, expected_cd):
        assert a.dtype == dtype and np.array_equal(a, e)
    # integer states that are not 0/1 are still rejected
    with pytest.raises(ValueError, match="^v must hold binary"):
        rbm.sample_hidden(np.full((2, 6), 2, dtype=np.int64), W, c, seed=3, backend=backend)


# ------------------------------------------------------------------ array kinds


# torch CPU tensors and NumPy views on the host backends, whose results are bit-exact functions of
# the values (the GPU's GEMMs may take other paths for other layouts): the cuda counterpart is
# test_cupy_in_cupy_out_and_torch_cuda below.
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_cpu_tensors(cpu_backend, dtype):
    torch = pytest.importorskip("torch")
    W, b, c = make_rbm(50, 9, 5, dtype)
    v = binary(51, (11, 9), dtype)
    h = binary(52, (11, 5), dtype)
    t = torch.from_numpy
    tdtype = torch.float32 if dtype == np.float32 else torch.float64

    def check(got, expected, out_dtype=tdtype):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert isinstance(g, torch.Tensor)
            assert g.dtype == out_dtype and g.device.type == "cpu"
            assert tuple(g.shape) == e.shape
            assert np.array_equal(g.numpy(), e)

    kw = dict(seed=2**40 + 9, counter=4, backend=cpu_backend)
    check(rbm.sample_hidden(t(v), t(W), t(c), **kw), rbm.sample_hidden(v, W, c, **kw))
    check(rbm.sample_visible(t(h), t(W), t(b), **kw), rbm.sample_visible(h, W, b, **kw))
    check(rbm.gibbs(t(v), t(W), t(b), t(c), 3, **kw), rbm.gibbs(v, W, b, c, 3, **kw))
    check(rbm.cd_statistics(t(v), t(W), t(b), t(c), 2, **kw), rbm.cd_statistics(v, W, b, c, 2, **kw))
    check(
        rbm.cd_statistics(t(v), t(W), t(b), t(c), 2, chains=t(h[:6]), **kw),
        rbm.cd_statistics(v, W, b, c, 2, chains=h[:6], **kw),
    )
    F = rbm.free_energy(t(v), t(W), t(b), t(c), backend=cpu_backend)
    check((F,), (rbm.free_energy(v, W, b, c, backend=cpu_backend),), out_dtype=torch.float64)
    # tensors that require grad are accepted (detached), and the inputs are left alone
    Wg = t(W.copy()).requires_grad_(True)
    h1, _ = rbm.sample_hidden(t(v), Wg, t(c), **kw)
    assert not h1.requires_grad
    assert np.array_equal(Wg.detach().numpy(), W)


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_and_readonly_inputs(cpu_backend, dtype):
    W, b, c = make_rbm(60, 9, 5, dtype)
    v = binary(61, (11, 9), dtype)
    kw = dict(seed=8, counter=3, backend=cpu_backend)
    expected = rbm.gibbs(v, W, b, c, 2, **kw)
    expected_F = rbm.free_energy(v, W, b, c, backend=cpu_backend)
    # Fortran order and strided views
    W_f = np.asfortranarray(W)
    v_f = np.asfortranarray(v)
    b_s = np.repeat(b, 2)[::2]
    c_s = np.repeat(c, 2)[::2]
    for got, e in zip(rbm.gibbs(v_f, W_f, b_s, c_s, 2, **kw), expected):
        assert np.array_equal(got, e)
    assert np.array_equal(rbm.free_energy(v_f, W_f, b_s, c_s, backend=cpu_backend), expected_F)
    # read-only arrays are fine, and inputs are never written
    ro = [a.copy() for a in (v, W, b, c)]
    for a in ro:
        a.setflags(write=False)
    for got, e in zip(rbm.gibbs(*ro, 2, **kw), expected):
        assert np.array_equal(got, e)
    assert np.array_equal(rbm.free_energy(*ro, backend=cpu_backend), expected_F)
    for a, original in zip(ro, (v, W, b, c)):
        assert np.array_equal(a, original)


@pytest.mark.gpu
def test_cupy_in_cupy_out_and_torch_cuda():
    cp = pytest.importorskip("cupy")
    W, b, c = make_rbm(5, 16, 8, np.float32)
    v = binary(6, (10, 16), np.float32)
    h, p = rbm.sample_hidden(cp.asarray(v), cp.asarray(W), cp.asarray(c), seed=1)
    assert isinstance(h, cp.ndarray) and isinstance(p, cp.ndarray)
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA device")
    args = [torch.from_numpy(a).cuda() for a in (v, W, b, c)]
    v_out, h_out = rbm.gibbs(*args, 3, seed=2)
    assert isinstance(v_out, torch.Tensor) and v_out.device.type == "cuda"
    v_np, h_np = rbm.gibbs(v, W, b, c, 3, seed=2, backend="cuda")
    assert np.array_equal(v_out.cpu().numpy(), v_np)
