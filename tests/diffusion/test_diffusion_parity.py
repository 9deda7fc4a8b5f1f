"""fastgen's DDPM/DDIM schedulers against diffusers' on the same model output, sample and noise.

Three comparisons per configuration and timestep:
- float64 on both sides, diffusers given fastgen's float64 schedule: the step formulas agree (1e-10);
- fastgen float32 against that float64 result: 1e-5 (relative to the size of the values);
- fastgen float32 against diffusers float32 as shipped: 1e-3, because diffusers' own schedule
  is float32 (its 1 - alphas_cumprod near t = 0 keeps 3 digits, and 1 / sqrt of it scales the
  error up for sample prediction), while fastgen's is float64.
"""
import itertools

import numpy as np
import pytest

import fastgen

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

SHAPE = (3, 2, 6, 5)
PREDICTIONS = ("epsilon", "sample", "v_prediction")
VARIANCES = ("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range")
CLIPS = {"none": dict(clip_sample=False), "clip": dict(clip_sample=True, clip_sample_range=1.5),
         "threshold": dict(thresholding=True, dynamic_thresholding_ratio=0.9, sample_max_value=2.5)}
SCHEDULES = [dict(beta_schedule="linear"), dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
             dict(beta_schedule="squaredcos_cap_v2"), dict(beta_schedule="linear", rescale_betas_zero_snr=True),
             dict(trained_betas=np.linspace(2e-4, 0.03, 1000))]
SPACINGS = [dict(timestep_spacing="leading", steps_offset=1), dict(timestep_spacing="trailing"),
            dict(timestep_spacing="linspace")]


def _inputs(seed, learned, dtype):
    rng = np.random.default_rng(seed)
    out_shape = (SHAPE[0], 2 * SHAPE[1]) + SHAPE[2:] if learned else SHAPE
    model_output = rng.normal(0.0, 1.5, out_shape)
    if learned:
        model_output[:, SHAPE[1]:] = rng.uniform(-1.0, 1.0, model_output[:, SHAPE[1]:].shape)
    sample = rng.normal(0.0, 1.0, SHAPE)
    noise = rng.normal(0.0, 1.0, SHAPE)
    return [a.astype(dtype) for a in (model_output, sample, noise)]


def _close(ours, ref, rtol):
    ref = np.asarray(ref, dtype=np.float64)
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), ref, rtol=rtol, atol=rtol * scale)


def _diffusers_step(theirs, kind, model_output, t, sample, noise, **kw):
    if kind == "ddim":
        r = theirs.step(torch.from_numpy(model_output), t, torch.from_numpy(sample),
                        variance_noise=torch.from_numpy(noise), **kw)
    else:  # diffusers' DDPM step draws its noise with randn_tensor: hand it a generator that gives `noise`
        class _Fixed:
            def __call__(self, shape, generator=None, device=None, dtype=None, **_):
                return torch.from_numpy(noise).to(dtype)

        import diffusers.schedulers.scheduling_ddpm as ddpm_module

        original = ddpm_module.randn_tensor
        ddpm_module.randn_tensor = _Fixed()
        try:
            r = theirs.step(torch.from_numpy(model_output), t, torch.from_numpy(sample))
        finally:
            ddpm_module.randn_tensor = original
    return r.prev_sample.numpy(), r.pred_original_sample.numpy()


