"""Diffusion sampling: Philox normals and the fused step on every backend against float64
NumPy references (guidance, rescale, thresholding, drawn noise); bad input, the sampler and
the exact Gaussian-mixture denoiser (statistics of sampled vs target mixture) on the CPU
backends (on cuda the sampler hands the model CuPy arrays, and reports a non-finite model
output once, after the loop)."""
import numpy as np
import pytest
from scipy import stats

import fastgen
from fastgen import _backend, _core
from fastgen._arrays import host
from fastgen._constants import DiffusionStream
from fastgen.diffusion import GaussianMixtureDenoiser


def _normals(backend, n, seed, call, stream):
    """The backend's normals, as a NumPy array."""
    return host(_backend.kernels(backend).random.normals(n, seed, call, stream))


# ------------------------------------------------------------------ normals


def test_normals_are_standard_normal(backend):
    z = _normals(backend, 400_000, 123, 4, 0).astype(np.float64)
    assert abs(z.mean()) < 5 * np.sqrt(1 / z.size)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / z.size)
    assert abs(stats.skew(z)) < 5 * np.sqrt(6 / z.size)
    assert abs(stats.kurtosis(z)) < 5 * np.sqrt(24 / z.size)
    assert stats.kstest(z, stats.norm.cdf).pvalue > 1e-3
    pairs = z[: z.size // 2 * 2].reshape(-1, 2)  # the two normals of a Box-Muller pair are uncorrelated
    assert abs(np.corrcoef(pairs.T)[0, 1]) < 5 / np.sqrt(pairs.shape[0])


def test_normals_follow_the_documented_layout(backend):
    """Element 4g+k from the uniforms of Philox block g: pairs (u0, u1), (u2, u3) by Box-Muller."""
    n, seed, call, stream = 1001, 2**40 + 5, 3, 1
    u = _core.random.uniforms(n + 3, seed, call, stream).astype(np.float64)[: (n + 1) // 2 * 2].reshape(-1, 2)
    r = np.sqrt(-2 * np.log(u[:, 0]))
    expected = np.stack([r * np.cos(2 * np.pi * u[:, 1]), r * np.sin(2 * np.pi * u[:, 1])], axis=1).ravel()[:n]
    np.testing.assert_allclose(_normals(backend, n, seed, call, stream), expected, rtol=1e-5, atol=2e-6)


def test_cpu_and_numba_normals_are_bit_identical(cpu_backends):
    if len(cpu_backends) < 2:
        pytest.skip("needs both CPU backends")
    for n, seed in ((1, 0), (7, 1), (5000, 2**63 + 11)):
        assert np.array_equal(_normals("cpu", n, seed, 2, 0), _normals("numba", n, seed, 2, 0))


# ------------------------------------------------------------------ the step against float64 references


def _ref_guided_x0(m_c, m_u, x, w, rescale, a):
    """epsilon prediction: guided eps (with rescale_noise_cfg), x0, all float64."""
    m_c, m_u, x = (np.asarray(v, np.float64) for v in (m_c, m_u, x))
    e = m_u + w * (m_c - m_u)
    if rescale:
        axes = tuple(range(1, e.ndim))
        std_c = m_c.std(axis=axes, ddof=1, keepdims=True)
        std_g = e.std(axis=axes, ddof=1, keepdims=True)
        e = rescale * e * (std_c / std_g) + (1 - rescale) * e
    return e, (x - np.sqrt(1 - a) * e) / np.sqrt(a)


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 2e-5), (np.float64, 1e-11)])
@pytest.mark.parametrize("rescale", [0.0, 0.7])
def test_ddpm_step_with_guidance_and_threshold_matches_reference(backend, dtype, rtol, rescale):
    rng = np.random.default_rng(5)
    shape = (4, 3, 9, 7)
    m_c, m_u, x, z = (rng.normal(0, s, shape).astype(dtype) for s in (1.0, 1.3, 1.0, 1.0))
    s = fastgen.diffusion.DDPMSchedule(thresholding=True, dynamic_thresholding_ratio=0.8, sample_max_value=2.0)
    t, w = 600, 3.5
    out = s.step(m_c, t, x, variance_noise=z, model_output_uncond=m_u, guidance_scale=w, guidance_rescale=rescale,
                 backend=backend)
    a, a_prev = s.alphas_cumprod[t], s.alphas_cumprod[t - 1]
    _, x0 = _ref_guided_x0(m_c, m_u, x, w, rescale, a)
    flat = x0.reshape(shape[0], -1)
    q = np.quantile(np.abs(flat), 0.8, axis=1)
    thr = np.clip(q, 1, 2.0)[:, None]
    x0 = (np.clip(flat, -thr, thr) / thr).reshape(shape)
    beta = 1 - a / a_prev
    mean = np.sqrt(a_prev) * beta / (1 - a) * x0 + np.sqrt(1 - beta) * (1 - a_prev) / (1 - a) * x
    prev = mean + np.sqrt((1 - a_prev) / (1 - a) * beta) * z
    np.testing.assert_allclose(out.pred_original_sample, x0, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(out.prev_sample, prev, rtol=rtol, atol=rtol)
    assert out.prev_sample.dtype == dtype


def test_drawn_noise_is_the_philox_normal_times_sigma(backend):
    rng = np.random.default_rng(1)
    shape = (5, 2, 33)
    m, x = (rng.normal(size=shape).astype(np.float32) for _ in range(2))
    s = fastgen.diffusion.DDPMSchedule(clip_sample=False)
    drawn = s.step(m, 400, x, generator=77, backend=backend)
    z = _normals(backend, m.size, 77, 400, DiffusionStream.STEP_NOISE).reshape(shape)
    given = s.step(m, 400, x, variance_noise=z, backend=backend)
    np.testing.assert_allclose(drawn.prev_sample, given.prev_sample, rtol=1e-6, atol=1e-6)
    if backend == "numba":
        assert np.array_equal(drawn.prev_sample, s.step(m, 400, x, generator=77, backend="cpu").prev_sample)


def test_generators_numpy_and_torch():
    torch = pytest.importorskip("torch")
    m = np.zeros((2, 8), np.float32)
    s = fastgen.diffusion.DDPMSchedule(clip_sample=False)
    a = s.step(m, 10, m, generator=np.random.default_rng(3)).prev_sample
    b = s.step(m, 10, m, generator=np.random.default_rng(3)).prev_sample
    c = s.step(m, 10, m, generator=torch.Generator().manual_seed(3)).prev_sample
    d = s.step(m, 10, m, generator=torch.Generator().manual_seed(3)).prev_sample
    assert np.array_equal(a, b) and np.array_equal(c, d) and not np.array_equal(a, c)


# ------------------------------------------------------------------ bad input


def test_bad_input_raises_naming_the_argument():
    s = fastgen.diffusion.DDPMSchedule()
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match="timestep 1000 is outside the schedule"):
        s.step(x, 1000, x)
    with pytest.raises(ValueError, match=r"model_output has shape \(2, 2, 4\) but sample has shape \(2, 3, 4\)"):
        s.step(x[:, :2], 5, x)
    with pytest.raises(ValueError, match="num_inference_steps"):
        s.set_timesteps(1001)
    with pytest.raises(ValueError, match="beta_schedule"):
        fastgen.diffusion.DDPMSchedule(beta_schedule="cubic")
    # as diffusers: an unknown prediction_type or timestep_spacing fails where it is used, and an
    # unknown variance_type is diffusers' fallback, fixed_small
    with pytest.raises(ValueError, match="prediction_type"):
        fastgen.diffusion.DDPMSchedule(prediction_type="noise").step(x, 5, x)
    other = fastgen.diffusion.DDPMSchedule(variance_type="tiny").step(x + 1, 5, x, variance_noise=x + 1)
    small = s.step(x + 1, 5, x, variance_noise=x + 1)
    assert np.array_equal(other.prev_sample, small.prev_sample)
    with pytest.raises(ValueError, match="timestep_spacing"):
        fastgen.diffusion.DDPMSchedule(timestep_spacing="random").set_timesteps(10)
    with pytest.raises(ValueError, match="variance_noise has shape"):
        s.step(x, 5, x, variance_noise=x[:1])
    with pytest.raises(ValueError, match="model_output_uncond and guidance_scale"):
        s.step(x, 5, x, model_output_uncond=x)
    with pytest.raises(ValueError, match="variance_type 'learned' needs model_output with the variance channels"):
        fastgen.diffusion.DDPMSchedule(variance_type="learned").step(x, 5, x)
    with pytest.raises(ValueError, match="set_timesteps"):
        fastgen.diffusion.DDIMSchedule().step(x, 5, x)
    # mixed float dtypes promote, as in torch and NumPy
    assert s.step(x, 5, x, variance_noise=x.astype(np.float64)).prev_sample.dtype == np.float64
    s.set_timesteps(10)
    with pytest.raises(ValueError, match="timestep 5 is not in the schedule"):
        s.step(x, 5, x)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_model_output_raises(cpu_backend, bad):
    x = np.zeros((2, 3, 4), np.float32)
    m = x.copy()
    m[1, 2, 3] = bad
    with pytest.raises(ValueError, match="model_output contains NaN or infinity"):
        fastgen.diffusion.DDPMSchedule().step(m, 7, x, backend=cpu_backend)
    with pytest.raises(ValueError, match="model_output contains NaN or infinity"):
        fastgen.sample(lambda x, t: m, x.shape, fastgen.diffusion.DDIMSchedule(), num_inference_steps=3,
                       backend=cpu_backend)


