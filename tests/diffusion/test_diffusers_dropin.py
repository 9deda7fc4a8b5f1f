"""fastgen.DDPMScheduler and fastgen.DDIMScheduler as diffusers schedulers: ConfigMixin and
SchedulerMixin behaviour, pipelines (a tiny random UNet2DModel in DDPMPipeline and
DDIMPipeline gives diffusers' images with fastgen's scheduler swapped in, and a
save_pretrained / from_pretrained round trip keeps it), diffusers' noise from torch
generators, float16 / bfloat16, per-sample timesteps, add_noise / get_velocity, clear errors,
fastgen.sample on diffusers models, and the package without diffusers."""
import json
import os
import pickle
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import fastgen

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

CPU_BACKENDS = [b for b in fastgen.available_backends() if b != "cuda"]
PAIRS = [(fastgen.DDPMScheduler, diffusers.DDPMScheduler), (fastgen.DDIMScheduler, diffusers.DDIMScheduler)]
IDS = ["ddpm", "ddim"]


def _tensors(seed, shape=(3, 2, 5, 4), dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g).to(dtype) for _ in range(3)]


def _close(ours, theirs, rtol=1e-6):
    ours, theirs = (np.asarray(v.float() if isinstance(v, torch.Tensor) else v, np.float64) for v in (ours, theirs))
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * max(1.0, float(np.abs(theirs).max())))


