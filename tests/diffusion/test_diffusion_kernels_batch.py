"""The diffusion kernels with per-sample coefficients, on every CPU backend against float64
NumPy references: scaled_sum (add_noise, get_velocity) and the step with one coefficient row
(and one Philox call) per sample; cpu and numba bit-identical; cuda against cpu (gpu)."""
import numpy as np
import pytest

import fastgen
from fastgen import _backend
from fastgen._constants import ClipMode, DiffusionStream, StepColumn, VarianceMode
from fastgen.diffusion import DDIMSchedule, DDPMSchedule, _rows

CPU_BACKENDS = [b for b in fastgen.available_backends() if b != "cuda"]


def _kernels(backend):
    return _backend.kernels(backend).diffusion


# ------------------------------------------------------------------ scaled_sum


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-6), (np.float64, 1e-15)])
@pytest.mark.parametrize("shape", [(1, 5), (7, 3, 5, 4), (3, 2500)])
def test_scaled_sum_matches_float64_reference(cpu_backend, dtype, rtol, shape):
    rng = np.random.default_rng(1)
    x, y = (rng.normal(size=shape).astype(dtype) for _ in range(2))
    a, c = rng.uniform(-2, 2, shape[0]), rng.uniform(-2, 2, shape[0])
    out = np.empty_like(x)
    _kernels(cpu_backend).scaled_sum(a, x, c, y, out)
    expand = (slice(None),) + (None,) * (len(shape) - 1)
    ref = a[expand] * x.astype(np.float64) + c[expand] * y.astype(np.float64)
    np.testing.assert_allclose(out, ref, rtol=rtol, atol=rtol * 4)
    # the coefficients are rounded to the dtype once, then one product each and a sum, as the header says
    exact = (a.astype(dtype)[expand] * x + c.astype(dtype)[expand] * y).astype(dtype)
    assert np.array_equal(out, exact)


def test_scaled_sum_cpu_and_numba_are_bit_identical():
    if len(CPU_BACKENDS) < 2:
        pytest.skip("needs both CPU backends")
    rng = np.random.default_rng(2)
    for shape in ((4, 3, 33, 31), (1, 5000)):  # the first goes parallel on neither; both exercise the chunking
        x, y = (rng.normal(size=shape).astype(np.float32) for _ in range(2))
        a, c = rng.uniform(0, 1, shape[0]), rng.uniform(0, 1, shape[0])
        outs = []
        for backend in CPU_BACKENDS:
            out = np.empty_like(x)
            _kernels(backend).scaled_sum(a, x, c, y, out)
            outs.append(out)
        assert np.array_equal(outs[0], outs[1])


def test_add_noise_and_get_velocity_of_fastgen_schedules_are_the_float64_formulas(cpu_backend):
    s = DDPMSchedule(beta_schedule="squaredcos_cap_v2")
    rng = np.random.default_rng(3)
    x0, z = rng.normal(size=(6, 2, 4)), rng.normal(size=(6, 2, 4))
    t = np.array([0, 1, 10, 500, 998, 999])
    a = s.alphas_cumprod[t][:, None, None]
    noised = s.add_noise(x0, z, t, backend=cpu_backend)
    np.testing.assert_allclose(noised, np.sqrt(a) * x0 + np.sqrt(1 - a) * z, rtol=1e-14, atol=1e-15)
    v = s.get_velocity(noised, z, t, backend=cpu_backend)
    np.testing.assert_allclose(v, np.sqrt(a) * z - np.sqrt(1 - a) * noised, rtol=1e-14, atol=1e-15)
    one = s.add_noise(x0, z, np.array([500]), backend=cpu_backend)  # one timestep for every sample
    np.testing.assert_allclose(one, np.sqrt(s.alphas_cumprod[500]) * x0 + np.sqrt(1 - s.alphas_cumprod[500]) * z,
                               rtol=1e-14)
    with pytest.raises(ValueError, match="4 timesteps for 6 samples"):
        s.add_noise(x0, z, t[:4], backend=cpu_backend)
    with pytest.raises(ValueError, match=r"timesteps must lie in \[0, 1000\)"):
        s.add_noise(x0, z, np.array([1000]), backend=cpu_backend)