def test_the_non_finite_input_is_named(cpu_backend):
    s = fastgen.diffusion.DDPMSchedule(clip_sample=False)
    x, bad = np.zeros((2, 3)), np.full((2, 3), np.nan)
    for name, kwargs in [("sample", dict(sample=bad)), ("variance_noise", dict(variance_noise=bad)),
                         ("model_output_uncond", dict(model_output_uncond=bad, guidance_scale=2.0))]:
        arguments = dict(model_output=x, timestep=5, sample=x, backend=cpu_backend) | kwargs
        with pytest.raises(ValueError, match=f"^{name} contains NaN or infinity"):
            s.step(**arguments)


def test_a_step_that_divides_by_zero_says_why(cpu_backend):
    # zero terminal SNR: alphas_cumprod[999] = 0, and epsilon prediction divides by it (diffusers: NaN)
    s = fastgen.diffusion.DDPMSchedule(rescale_betas_zero_snr=True, clip_sample=False)
    assert s.alphas_cumprod[999] == 0.0
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="the step's result is not finite .* rescale_betas_zero_snr"):
        s.step(x, 999, 0.5 * x, variance_noise=x, backend=cpu_backend)
    # clipping x0 keeps it finite, as in diffusers
    clipped = fastgen.diffusion.DDPMSchedule(rescale_betas_zero_snr=True, clip_sample=True)
    assert np.isfinite(clipped.step(x, 999, 0.5 * x, variance_noise=x, backend=cpu_backend).prev_sample).all()


