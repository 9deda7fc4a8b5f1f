"""The hot path shared by fastgen's own schedules (schedules.py) and the diffusers drop-ins
(schedulers.py): `step` (with fused classifier-free guidance and per-sample timesteps),
`add_noise` and `get_velocity`, each one fused kernel (fastgen/diffusion/_ops.py).

A class mixing these in provides `config` (diffusers' configuration names, read as
attributes), `_alphas_cumprod64()` (the float64 schedule the coefficients come from),
`_output(prev, x0)` (the step's output object), and for DDPM `variance_type` and
`_previous_timesteps(t)`, for DDIM `num_inference_steps` and `_final_alpha_cumprod64()`.
No diffusers here.
"""
from __future__ import annotations

import sys

import numpy as np

from .._constants import StepColumn, VarianceMode
from .._validation import check_real
from . import _ops, _rows


def _check_guidance(model_output_uncond, guidance_scale, guidance_rescale):
    if (model_output_uncond is None) != (guidance_scale is None):
        raise ValueError("model_output_uncond and guidance_scale must be given together (classifier-free guidance)")
    if guidance_scale is not None:
        check_real("guidance_scale", guidance_scale)
    return check_real("guidance_rescale", guidance_rescale, 0.0, 1.0)


def _needs_grad(*arrays):
    """Whether a torch autograd graph is wanted through these arrays (the kernels build none)."""
    torch = sys.modules.get("torch")  # the arrays first: is_grad_enabled costs more than NumPy inputs need
    return torch is not None and any(isinstance(a, torch.Tensor) and a.requires_grad for a in arrays) \
        and torch.is_grad_enabled()


class _Fused:
    """What both families share: the step's arrays, noise and kernel; add_noise and get_velocity."""

    def _unfused(self):
        """The class whose (differentiable) methods run for inputs that require grad: diffusers'
        for the drop-ins, None for fastgen's own schedules (their results are detached)."""
        return None

    def _autograd(self, *arrays):
        return self._unfused() if _needs_grad(*arrays) else None

    def _cached_rows(self, ac, key, build):
        """The rows of a one-timestep step, built once per schedule `ac` (the step's
        _alphas_cumprod64()), config and `key` (a loop steps through the same timesteps again
        and again: this keeps the step's Python cost to a dictionary look-up)."""
        cache = self.__dict__.get("_rows_cache")
        if cache is None or cache["alphas_cumprod"] is not ac or cache["config"] is not self.config \
                or len(cache["rows"]) > 10_000:
            cache = self._rows_cache = {"alphas_cumprod": ac, "config": self.config, "rows": {}}
        rows = cache["rows"].get(key)
        if rows is None:
            rows = cache["rows"][key] = build()
            rows.flags.writeable = False
        return rows

    def _run_step(self, rows, t, per_sample, eps_from_clipped, variance_mode, model_output, sample, uncond,
                  generator, variance_noise, backend):
        # one row: a scalar test (np.any costs microseconds, and the step's Python is per step)
        adds_noise = bool(rows[0, StepColumn.ADD_NOISE] != 0) if len(rows) == 1 else bool(
            np.any(rows[:, StepColumn.ADD_NOISE] != 0))
        if adds_noise and variance_noise is not None and generator is not None:
            raise ValueError("Cannot pass both generator and variance_noise. Please make sure that either "
                             "`generator` or `variance_noise` stays `None`.")
        seed = 0
        if adds_noise and variance_noise is None:
            # diffusers' draw, randn_tensor(model_output.shape, ...), for torch generators (an int
            # seed, the common case, skips the test: torch's isinstance check costs a microsecond)
            if generator is not None and type(generator) is not int and _ops.is_torch_generator(generator):
                variance_noise = _ops.diffusers_noise(tuple(sample.shape), generator, model_output)
            else:
                seed = _ops.seed_from_generator(generator)
        elif not adds_noise:
            variance_noise = None  # diffusers ignores it too
        calls = None if per_sample is None else per_sample.astype(np.uint32)
        prev, x0 = _ops.step(rows, calls, 0 if t is None else t, _rows.clip_mode(self.config), variance_mode,
                             eps_from_clipped, model_output, sample, uncond, variance_noise, seed, backend)
        return prev, x0

    def _blend_coefficients(self, timesteps, batch, name):
        ac = self._alphas_cumprod64()
        t = _timestep_array(timesteps, name, len(ac))
        a = _ops.coefficient_rows(ac[t], batch, name)
        return np.sqrt(a), np.sqrt(1.0 - a)

    def add_noise(self, original_samples, noise, timesteps, *, backend=None):
        """The forward process: sqrt(a_t) original_samples + sqrt(1 - a_t) noise, with a_t =
        alphas_cumprod[timesteps] (one timestep, or one per sample), in one fused pass. The
        coefficients come from the float64 schedule; the result has the inputs' promoted dtype
        (float16 and bfloat16 are computed in float32)."""
        unfused = self._autograd(original_samples, noise)
        if unfused is not None and backend is None:
            return unfused.add_noise(self, original_samples, noise, timesteps)
        original_samples = _ops.as_array("original_samples", original_samples)
        batch = original_samples.shape[0] if len(original_samples.shape) else 1
        root_a, root_b = self._blend_coefficients(timesteps, batch, "timesteps")
        return _ops.scaled_sum(root_a, original_samples, root_b, noise, backend, ("original_samples", "noise"))

    def get_velocity(self, sample, noise, timesteps, *, backend=None):
        """The v-prediction target sqrt(a_t) noise - sqrt(1 - a_t) sample (a_t as in add_noise),
        in one fused pass."""
        unfused = self._autograd(sample, noise)
        if unfused is not None and backend is None:
            return unfused.get_velocity(self, sample, noise, timesteps)
        sample = _ops.as_array("sample", sample)
        noise = _ops.as_array("noise", noise)
        batch = noise.shape[0] if len(noise.shape) else 1
        root_a, root_b = self._blend_coefficients(timesteps, batch, "timesteps")
        return _ops.scaled_sum(root_a, noise, -root_b, sample, backend, ("noise", "sample"))