def _check(kind, config, backend, seed, step_kw=None, ours_config=None, n_steps=20):
    step_kw = step_kw or {}
    Ours = fastgen.DDIMScheduler if kind == "ddim" else fastgen.DDPMScheduler
    Theirs = diffusers.DDIMScheduler if kind == "ddim" else diffusers.DDPMScheduler
    ours = Ours(**(ours_config or config))
    shipped = Theirs(**config)
    exact = Theirs(**config)  # diffusers' formulas in float64 on fastgen's float64 schedule
    exact.alphas_cumprod = torch.from_numpy(ours.alphas_cumprod)
    if kind == "ddim":
        exact.final_alpha_cumprod = torch.tensor(ours.final_alpha_cumprod, dtype=torch.float64)
    for s in (ours, shipped, exact):
        s.set_timesteps(n_steps)
    assert np.array_equal(ours.timesteps, shipped.timesteps.numpy())
    np.testing.assert_allclose(ours.alphas_cumprod, shipped.alphas_cumprod.numpy(), rtol=2e-5)
    learned = (ours_config or config).get("variance_type", "").startswith("learned")
    for i, t in enumerate((ours.timesteps[0], ours.timesteps[n_steps // 2], ours.timesteps[-1])):
        t = int(t)
        m64, x64, z64 = _inputs(seed + i, learned, np.float64)
        ref_prev, ref_x0 = _diffusers_step(exact, kind, m64, t, x64, z64, **step_kw)
        prev, x0 = ours.step(m64, t, x64, variance_noise=z64, backend=backend, **step_kw)
        _close(prev, ref_prev, 1e-10)
        _close(x0, ref_x0, 1e-10)
        m32, x32, z32 = (a.astype(np.float32) for a in (m64, x64, z64))
        prev, x0 = ours.step(m32, t, x32, variance_noise=z32, backend=backend, **step_kw)
        assert prev.dtype == np.float32 and x0.dtype == np.float32
        _close(prev, ref_prev, 1e-5)
        _close(x0, ref_x0, 1e-5)
        shipped_prev, shipped_x0 = _diffusers_step(shipped, kind, m32, t, x32, z32, **step_kw)
        _close(prev, shipped_prev, 1e-3)
        _close(x0, shipped_x0, 1e-3)


DDPM_CASES = list(itertools.product(PREDICTIONS, VARIANCES, CLIPS))


@pytest.mark.parametrize("prediction,variance,clip", DDPM_CASES)
def test_ddpm_step_matches_diffusers(prediction, variance, clip, backend):
    index = DDPM_CASES.index((prediction, variance, clip))
    config = dict(prediction_type=prediction, variance_type=variance, **CLIPS[clip],
                  **SCHEDULES[index % len(SCHEDULES)], **SPACINGS[index % len(SPACINGS)])
    ours_config = dict(config)
    if variance == "fixed_large_log":  # diffusers gives NaN here (log of beta, then its square root)
        config["variance_type"] = "fixed_large"
    _check("ddpm", config, backend, seed=index, ours_config=ours_config)


DDIM_CASES = list(itertools.product(PREDICTIONS, CLIPS, (0.0, 0.5, 1.0), (False, True)))


@pytest.mark.parametrize("prediction,clip,eta,clipped_output", DDIM_CASES)
def test_ddim_step_matches_diffusers(prediction, clip, eta, clipped_output, backend):
    index = DDIM_CASES.index((prediction, clip, eta, clipped_output))
    config = dict(prediction_type=prediction, set_alpha_to_one=index % 2 == 0, **CLIPS[clip],
                  **SCHEDULES[index % len(SCHEDULES)], **SPACINGS[index % len(SPACINGS)])
    _check("ddim", config, backend, seed=100 + index, step_kw=dict(eta=eta, use_clipped_model_output=clipped_output))


@pytest.mark.parametrize("schedule,spacing", list(itertools.product(range(len(SCHEDULES)), range(len(SPACINGS)))))
@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_every_schedule_and_spacing(cpu_backends, kind, schedule, spacing):
    config = dict(**SCHEDULES[schedule], **SPACINGS[spacing])
    _check(kind, config, cpu_backends[0], seed=7 * schedule + spacing, n_steps=37)


def test_diffusers_fixed_large_log_is_nan_where_fastgen_is_finite():
    m, x, z = _inputs(0, False, np.float32)
    theirs = diffusers.DDPMScheduler(variance_type="fixed_large_log")
    prev, _ = _diffusers_step(theirs, "ddpm", m, 500, x, z)
    assert np.isnan(prev).all()
    ours = fastgen.DDPMScheduler(variance_type="fixed_large_log").step(m, 500, x, variance_noise=z)
    large = fastgen.DDPMScheduler(variance_type="fixed_large").step(m, 500, x, variance_noise=z)
    assert np.array_equal(ours.prev_sample, large.prev_sample)


def test_torch_tensors_in_torch_tensors_out():
    m, x, z = _inputs(3, False, np.float32)
    ours = fastgen.DDPMScheduler()
    out = ours.step(torch.from_numpy(m), 10, torch.from_numpy(x), variance_noise=torch.from_numpy(z))
    assert isinstance(out.prev_sample, torch.Tensor) and out.prev_sample.dtype == torch.float32
    ref = ours.step(m, 10, x, variance_noise=z)
    assert np.array_equal(out.prev_sample.numpy(), ref.prev_sample)
    prev, x0 = ours.step(torch.from_numpy(m), 10, torch.from_numpy(x), variance_noise=torch.from_numpy(z),
                         return_dict=False)
    assert np.array_equal(x0.numpy(), ref.pred_original_sample)