def test_guidance_rescale_of_a_constant_prediction_is_finite(cpu_backend):
    # std(guided) = 0: there is nothing to rescale (diffusers: 0 / 0 = NaN)
    s = fastgen.diffusion.DDPMSchedule(clip_sample=False)
    x = np.ones((2, 3))
    plain = s.step(x, 5, x, model_output_uncond=x, guidance_scale=2.0, variance_noise=x, backend=cpu_backend)
    rescaled = s.step(x, 5, x, model_output_uncond=x, guidance_scale=2.0, guidance_rescale=0.5, variance_noise=x,
                      backend=cpu_backend)
    np.testing.assert_array_equal(rescaled.prev_sample, plain.prev_sample)


DENOISER = GaussianMixtureDenoiser([1.0], np.zeros((1, 2)), np.eye(2)[None])


@pytest.mark.parametrize("call,error,message", [
    (lambda: fastgen.diffusion.DDPMSchedule(beta_start=np.nan), ValueError, "must give finite betas"),
    (lambda: fastgen.diffusion.DDPMSchedule(trained_betas=[0.1, np.inf]), ValueError, "trained_betas must give"),
    (lambda: fastgen.diffusion.DDPMSchedule(beta_start=-0.1).step(np.zeros((2, 3)), 5, np.zeros((2, 3))),
     ValueError, r"alphas_cumprod at timestep 5 is 1\.7.*outside \[0, 1\]"),
    (lambda: fastgen.sample(DENOISER, (2, 2), fastgen.diffusion.DDPMSchedule(), num_inference_steps=0),
     ValueError, "num_inference_steps must be an integer >= 1"),
    (lambda: fastgen.sample(DENOISER, (2, 2), fastgen.diffusion.DDPMSchedule(), num_inference_steps=2.5),
     TypeError, "num_inference_steps must be an integer"),
    (lambda: fastgen.sample(DENOISER, (2, 2), fastgen.diffusion.DDIMSchedule(), num_inference_steps=5, eta=-1),
     ValueError, "eta must be a finite number"),
    (lambda: fastgen.sample(DENOISER, (2, 2), fastgen.diffusion.DDPMSchedule(), num_inference_steps=5, eta=0.5),
     ValueError, "eta is DDIM's"),
    (lambda: fastgen.sample(DENOISER, (2, 2), fastgen.diffusion.DDIMSchedule(), num_inference_steps=5,
                            guidance_scale=2.0, guidance_rescale=5), ValueError, "guidance_rescale must be"),
    (lambda: fastgen.sample(DENOISER, (2, 2), fastgen.diffusion.DDIMSchedule(), num_inference_steps=5,
                            guidance_scale=np.nan), ValueError, "guidance_scale must be a finite number"),
    (lambda: fastgen.sample(DENOISER, (2.7, 2), fastgen.diffusion.DDPMSchedule(), num_inference_steps=5),
     TypeError, "shape must be a tuple of integers"),
    (lambda: fastgen.sample(DENOISER, "ab", fastgen.diffusion.DDPMSchedule(), num_inference_steps=5),
     TypeError, "shape must be a tuple of integers"),
    (lambda: fastgen.sample(DENOISER, (2, 0), fastgen.diffusion.DDPMSchedule(), num_inference_steps=5),
     ValueError, "shape must be a non-empty tuple of positive sizes"),
    (lambda: DENOISER(np.zeros((2, 2)), 1000), ValueError, "timestep 1000 is outside"),
    (lambda: DENOISER(np.zeros((2, 2)), -1), ValueError, "timestep -1 is outside"),
    (lambda: fastgen.diffusion.DDPMSchedule().add_noise(np.zeros((0, 3)), np.zeros((0, 3)), np.array([], int)),
     ValueError, "timesteps is empty"),
])
def test_bad_loop_options_raise_before_the_model_runs(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_sampler_checks_its_options_before_calling_the_model():
    calls = []

    def model(x, t):
        calls.append(t)
        return np.zeros_like(x)

    with pytest.raises(ValueError, match="guidance_rescale"):
        fastgen.sample(model, (2, 2), fastgen.diffusion.DDIMSchedule(), num_inference_steps=5, guidance_scale=2.0,
                       guidance_rescale=1.5)
    with pytest.raises(ValueError, match="alphas_cumprod at timestep"):
        betas = np.full(1000, 0.01)
        betas[500] = 1.5  # alphas_cumprod < 0 from timestep 500 on
        fastgen.sample(model, (2, 2), fastgen.diffusion.DDPMSchedule(trained_betas=betas), num_inference_steps=5)
    assert calls == []


# ------------------------------------------------------------------ sampler and exact denoiser

WEIGHTS = [0.4, 0.6]
MEANS = [[-1.0, 0.5], [1.0, -0.5]]
COVS = [[[0.5, 0.1], [0.1, 0.3]], [[0.3, -0.1], [-0.1, 0.6]]]


def _target_moments():
    w, mu, cov = np.array(WEIGHTS), np.array(MEANS), np.array(COVS)
    mean = w @ mu
    second = sum(wk * (ck + np.outer(mk - mean, mk - mean)) for wk, mk, ck in zip(w, mu, cov))
    return mean, second


def _responsibilities(x):
    dens = np.stack([w * stats.multivariate_normal(m, c).pdf(x) for w, m, c in zip(WEIGHTS, MEANS, COVS)], axis=1)
    return dens / dens.sum(axis=1, keepdims=True)


def test_denoiser_is_the_exact_score():
    """eps = -sqrt(1 - a) grad log q(x_t), checked by finite differences of the log density."""
    s = fastgen.diffusion.DDPMSchedule()
    den = GaussianMixtureDenoiser(WEIGHTS, MEANS, COVS, alphas_cumprod=s.alphas_cumprod)
    x = np.random.default_rng(0).normal(size=(6, 2))
    for t in (0, 300, 999):
        a = s.alphas_cumprod[t]

        def log_q(p):
            return np.log(sum(w * stats.multivariate_normal(np.sqrt(a) * np.array(m),
                                                            a * np.array(c) + (1 - a) * np.eye(2)).pdf(p)
                              for w, m, c in zip(WEIGHTS, MEANS, COVS)))

        h = 1e-5
        grad = np.stack([(log_q(x + h * e) - log_q(x - h * e)) / (2 * h) for e in np.eye(2)], axis=1)
        np.testing.assert_allclose(den(x, t), -np.sqrt(1 - a) * grad, rtol=1e-5, atol=1e-7)


# numba thorough: its step is held to the float64 reference and to diffusers case by case
# (test_diffusion_parity.py) and its sampler to stepping by hand below, so the default run
# reproduces the mixture on cpu only (numba's 25,000 x 1,000 DDPM run takes twice cpu's)
@pytest.mark.parametrize("cpu_backend", ["cpu", pytest.param("numba", marks=pytest.mark.thorough)], indirect=True)
@pytest.mark.parametrize("kind,n_samples,n_steps", [("ddpm", 25_000, 1000), ("ddim", 100_000, 50)])
def test_sampling_the_exact_denoiser_reproduces_the_mixture(cpu_backend, kind, n_samples, n_steps):
    scheduler = (fastgen.diffusion.DDPMSchedule if kind == "ddpm" else fastgen.diffusion.DDIMSchedule)(
        clip_sample=False)
    den = GaussianMixtureDenoiser(WEIGHTS, MEANS, COVS, alphas_cumprod=scheduler.alphas_cumprod)
    x = fastgen.sample(den, (n_samples, 2), scheduler, num_inference_steps=n_steps, seed=11, backend=cpu_backend)
    assert x.shape == (n_samples, 2) and x.dtype == np.float32
    mean, cov = _target_moments()
    x = x.astype(np.float64)
    # DDPM: 5 standard errors. DDIM's 50-step ODE discretisation shrinks the spread by ~6%
    # with this schedule even with the exact score (it vanishes with more steps).
    slack = 1.0 if kind == "ddpm" else 10.0
    se_mean = np.sqrt(np.diag(cov) / n_samples)
    np.testing.assert_array_less(np.abs(x.mean(axis=0) - mean), 5 * slack * se_mean)
    se_cov = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / n_samples)
    np.testing.assert_array_less(np.abs(np.cov(x.T) - cov), 5 * slack * se_cov)
    weights = _responsibilities(x).mean(axis=0)  # E[r_k(x)] = w_k exactly under the target
    np.testing.assert_array_less(np.abs(weights - WEIGHTS), 5 * slack * np.sqrt(0.25 / n_samples))