def _timestep_array(timesteps, name, n_timesteps):
    if _ops.is_torch(timesteps):
        timesteps = timesteps.detach().cpu()
    elif hasattr(timesteps, "get") and not isinstance(timesteps, (dict, np.ndarray)):
        timesteps = timesteps.get()
    t = np.asarray(timesteps)
    if t.dtype.kind not in "iu" and not (t.dtype.kind == "f" and np.all(t == np.round(t))):
        raise ValueError(f"{name} must hold integers, got {t!r}")
    t = t.astype(np.int64).reshape(-1)
    if t.size == 0:
        raise ValueError(f"{name} is empty: give one timestep, or one per sample")
    if t.min() < 0 or t.max() >= n_timesteps:
        raise ValueError(f"{name} must lie in [0, {n_timesteps}), got {t}")
    return t


class FusedDDPM(_Fused):
    """DDPM's fused step (diffusers' DDPMScheduler.step, extended)."""

    def _variance_mode(self, model_output, sample):
        """LEARNED(_RANGE) when the variance type is learned and model_output carries the
        variance channels (diffusers' test: twice the sample's channels), else FIXED."""
        mode = _rows.LEARNED.get(self.variance_type, VarianceMode.FIXED)
        learned = (mode != VarianceMode.FIXED and len(model_output.shape) >= 2 and len(sample.shape) >= 2
                   and model_output.shape[1] == 2 * sample.shape[1])
        return mode if learned else VarianceMode.FIXED

    def _step_rows(self, t, prev_t, guidance_scale=None, guidance_rescale=0.0):
        return _rows.ddpm_rows(self._alphas_cumprod64(), t, prev_t, self.config, self.variance_type,
                               guidance_scale, guidance_rescale)

    def step(self, model_output, timestep, sample, generator=None, return_dict=True, *, variance_noise=None,
             model_output_uncond=None, guidance_scale=None, guidance_rescale=0.0, backend=None):
        """x_{t-1} and x0 from the model output at `timestep`, in one fused pass (diffusers'
        DDPMScheduler.step, with these extensions).

        timestep: one timestep, or a 1-D array with one per sample (each sample then steps
            from its own timestep to the one before it in the schedule).
        generator: a torch.Generator, or a list of them (one per sample): the noise is drawn
            as diffusers draws it (randn_tensor). An int seed, a numpy.random.Generator or
            None: the noise is drawn inside the kernel from Philox, call = timestep
            (per-sample timesteps: each sample's own).
        variance_noise: the noise itself (as DDIMScheduler.step takes it).
        model_output_uncond, guidance_scale: classifier-free guidance, uncond + w (cond -
            uncond), then rescaled by `guidance_rescale` as diffusers' rescale_noise_cfg
            does, inside the same kernel.
        backend: 'cpu', 'numba' or 'cuda' (default: where the arrays live).
        Arrays may be torch tensors (any device), NumPy or CuPy arrays; float16 and bfloat16
        are computed in float32 and returned in their dtype. With a learned variance type the
        variance channels are those of `model_output` (twice the sample's channels).
        """
        unfused = self._autograd(model_output, sample)
        if unfused is not None and variance_noise is None and model_output_uncond is None and backend is None \
                and _ops.is_scalar_timestep(timestep):
            return unfused.step(self, model_output, timestep, sample, generator, return_dict)
        model_output = _ops.as_array("model_output", model_output)
        sample = _ops.as_array("sample", sample)
        model_output_uncond = _ops.as_array("model_output_uncond", model_output_uncond)
        variance_noise = _ops.as_array("variance_noise", variance_noise)
        rescale = _check_guidance(model_output_uncond, guidance_scale, guidance_rescale)
        variance_mode = self._variance_mode(model_output, sample)
        _ops.check_step_shapes(model_output, sample, model_output_uncond, variance_noise,
                               variance_mode != VarianceMode.FIXED)
        ac = self._alphas_cumprod64()
        t, per_sample = _ops.timesteps_of(timestep, sample.shape[0], len(ac))
        steps = np.array([t]) if per_sample is None else per_sample
        prev_steps = self._previous_timesteps(steps)
        if per_sample is None:
            key = (t, int(prev_steps[0]), self.variance_type, guidance_scale, rescale)
            rows = self._cached_rows(ac, key, lambda: self._step_rows(steps, prev_steps, guidance_scale, rescale))
        else:
            rows = self._step_rows(steps, prev_steps, guidance_scale, rescale)
        if variance_mode == VarianceMode.FIXED and self.variance_type in _rows.LEARNED \
                and np.any(rows[:, StepColumn.ADD_NOISE] != 0):
            raise ValueError(f"variance_type {self.variance_type!r} needs model_output with the variance channels: "
                             f"shape {(sample.shape[0], 2 * sample.shape[1]) + tuple(sample.shape[2:])} for sample "
                             f"of shape {tuple(sample.shape)}, got {tuple(model_output.shape)}")
        prev, x0 = self._run_step(rows, t, per_sample, False, variance_mode, model_output, sample,
                                  model_output_uncond, generator, variance_noise, backend)
        return self._output(prev, x0) if return_dict else (prev, x0)