# ------------------------------------------------------------------ diffusers' classes, config, save / load


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
def test_drop_ins_are_diffusers_schedulers_with_public_names(ours, theirs):
    assert issubclass(ours, theirs) and issubclass(ours, diffusers.SchedulerMixin)
    assert ours.__module__ == "fastgen" and getattr(fastgen, ours.__name__) is ours
    assert fastgen.diffusion.DDPMScheduler is fastgen.DDPMScheduler
    s = ours(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, clip_sample=False)
    assert isinstance(s.config, dict) and s.config["beta_end"] == 0.012 and s.config.beta_end == 0.012
    assert dict(s.config) == dict(theirs(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                         clip_sample=False).config)
    again = ours(**s.config)  # _class_name, _use_default_values and all
    assert type(again) is ours and dict(again.config) == dict(s.config)
    assert type(ours.from_config(s.config)) is ours
    assert {c.__name__ for c in s.compatibles} == {c.__name__ for c in theirs().compatibles}
    s.register_to_config(extra=1)
    assert s.config["extra"] == 1


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
def test_save_pretrained_and_from_pretrained(ours, theirs):
    s = ours(trained_betas=np.linspace(1e-4, 0.02, 10).tolist(), num_train_timesteps=10, prediction_type="v_prediction")
    with tempfile.TemporaryDirectory() as d:
        s.save_pretrained(d)
        saved = json.load(open(os.path.join(d, "scheduler_config.json")))
        assert saved["_class_name"] == theirs.__name__ and saved["prediction_type"] == "v_prediction"
        mine, plain = ours.from_pretrained(d), theirs.from_pretrained(d)  # diffusers' own class loads it too
    assert type(mine) is ours and type(plain) is theirs
    assert mine.betas.tolist() == s.betas.tolist() == plain.betas.tolist()


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
def test_attributes_and_set_timesteps_are_diffusers_own(ours, theirs):
    a, b = ours(timestep_spacing="trailing"), theirs(timestep_spacing="trailing")
    for name in ("betas", "alphas", "alphas_cumprod", "timesteps"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    a.set_timesteps(37)
    b.set_timesteps(37)
    assert torch.equal(a.timesteps, b.timesteps) and a.num_inference_steps == 37
    assert len(a) == len(b) and a.init_noise_sigma == b.init_noise_sigma and a.order == b.order


def test_ddpm_custom_timesteps_and_other_variance_types():
    s = fastgen.DDPMScheduler(variance_type="other", clip_sample=False)
    s.set_timesteps(timesteps=[900, 500, 120, 7, 0])
    assert s.previous_timestep(torch.tensor(120)).item() == 7
    m, x, z = _tensors(0)
    theirs = diffusers.DDPMScheduler(variance_type="other", clip_sample=False)
    theirs.set_timesteps(timesteps=[900, 500, 120, 7, 0])
    for t in s.timesteps:  # at t = 7 diffusers' float32 1 - a_7 / a_0 keeps 4 digits: 5e-6 apart
        _close(s.step(m, t, x, generator=torch.manual_seed(4)).prev_sample,
               theirs.step(m, t, x, generator=torch.manual_seed(4)).prev_sample, 2e-5)


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
def test_trained_betas_of_any_length_as_diffusers(ours, theirs):
    s, d = ours(trained_betas=[0.1, 0.3]), theirs(trained_betas=[0.1, 0.3])
    assert s.betas.tolist() == d.betas.tolist() and len(s.alphas_cumprod) == 2
    m, x, _ = _tensors(1)
    if ours is fastgen.DDIMScheduler:
        s.set_timesteps(10)
        d.set_timesteps(10)
    _close(s.step(m, 1, x, generator=torch.manual_seed(0)).prev_sample,
           d.step(m, 1, x, generator=torch.manual_seed(0)).prev_sample, 1e-6)
    with pytest.raises(ValueError, match="timestep 5 is outside the schedule's 2 timesteps"):
        s.step(m, 5, x)


def test_ddim_steps_from_any_timestep_as_diffusers():
    s, d = fastgen.DDIMScheduler(), diffusers.DDIMScheduler()
    s.set_timesteps(50)
    d.set_timesteps(50)
    m, x, _ = _tensors(2)
    for t in (1, 13, 999):  # none of them in the schedule (at t = 1 diffusers' float32 1 - a_1 keeps 4 digits)
        _close(s.step(m, t, x).prev_sample, d.step(m, t, x).prev_sample, 1e-5)


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
def test_step_outputs_are_diffusers_outputs(ours, theirs):
    s = ours()
    s.set_timesteps(10)
    m, x, _ = _tensors(3)
    out = s.step(m, s.timesteps[2], x, generator=5)
    assert isinstance(out, diffusers.utils.BaseOutput) and type(out).__name__ == theirs.__name__ + "Output"
    assert list(out.keys()) == ["prev_sample", "pred_original_sample"]
    assert out["prev_sample"] is out.prev_sample and len(out.values()) == 2
    prev, x0 = s.step(m, s.timesteps[2], x, generator=5, return_dict=False)
    assert torch.equal(prev, out.prev_sample) and torch.equal(x0, out.pred_original_sample)
    # built without the dataclass machinery: the same object as diffusers' constructor gives
    expected = type(out)(prev_sample=out.prev_sample, pred_original_sample=out.pred_original_sample)
    assert out == expected and vars(out) == vars(expected) and out.to_tuple() == expected.to_tuple()
    assert out[0] is out.prev_sample and out[1] is out.pred_original_sample
    copy = pickle.loads(pickle.dumps(out))
    assert type(copy) is type(out) and list(copy.keys()) == list(out.keys())
    assert torch.equal(copy.prev_sample, out.prev_sample)


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
@pytest.mark.parametrize("change", ["in place", "replaced"])
def test_steps_follow_schedule_tensors_changed_between_steps(ours, theirs, change):
    """The step converts alphas_cumprod (and DDIM's final_alpha_cumprod) once per tensor and
    in-place version: a change between two steps, in place or by assignment, gives diffusers'
    step on the changed schedule."""
    m, x, _ = _tensors(4)
    results = {}
    for cls in (ours, theirs):
        s = cls(clip_sample=False)
        s.set_timesteps(10)
        t = int(s.timesteps[-1])  # DDIM's last step ends on final_alpha_cumprod
        kw = {"eta": 0.0} if cls in (fastgen.DDIMScheduler, diffusers.DDIMScheduler) else {}
        s.step(m, t, x, generator=torch.Generator().manual_seed(0), **kw)  # fills fastgen's caches
        if change == "in place":
            s.alphas_cumprod.mul_(0.5)
            if hasattr(s, "final_alpha_cumprod"):
                s.final_alpha_cumprod.fill_(0.75)
        else:
            s.alphas_cumprod = s.alphas_cumprod * 0.5
            if hasattr(s, "final_alpha_cumprod"):
                s.final_alpha_cumprod = torch.tensor(0.75)
        results[cls] = s.step(m, t, x, generator=torch.Generator().manual_seed(0), **kw).prev_sample
    _close(results[ours], results[theirs], rtol=1e-5)


# ------------------------------------------------------------------ add_noise / get_velocity


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_add_noise_and_get_velocity_match_diffusers(ours, theirs, dtype):
    """float32 and float64: diffusers' results to float32 rounding. float16 and bfloat16 are
    computed in float32 and rounded once: the float64 result to the dtype's rounding, where
    diffusers' half-precision arithmetic is off by more (a_0 = 0.9999 is 1.0 in float16, so
    its sqrt(1 - a_0) is 0)."""
    s, d = ours(), theirs()
    x0, z, _ = _tensors(4, (4, 3, 6, 5))
    x0, z = x0.to(dtype), z.to(dtype)
    exact = fastgen.diffusion.DDPMSchedule()
    for t in (torch.tensor([0, 250, 500, 999]), torch.tensor([420]), torch.tensor(7)):
        noised = s.add_noise(x0, z, t)
        v = s.get_velocity(noised, z, t)
        assert noised.dtype == dtype and v.dtype == dtype and noised.shape == x0.shape
        if dtype in (torch.float32, torch.float64):
            _close(noised, d.add_noise(x0, z, t), 2e-6)
            _close(v, d.get_velocity(noised, z, t), 2e-6)
        else:
            tol = 1e-3 if dtype == torch.float16 else 8e-3
            x0_64, z_64, n_64 = (a.double().numpy() for a in (x0, z, noised))
            _close(noised, exact.add_noise(x0_64, z_64, t.numpy()), tol)
            _close(v, exact.get_velocity(n_64, z_64, t.numpy()), tol)


def test_add_noise_is_one_pass_in_float32_for_half_precision():
    """float16 in, float16 out, computed in float32: closer to the float64 answer than diffusers' float16 arithmetic."""
    s, d = fastgen.DDPMScheduler(), diffusers.DDPMScheduler()
    x0, z, _ = _tensors(5, (8, 4, 16, 16))
    t = torch.arange(8) * 120 + 3
    exact = fastgen.diffusion.DDPMSchedule().add_noise(x0.half().double().numpy(), z.half().double().numpy(),
                                                      t.numpy())
    ours = s.add_noise(x0.half(), z.half(), t).double().numpy()
    theirs = d.add_noise(x0.half(), z.half(), t).double().numpy()
    assert np.abs(ours - exact).max() <= np.abs(theirs - exact).max()


def test_add_noise_keeps_the_autograd_graph_through_diffusers():
    x0, z, _ = _tensors(6)
    x0.requires_grad_(True)
    noised = fastgen.DDPMScheduler().add_noise(x0, z, torch.tensor([10, 20, 30]))
    noised.sum().backward()
    assert x0.grad is not None and torch.all(x0.grad > 0)


# ------------------------------------------------------------------ the step: generators, dtypes, per-sample


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction", "sample"])
def test_torch_generators_give_diffusers_noise(ours, theirs, prediction):
    s, d = ours(prediction_type=prediction), theirs(prediction_type=prediction)
    s.set_timesteps(20)
    d.set_timesteps(20)
    kw = {"eta": 1.0} if ours is fastgen.DDIMScheduler else {}
    m, x, _ = _tensors(7)
    for t in s.timesteps[:-1]:  # sample prediction at t = 0 divides by sqrt(1 - a_0): see the class docstring
        g1, g2 = torch.Generator().manual_seed(int(t)), torch.Generator().manual_seed(int(t))
        _close(s.step(m, t, x, generator=g1, **kw).prev_sample, d.step(m, t, x, generator=g2, **kw).prev_sample, 1e-5)
        assert torch.equal(g1.get_state(), g2.get_state())  # the generators advanced alike
    gens = [torch.Generator().manual_seed(i) for i in range(3)]  # one per sample, as randn_tensor takes them
    ours_out = s.step(m, s.timesteps[3], x, generator=gens, **kw).prev_sample
    theirs_out = d.step(m, d.timesteps[3], x, generator=[torch.Generator().manual_seed(i) for i in range(3)],
                        **kw).prev_sample
    _close(ours_out, theirs_out, 1e-5)


def test_without_a_generator_the_noise_is_philox_in_the_kernel(cpu_backend):
    from fastgen import _core
    from fastgen._constants import DiffusionStream

    s = fastgen.DDPMScheduler(clip_sample=False)
    m, x, _ = _tensors(8)
    drawn = s.step(m, 400, x, generator=77, backend=cpu_backend).prev_sample
    z = torch.from_numpy(_core.random.normals(m.numel(), 77, 400, DiffusionStream.STEP_NOISE).reshape(m.shape))
    _close(drawn, s.step(m, 400, x, variance_noise=z, backend=cpu_backend).prev_sample, 1e-6)
    a, b = s.step(m, 400, x).prev_sample, s.step(m, 400, x).prev_sample  # None: a fresh seed each time
    assert not torch.equal(a, b)


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_steps_compute_in_float32(ours, theirs, dtype):
    s = ours()
    s.set_timesteps(10)
    m, x, _ = _tensors(9)
    m, x = m.to(dtype), x.to(dtype)
    kw = {"eta": 0.5} if ours is fastgen.DDIMScheduler else {}
    t = s.timesteps[4]
    out = s.step(m, t, x, generator=torch.manual_seed(0), **kw)
    assert out.prev_sample.dtype == dtype and out.pred_original_sample.dtype == dtype
    # the float32 step on the same values, rounded to the dtype once; the noise drawn as diffusers
    # draws it (randn_tensor in the model output's dtype)
    noise = torch.randn(m.shape, generator=torch.manual_seed(0), dtype=dtype)
    ref = s.step(m.float(), t, x.float(), variance_noise=noise.float(), **kw)
    assert torch.equal(out.prev_sample, ref.prev_sample.to(dtype))
    assert torch.equal(out.pred_original_sample, ref.pred_original_sample.to(dtype))
    if dtype == torch.float16:  # diffusers computes in float16 (its bfloat16 step fails in the CPU clamp)
        d = theirs.from_config(s.config)
        d.set_timesteps(10)
        _close(out.prev_sample, d.step(m, t, x, generator=torch.manual_seed(0), **kw).prev_sample, 5e-3)


@pytest.mark.parametrize("ours", [fastgen.DDPMScheduler, fastgen.DDIMScheduler], ids=IDS)
def test_per_sample_timesteps_in_one_step(ours):
    s = ours(clip_sample=False)
    s.set_timesteps(50)
    m, x, _ = _tensors(10, (4, 3, 4, 4))
    t = s.timesteps[torch.tensor([0, 10, 30, 49])]
    kw = {"eta": 1.0} if ours is fastgen.DDIMScheduler else {}
    noise = torch.randn(x.shape, generator=torch.manual_seed(1))
    if ours is fastgen.DDPMScheduler:
        out = s.step(m, t, x, variance_noise=noise)
    else:
        out = s.step(m, t, x, variance_noise=noise, **kw)
    for b in range(4):
        alone = s.step(m[b:b + 1], t[b], x[b:b + 1], variance_noise=noise[b:b + 1], **kw)
        _close(out.prev_sample[b:b + 1], alone.prev_sample, 1e-6)
        _close(out.pred_original_sample[b:b + 1], alone.pred_original_sample, 1e-6)
    with pytest.raises(ValueError, match="one per sample"):
        s.step(m, t[:3], x)


@pytest.mark.parametrize("ours", [fastgen.DDPMScheduler, fastgen.DDIMScheduler], ids=IDS)
def test_wrong_shape_or_dtype_is_a_value_error_showing_both_shapes(ours):
    s = ours()
    s.set_timesteps(10)
    m, x, _ = _tensors(11)
    with pytest.raises(ValueError, match=r"model_output has shape \(3, 2, 5, 5\) but sample has shape \(3, 2, 5, 4\)"):
        s.step(torch.zeros(3, 2, 5, 5), s.timesteps[0], x)
    with pytest.raises(ValueError, match=r"model_output must be a floating-point array.*shape \(3, 2, 5, 4\) and "
                                         r"dtype int64.*sample of shape \(3, 2, 5, 4\)"):
        s.step(torch.zeros(3, 2, 5, 4, dtype=torch.int64), s.timesteps[0], x)


def test_fused_guidance_matches_guiding_by_hand():
    s = fastgen.DDIMScheduler(clip_sample=False)
    s.set_timesteps(25)
    cond, uncond, x = _tensors(12)
    t = s.timesteps[5]
    fused = s.step(cond, t, x, model_output_uncond=uncond, guidance_scale=6.0).prev_sample
    by_hand = diffusers.DDIMScheduler.from_config(s.config)
    by_hand.set_timesteps(25)
    _close(fused, by_hand.step(uncond + 6.0 * (cond - uncond), t, x).prev_sample, 2e-6)


def test_step_with_grad_falls_back_to_diffusers():
    s = fastgen.DDPMScheduler()
    m, x, _ = _tensors(13)
    m.requires_grad_(True)
    s.step(m, 0, x).prev_sample.sum().backward()
    assert m.grad is not None


def test_docstrings_say_how_they_differ():
    for cls in (fastgen.DDPMScheduler, fastgen.DDIMScheduler):
        doc = cls.__doc__
        assert "How it differs from diffusers" in doc and "float64" in doc and "Generator" in doc
        assert "float16" in doc and "per-sample timesteps" in doc.lower()


# ------------------------------------------------------------------ pipelines with a tiny random UNet


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    model = diffusers.UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1,
                                  block_out_channels=(8, 16), norm_num_groups=4,
                                  down_block_types=("DownBlock2D", "DownBlock2D"),
                                  up_block_types=("UpBlock2D", "UpBlock2D"))
    return model.eval()