def test_sampler_equals_stepping_the_scheduler_by_hand(cpu_backend):
    s = fastgen.diffusion.DDPMSchedule(clip_sample=False)
    den = GaussianMixtureDenoiser(WEIGHTS, MEANS, COVS, alphas_cumprod=s.alphas_cumprod)
    out = fastgen.sample(den, (64, 2), s, num_inference_steps=20, seed=9, backend=cpu_backend)
    x = _backend.kernels(cpu_backend).random.normals(128, 9, 0, DiffusionStream.INITIAL_NOISE).reshape(64, 2)
    for t in s.timesteps:
        x = s.step(den(x, t), t, x, generator=9, backend=cpu_backend).prev_sample
    assert np.array_equal(out, x)


def test_sampler_with_guidance_calls_the_model_with_and_without_condition(cpu_backend):
    calls = []

    def model(x, t, cond):
        calls.append(cond)
        return np.full_like(x, 0.1 if cond is None else 0.3)

    s = fastgen.diffusion.DDIMSchedule(clip_sample=False)
    out = fastgen.sample(model, (2, 3), s, num_inference_steps=4, guidance_scale=2.0, condition="c", seed=1,
                         backend=cpu_backend)
    assert calls == ["c", None] * 4
    ref_x = _backend.kernels(cpu_backend).random.normals(6, 1, 0, DiffusionStream.INITIAL_NOISE).reshape(2, 3)
    for t in s.timesteps:  # guided eps = 0.1 + 2 (0.3 - 0.1) = 0.5
        ref_x = s.step(np.full_like(ref_x, 0.5), t, ref_x).prev_sample
    np.testing.assert_allclose(out, ref_x, rtol=1e-5, atol=1e-6)


def test_schedules_pickle_with_their_read_only_config():
    """A schedule travels pickled (to Dask workers, sample(..., client=)): its config comes back
    equal, and still read-only."""
    import pickle

    for schedule in (fastgen.diffusion.DDPMSchedule(beta_end=0.01), fastgen.diffusion.DDIMSchedule(clip_sample=False)):
        schedule.set_timesteps(7)
        copy = pickle.loads(pickle.dumps(schedule))
        assert copy.config == schedule.config and type(copy.config) is type(schedule.config)
        np.testing.assert_array_equal(copy.timesteps, schedule.timesteps)
        with pytest.raises(TypeError, match="read-only"):
            copy.config["beta_end"] = 1.0