# ------------------------------------------------------------------ the step with one row per sample


def _reference_ddpm(s, m, x, z, t, prev_t):
    """diffusers' DDPM step in float64 for one sample (epsilon prediction, clip to [-1, 1], fixed_small)."""
    a = s.alphas_cumprod[t]
    a_prev = s.alphas_cumprod[prev_t] if prev_t >= 0 else 1.0
    beta = 1 - a / a_prev
    x0 = np.clip((x - np.sqrt(1 - a) * m) / np.sqrt(a), -1, 1)
    mean = np.sqrt(a_prev) * beta / (1 - a) * x0 + np.sqrt(1 - beta) * (1 - a_prev) / (1 - a) * x
    std = np.sqrt(max((1 - a_prev) / (1 - a) * beta, 1e-20)) if t > 0 else 0.0
    return mean + std * z, x0


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 3e-5), (np.float64, 1e-11)])
def test_per_sample_rows_match_the_float64_reference(cpu_backend, dtype, rtol):
    s = DDPMSchedule()
    rng = np.random.default_rng(4)
    shape = (5, 3, 4, 4)
    m, x, z = (rng.normal(size=shape).astype(dtype) for _ in range(3))
    t = np.array([999, 500, 37, 1, 0])
    out = s.step(m, t, x, variance_noise=z, backend=cpu_backend)
    assert out.prev_sample.dtype == dtype
    for b in range(shape[0]):
        ref_prev, ref_x0 = _reference_ddpm(s, *(v[b].astype(np.float64) for v in (m, x, z)), t[b], t[b] - 1)
        np.testing.assert_allclose(out.prev_sample[b], ref_prev, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(out.pred_original_sample[b], ref_x0, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_per_sample_timesteps_equal_stepping_each_sample_alone(cpu_backend, kind):
    """With the in-kernel noise too: sample b draws (seed, call t_b) at the elements it has in
    the batch, so a batch of one sample at a time gives different normals; compare with the
    batch stepped at one timestep instead."""
    rng = np.random.default_rng(5)
    shape = (4, 2, 5, 3)  # 30 elements per sample: Philox blocks of four straddle the samples
    m, x = (rng.normal(size=shape).astype(np.float32) for _ in range(2))
    if kind == "ddpm":
        s, kw = DDPMSchedule(clip_sample=False), {}
    else:
        s, kw = DDIMSchedule(thresholding=True, dynamic_thresholding_ratio=0.9), {"eta": 0.7}
        s.set_timesteps(20)
    t = np.array([950, 600, 250, 0]) if kind == "ddim" else np.array([999, 600, 25, 1])
    out = s.step(m, t, x, generator=123, model_output_uncond=0.5 * m, guidance_scale=2.0, guidance_rescale=0.3,
                 backend=cpu_backend, **kw)
    for b, tb in enumerate(t):
        alone = s.step(m, int(tb), x, generator=123, model_output_uncond=0.5 * m, guidance_scale=2.0,
                       guidance_rescale=0.3, backend=cpu_backend, **kw)
        np.testing.assert_allclose(out.prev_sample[b], alone.prev_sample[b], rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(out.pred_original_sample[b], alone.pred_original_sample[b], rtol=2e-6, atol=2e-6)


def test_per_sample_rows_and_calls_in_the_kernel(cpu_backend):
    """The kernel contract: (batch, N) rows and per-sample calls equal the shared row and call
    wherever they agree, bit for bit; and the drawn noise of sample b is Philox (seed, calls[b])."""
    s = DDPMSchedule(clip_sample=False)
    rng = np.random.default_rng(6)
    shape = (3, 7, 3)
    m, x = (rng.normal(size=shape).astype(np.float32) for _ in range(2))
    rows = _rows.ddpm_rows(s.alphas_cumprod, np.array([400, 400, 400]), np.array([399, 399, 399]), s.config,
                           "fixed_small")
    kernels = _kernels(cpu_backend)
    shared_prev, per_prev = np.empty_like(x), np.empty_like(x)
    assert kernels.step(rows[0], ClipMode.NONE, VarianceMode.FIXED, False, m, None, x, None, shared_prev, None, 9, 400)
    assert kernels.step(rows, ClipMode.NONE, VarianceMode.FIXED, False, m, None, x, None, per_prev, None, 9, 0, None,
                        np.full(3, 400, np.uint32))
    assert np.array_equal(shared_prev, per_prev)
    calls = np.array([5, 6, 7], np.uint32)
    kernels.step(rows, ClipMode.NONE, VarianceMode.FIXED, False, m, None, x, None, per_prev, None, 9, 0, None, calls)
    noiseless = rows.copy()
    noiseless[:, StepColumn.ADD_NOISE] = 0
    mean = np.empty_like(x)
    kernels.step(noiseless, ClipMode.NONE, VarianceMode.FIXED, False, m, None, x, None, mean, None, 9, 0)
    sigma = rows[0, StepColumn.SIGMA]
    for b, call in enumerate(calls):
        z = _backend.kernels(cpu_backend).random.normals(x.size, 9, int(call), DiffusionStream.STEP_NOISE)
        z = z.reshape(shape)[b]
        np.testing.assert_allclose(per_prev[b], mean[b] + np.float32(sigma) * z, rtol=1e-6, atol=1e-6)


def test_per_sample_steps_cpu_and_numba_are_bit_identical():
    if len(CPU_BACKENDS) < 2:
        pytest.skip("needs both CPU backends")
    s = DDPMSchedule(variance_type="learned_range", thresholding=True, dynamic_thresholding_ratio=0.8)
    rng = np.random.default_rng(7)
    m = rng.normal(size=(5, 4, 9, 9)).astype(np.float32)
    x = rng.normal(size=(5, 2, 9, 9)).astype(np.float32)
    t = np.array([999, 731, 402, 3, 0])
    a, b = (s.step(m, t, x, generator=77, backend=backend, model_output_uncond=0.9 * m, guidance_scale=3.0,
                   guidance_rescale=0.5) for backend in CPU_BACKENDS)
    assert np.array_equal(a.prev_sample, b.prev_sample)
    assert np.array_equal(a.pred_original_sample, b.pred_original_sample)


# ------------------------------------------------------------------ cuda (needs a GPU)


@pytest.mark.gpu
def test_cuda_scaled_sum_and_per_sample_steps_match_cpu():
    import cupy as cp

    rng = np.random.default_rng(8)
    shape = (5, 3, 9, 7)
    m, x, z = (rng.normal(size=shape).astype(np.float32) for _ in range(3))
    s = DDPMSchedule(thresholding=True)
    t = np.array([999, 500, 100, 1, 0])
    cpu = s.step(m, t, x, generator=5, backend="cpu")
    gpu = s.step(cp.asarray(m), t, cp.asarray(x), generator=5, backend="cuda")
    np.testing.assert_allclose(gpu.prev_sample.get(), cpu.prev_sample, rtol=1e-5, atol=1e-5)
    noised = s.add_noise(cp.asarray(x), cp.asarray(z), t, backend="cuda")
    np.testing.assert_allclose(noised.get(), s.add_noise(x, z, t, backend="cpu"), rtol=1e-6, atol=1e-6)
    v = s.get_velocity(cp.asarray(x), cp.asarray(z), t, backend="cuda")
    np.testing.assert_allclose(v.get(), s.get_velocity(x, z, t, backend="cpu"), rtol=1e-6, atol=1e-6)