def _images(pipe, steps, **kw):
    pipe.set_progress_bar_config(disable=True)
    return pipe(batch_size=2, generator=torch.Generator().manual_seed(3), num_inference_steps=steps,
                output_type="np", **kw).images


@pytest.mark.parametrize("kind,steps,kw", [("ddpm", 10, {}), ("ddpm", 50, {}), ("ddim", 10, {"eta": 0.0}),
                                           ("ddim", 10, {"eta": 1.0})])
def test_swapping_the_scheduler_into_a_pipeline_gives_diffusers_images(unet, kind, steps, kw):
    """Each step agrees with diffusers' to float32 rounding: a few ulp (fastgen rounds each
    coefficient once from float64), 1e-5 in DDPM's last steps (where diffusers' float32
    1 - a_t / a_prev cancels digits). A random UNet amplifies those over the loop, to ~1e-4."""
    Pipeline = diffusers.DDPMPipeline if kind == "ddpm" else diffusers.DDIMPipeline
    Scheduler = fastgen.DDPMScheduler if kind == "ddpm" else fastgen.DDIMScheduler
    pipe = Pipeline(unet=unet, scheduler=(diffusers.DDPMScheduler if kind == "ddpm" else diffusers.DDIMScheduler)())
    theirs = _images(pipe, steps, **kw)
    pipe.scheduler = Scheduler.from_config(pipe.scheduler.config)
    assert type(pipe.scheduler) is Scheduler
    ours = _images(pipe, steps, **kw)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=2e-4)
    # step by step, from the same inputs: float32 rounding
    d = (diffusers.DDPMScheduler if kind == "ddpm" else diffusers.DDIMScheduler).from_config(pipe.scheduler.config)
    d.set_timesteps(steps)
    pipe.scheduler.set_timesteps(steps)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    for t in d.timesteps:
        with torch.no_grad():
            e = unet(x, t).sample
        step_kw = dict(kw)
        a = pipe.scheduler.step(e, t, x, generator=torch.Generator().manual_seed(int(t)), **step_kw).prev_sample
        b = d.step(e, t, x, generator=torch.Generator().manual_seed(int(t)), **step_kw).prev_sample
        _close(a, b, 1e-5)
        x = b