class FusedDDIM(_Fused):
    """DDIM's fused step (diffusers' DDIMScheduler.step, extended)."""

    def _step_ratio(self):
        if self.num_inference_steps is None:
            raise ValueError("Number of inference steps is 'None', you need to run 'set_timesteps' after creating "
                             "the scheduler")
        return self.config.num_train_timesteps // self.num_inference_steps

    def _step_rows(self, t, eta=0.0, use_clipped_model_output=False, guidance_scale=None, guidance_rescale=0.0):
        return _rows.ddim_rows(self._alphas_cumprod64(), self._final_alpha_cumprod64(), t, self._step_ratio(),
                               self.config, eta, use_clipped_model_output, guidance_scale, guidance_rescale)

    def step(self, model_output, timestep, sample, eta=0.0, use_clipped_model_output=False, generator=None,
             variance_noise=None, return_dict=True, *, model_output_uncond=None, guidance_scale=None,
             guidance_rescale=0.0, backend=None):
        """x_{t-1} and x0 from the model output at `timestep`, in one fused pass (diffusers'
        DDIMScheduler.step: any timestep in [0, num_train_timesteps), previous timestep
        timestep - num_train_timesteps // num_inference_steps). Per-sample timesteps,
        generators, guidance, arrays and dtypes as in DDPMScheduler.step."""
        step_ratio = self._step_ratio()
        unfused = self._autograd(model_output, sample)
        if unfused is not None and model_output_uncond is None and backend is None \
                and _ops.is_scalar_timestep(timestep):
            return unfused.step(self, model_output, timestep, sample, eta, use_clipped_model_output, generator,
                                variance_noise, return_dict)
        model_output = _ops.as_array("model_output", model_output)
        sample = _ops.as_array("sample", sample)
        model_output_uncond = _ops.as_array("model_output_uncond", model_output_uncond)
        variance_noise = _ops.as_array("variance_noise", variance_noise)
        rescale = _check_guidance(model_output_uncond, guidance_scale, guidance_rescale)
        check_real("eta", eta, 0.0)
        _ops.check_step_shapes(model_output, sample, model_output_uncond, variance_noise, False)
        ac = self._alphas_cumprod64()
        t, per_sample = _ops.timesteps_of(timestep, sample.shape[0], len(ac))
        clipped = bool(use_clipped_model_output)
        final = self._final_alpha_cumprod64()

        def build():
            steps = np.array([t]) if per_sample is None else per_sample
            return _rows.ddim_rows(ac, final, steps, step_ratio, self.config, float(eta), clipped, guidance_scale,
                                   rescale)

        key = (t, step_ratio, final, float(eta), clipped, guidance_scale, rescale)
        rows = build() if per_sample is not None else self._cached_rows(ac, key, build)
        prev, x0 = self._run_step(rows, t, per_sample, clipped, VarianceMode.FIXED, model_output, sample,
                                  model_output_uncond, generator, variance_noise, backend)
        return self._output(prev, x0) if return_dict else (prev, x0)