def test_pipeline_save_and_load_keep_fastgen_scheduler(unet):
    with tempfile.TemporaryDirectory() as d:
        pipe = diffusers.DDPMPipeline(unet=unet, scheduler=fastgen.DDPMScheduler(clip_sample=False))
        pipe.save_pretrained(d)
        assert json.load(open(os.path.join(d, "model_index.json")))["scheduler"] == ["fastgen", "DDPMScheduler"]
        again = diffusers.DiffusionPipeline.from_pretrained(d)
        assert type(again.scheduler) is fastgen.DDPMScheduler and again.scheduler.config.clip_sample is False
        np.testing.assert_array_equal(_images(again, 5), _images(pipe, 5))


def test_ddim_pipeline_converts_schedulers_as_diffusers_does(unet):
    """DDIMPipeline's constructor runs DDIMScheduler.from_config on any scheduler (diffusers'
    code): fastgen's scheduler is saved and loaded as a component, then assigned after loading."""
    pipe = diffusers.DDIMPipeline(unet=unet, scheduler=fastgen.DDIMScheduler())
    assert type(pipe.scheduler) is diffusers.DDIMScheduler  # no network error, diffusers' conversion
    pipe.scheduler = fastgen.DDIMScheduler.from_config(pipe.scheduler.config)
    with tempfile.TemporaryDirectory() as d:
        pipe.save_pretrained(d)
        assert json.load(open(os.path.join(d, "model_index.json")))["scheduler"] == ["fastgen", "DDIMScheduler"]
        loaded = fastgen.DDIMScheduler.from_pretrained(d, subfolder="scheduler")
        assert type(loaded) is fastgen.DDIMScheduler


# ------------------------------------------------------------------ fastgen.sample on diffusers models


def test_sample_with_a_torch_generator_is_the_ddpm_pipeline(unet):
    pipe = diffusers.DDPMPipeline(unet=unet, scheduler=fastgen.DDPMScheduler())
    pipe.set_progress_bar_config(disable=True)
    image = pipe(batch_size=2, generator=torch.Generator().manual_seed(5), num_inference_steps=8,
                 output_type="pt" if False else "np").images
    x = fastgen.sample(unet, (2, 3, 8, 8), pipe.scheduler, num_inference_steps=8,
                       seed=torch.Generator().manual_seed(5))
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    ours = (x / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(ours, image, rtol=0, atol=1e-6)


def test_sample_takes_torch_callables_dtypes_and_seeds(unet):
    s = fastgen.DDIMScheduler()
    shape = (2, 3, 8, 8)
    a = fastgen.sample(unet, shape, s, num_inference_steps=4, seed=1)  # a Module: torch tensors in and out
    b = fastgen.sample(lambda x, t: unet(x, t).sample, shape, s, num_inference_steps=4, seed=1)  # a plain callable
    assert isinstance(a, torch.Tensor) and torch.equal(a, b)
    c = fastgen.sample(unet.forward, shape, s, num_inference_steps=4, seed=1)
    assert torch.equal(a, c)
    d = fastgen.sample(lambda x, t: unet(x.float(), t).sample.double(), shape, s, num_inference_steps=4, seed=1,
                       dtype=torch.float64)
    assert d.dtype == torch.float64
    _close(d, a, 1e-4)
    e = fastgen.sample(unet, shape, s, num_inference_steps=4, seed=None)
    f = fastgen.sample(unet, shape, s, num_inference_steps=4, seed=None)
    assert not torch.equal(e, f)
    h = fastgen.sample(lambda x, t: unet(x.float(), t).sample.bfloat16(), shape, s, num_inference_steps=4, seed=1,
                       dtype=torch.bfloat16)
    assert h.dtype == torch.bfloat16
    with pytest.raises(ValueError, match=r"model_output has shape \(2, 3, 8, 8\) but sample has shape \(2, 3, 4, 4\)"):
        fastgen.sample(lambda x, t: torch.zeros(2, 3, 8, 8), (2, 3, 4, 4), s, num_inference_steps=2, seed=1)


def test_sample_with_a_drop_in_and_numpy_or_torch_denoisers():
    s = fastgen.DDPMScheduler(clip_sample=False)
    den = fastgen.diffusion.GaussianMixtureDenoiser([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.0]], [np.eye(2) * 0.1] * 2,
                                                    alphas_cumprod=s.alphas_cumprod)
    a = fastgen.sample(den, (64, 2), s, num_inference_steps=20, seed=3)  # NumPy in, NumPy out
    b = fastgen.sample(den, (64, 2), s, num_inference_steps=20, seed=3, dtype=torch.float32)  # torch in, torch out
    assert isinstance(a, np.ndarray) and isinstance(b, torch.Tensor)
    np.testing.assert_array_equal(a, b.numpy())
    own = fastgen.diffusion.DDPMSchedule(clip_sample=False)  # the same loop on fastgen's own schedule
    np.testing.assert_array_equal(a, fastgen.sample(den, (64, 2), own, num_inference_steps=20, seed=3))


@pytest.mark.gpu
@pytest.mark.parametrize("ours", [fastgen.DDPMScheduler, fastgen.DDIMScheduler], ids=IDS)
def test_cuda_tensors_stay_on_the_gpu_and_match_the_cpu(ours):
    if not torch.cuda.is_available():
        pytest.skip("this torch has no CUDA")
    s = ours(thresholding=True)
    s.set_timesteps(20)
    m, x, z = _tensors(14)
    kw = {"eta": 1.0} if ours is fastgen.DDIMScheduler else {}
    t = s.timesteps[torch.tensor([0, 5, 10])]
    cpu = s.step(m, t, x, variance_noise=z, **kw)
    gpu = s.step(m.cuda(), t.cuda(), x.cuda(), variance_noise=z.cuda(), **kw)
    assert gpu.prev_sample.device.type == "cuda"
    _close(gpu.prev_sample.cpu(), cpu.prev_sample, 1e-5)
    half = s.step(m.cuda().half(), t[1], x.cuda().half(), variance_noise=z.cuda().half(), **kw).prev_sample
    assert half.dtype == torch.float16 and half.device.type == "cuda"
    noised = s.add_noise(x.cuda(), z.cuda(), t.cuda())
    _close(noised.cpu(), s.add_noise(x, z, t), 1e-6)


# ------------------------------------------------------------------ without diffusers


def test_without_diffusers_the_fused_ops_work_and_the_drop_ins_name_the_extra():
    code = """
import sys
sys.modules["diffusers"] = None  # as if not installed
import numpy as np
import fastgen
from fastgen.diffusion import DDIMSchedule, DDPMSchedule, GaussianMixtureDenoiser
assert "DDPMScheduler" not in fastgen.__all__
s = DDPMSchedule(clip_sample=False)
den = GaussianMixtureDenoiser([0.5, 0.5], [[-1.0, 0.0], [1.0, 0.0]], [np.eye(2) * 0.1] * 2,
                              alphas_cumprod=s.alphas_cumprod)
x = fastgen.sample(den, (64, 2), s, num_inference_steps=20, seed=0)
assert x.shape == (64, 2) and np.isfinite(x).all()
d = DDIMSchedule()
d.set_timesteps(10)
out = d.step(np.zeros((2, 3), np.float32), d.timesteps[0], np.ones((2, 3), np.float32), eta=1.0, generator=3)
assert out["prev_sample"].shape == (2, 3)
for name in ("DDPMScheduler", "DDIMScheduler"):
    try:
        getattr(fastgen, name)
    except ImportError as exc:
        assert "fastgen[diffusers]" in str(exc), exc
    else:
        raise AssertionError(name + " imported without diffusers")
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
