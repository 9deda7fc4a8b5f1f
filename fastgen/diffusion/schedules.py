"""fastgen's own DDPM and DDIM schedules, with no diffusers: noise schedules and timestep
spacings as diffusers defines them, computed in float64, and the fused step, add_noise and
get_velocity of fastgen/diffusion/_fused.py on NumPy, CuPy or torch arrays.

`DDPMSchedule` and `DDIMSchedule` take diffusers' constructor parameters and keep its
attribute names (`config`, `betas`, `alphas`, `alphas_cumprod`, `timesteps`, ...), as
float64 NumPy arrays. They are what `fastgen.sample` and the step kernels need where
diffusers is not installed; with diffusers, `fastgen.DDPMScheduler` and
`fastgen.DDIMScheduler` (schedulers.py) are the drop-ins for pipelines.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._validation import check_count
from ._fused import FusedDDIM, FusedDDPM

BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid")
TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")


def _cosine_betas(num_train_timesteps, max_beta=0.999):
    """squaredcos_cap_v2 (Nichol & Dhariwal): 1 - alpha_bar(t+1) / alpha_bar(t), capped at max_beta."""
    def alpha_bar(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    t = np.arange(num_train_timesteps, dtype=np.float64)
    ratio = np.array([alpha_bar((i + 1) / num_train_timesteps) / alpha_bar(i / num_train_timesteps) for i in t])
    return np.minimum(1.0 - ratio, max_beta)


def rescale_zero_terminal_snr(betas):
    """Shift and scale sqrt(alphas_cumprod) so that the last one is 0 and the first unchanged
    (Lin et al. 2023, algorithm 1)."""
    root = np.sqrt(np.cumprod(1.0 - betas))
    first, last = root[0], root[-1]
    root = (root - last) * (first / (first - last))
    alphas_cumprod = root**2
    alphas = np.concatenate([alphas_cumprod[:1], alphas_cumprod[1:] / alphas_cumprod[:-1]])
    return 1.0 - alphas


def make_betas(num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, rescale_betas_zero_snr):
    """The float64 betas of a schedule, as diffusers computes them in float32 (`trained_betas`
    of any length are taken as they are, as diffusers takes them)."""
    if trained_betas is not None:
        betas = np.array(trained_betas, dtype=np.float64).reshape(-1)
    elif beta_schedule == "linear":
        betas = np.linspace(beta_start, beta_end, num_train_timesteps, dtype=np.float64)
    elif beta_schedule == "scaled_linear":
        betas = np.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=np.float64) ** 2
    elif beta_schedule == "squaredcos_cap_v2":
        betas = _cosine_betas(num_train_timesteps)
    elif beta_schedule == "sigmoid":  # GeoDiff
        x = np.linspace(-6.0, 6.0, num_train_timesteps, dtype=np.float64)
        betas = 1.0 / (1.0 + np.exp(-x)) * (beta_end - beta_start) + beta_start
    else:
        raise ValueError(f"beta_schedule must be one of {', '.join(BETA_SCHEDULES)}, got {beta_schedule!r}")
    if not np.isfinite(betas).all():
        given = ("trained_betas" if trained_betas is not None
                 else f"beta_start={beta_start!r} and beta_end={beta_end!r} ({beta_schedule})")
        raise ValueError(f"{given} must give finite betas; some are NaN or infinity")
    if rescale_betas_zero_snr:
        betas = rescale_zero_terminal_snr(betas)
    return betas


def make_timesteps(num_train_timesteps, num_inference_steps, spacing, steps_offset):
    """The descending int64 timesteps of `num_inference_steps` steps, spaced as diffusers does."""
    n = check_count("num_inference_steps", num_inference_steps)
    if n > num_train_timesteps:
        raise ValueError(f"num_inference_steps={n} cannot be larger than num_train_timesteps={num_train_timesteps}")
    if spacing == "linspace":
        timesteps = np.linspace(0, num_train_timesteps - 1, n).round()[::-1].astype(np.int64)
    elif spacing == "leading":
        timesteps = (np.arange(0, n) * (num_train_timesteps // n)).round()[::-1].astype(np.int64) + steps_offset
    elif spacing == "trailing":
        timesteps = np.round(np.arange(num_train_timesteps, 0, -num_train_timesteps / n)).astype(np.int64) - 1
    else:
        raise ValueError(f"timestep_spacing must be one of {', '.join(TIMESTEP_SPACINGS)}, got {spacing!r}")
    return np.ascontiguousarray(timesteps)


def check_custom_timesteps(timesteps, num_train_timesteps):
    """diffusers' checks of DDPMScheduler.set_timesteps(timesteps=...): strictly descending, from
    below num_train_timesteps."""
    timesteps = np.asarray(timesteps, dtype=np.int64).reshape(-1)
    if timesteps.size == 0:
        raise ValueError("timesteps must hold at least one timestep")
    if np.any(np.diff(timesteps) >= 0):
        raise ValueError("`custom_timesteps` must be in descending order.")
    if timesteps[0] >= num_train_timesteps:
        raise ValueError(f"`timesteps` must start before `self.config.train_timesteps`: {num_train_timesteps}.")
    if timesteps[-1] < 0:
        raise ValueError(f"timesteps must be >= 0, got {timesteps[-1]}")
    return np.ascontiguousarray(timesteps)


class Config(dict):
    """A schedule's configuration: a read-only dict whose keys are also attributes
    (`config["beta_end"]`, `config.beta_end`), like diffusers' FrozenDict."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no {name!r}") from None

    def _readonly(self, *args, **kwargs):
        raise TypeError("a schedule's config is read-only: make a new schedule")

    __setitem__ = __delitem__ = update = pop = popitem = setdefault = clear = _readonly

    def __reduce__(self):
        # pickle would fill a dict subclass item by item through the refused __setitem__
        # (a schedule goes to Dask workers pickled: sample(..., client=))
        return (Config, (dict(self),))


class SchedulerOutput(NamedTuple):
    """`prev_sample` (x_{t-1}) and `pred_original_sample` (x0): by name, by key
    (`out["prev_sample"]`, `out.values()`, as diffusers' outputs) or as a tuple."""

    prev_sample: object
    pred_original_sample: object

    def __getitem__(self, key):
        return getattr(self, key) if isinstance(key, str) else tuple.__getitem__(self, key)

    def keys(self):
        return self._fields

    def values(self):
        return tuple(self)

    def items(self):
        return tuple(zip(self._fields, self))

    def to_tuple(self):
        return tuple(self)


class _Schedule:
    order = 1
    init_noise_sigma = 1.0

    def _init_schedule(self, config):
        self.config = Config(config)
        check_count("num_train_timesteps", config["num_train_timesteps"])
        self.betas = make_betas(config["num_train_timesteps"], config["beta_start"], config["beta_end"],
                                config["beta_schedule"], config["trained_betas"], config["rescale_betas_zero_snr"])
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.num_inference_steps = None
        self.timesteps = np.arange(config["num_train_timesteps"] - 1, -1, -1, dtype=np.int64)

    def _alphas_cumprod64(self):
        return self.alphas_cumprod

    def _output(self, prev, x0):
        return SchedulerOutput(prev, x0)

    def scale_model_input(self, sample, timestep=None):
        return sample

    def __len__(self):
        return self.config.num_train_timesteps

    def _spaced(self, num_inference_steps):
        c = self.config
        return make_timesteps(c.num_train_timesteps, num_inference_steps, c.timestep_spacing, c.steps_offset)


_DIFFERENCES = """
    How it differs from diffusers' class (beyond what fastgen.{name} changes, which holds
    here too: float64 coefficients, Philox noise without a torch generator, float16/bfloat16
    computed in float32, per-sample timesteps, fused guidance, errors before any kernel):
    - no ConfigMixin / SchedulerMixin: `config` is a read-only dict (keys are attributes too)
      with no save_pretrained, from_pretrained or from_config, and no pipeline takes it;
    - `betas`, `alphas`, `alphas_cumprod` are float64 NumPy arrays, `timesteps` int64 NumPy;
    - the step's output is a SchedulerOutput named tuple (by name, by key, or unpacked as
      (prev_sample, pred_original_sample));
    - an unknown beta_schedule is a ValueError (diffusers: NotImplementedError); `laplace`
      is not computed here.
    """


class DDPMSchedule(FusedDDPM, _Schedule):
    __doc__ = """Denoising diffusion probabilistic models (Ho et al. 2020): diffusers' DDPMScheduler
    without diffusers, on NumPy, CuPy or torch arrays, with a float64 schedule and the fused
    step, add_noise and get_velocity. `fixed_large_log` gives sigma = sqrt(beta_t), where
    diffusers returns NaN.
    """ + _DIFFERENCES.format(name="DDPMScheduler")

    def __init__(self, num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                 trained_betas=None, variance_type="fixed_small", clip_sample=True, prediction_type="epsilon",
                 thresholding=False, dynamic_thresholding_ratio=0.995, clip_sample_range=1.0, sample_max_value=1.0,
                 timestep_spacing="leading", steps_offset=0, rescale_betas_zero_snr=False):
        config = dict(locals())
        del config["self"]
        self._init_schedule(config)
        self.variance_type = variance_type
        self.custom_timesteps = False

    def set_timesteps(self, num_inference_steps=None, device=None, timesteps=None):
        """The timesteps of `num_inference_steps` steps spaced by `timestep_spacing`, or custom
        `timesteps` (descending); `device` is accepted for diffusers' signature."""
        if num_inference_steps is not None and timesteps is not None:
            raise ValueError("Can only pass one of `num_inference_steps` or `custom_timesteps`.")
        if timesteps is not None:
            self.timesteps = check_custom_timesteps(timesteps, self.config.num_train_timesteps)
            self.custom_timesteps = True
        else:
            self.timesteps = self._spaced(num_inference_steps)
            self.num_inference_steps = int(num_inference_steps)
            self.custom_timesteps = False

    def previous_timestep(self, timestep):
        return int(self._previous_timesteps(np.array([int(timestep)]))[0])

    def _previous_timesteps(self, t):
        if not (self.custom_timesteps or self.num_inference_steps):
            return t - 1
        cache = self.__dict__.get("_previous_cache")
        if cache is None or cache["timesteps"] is not self.timesteps:
            cache = self._previous_cache = {"timesteps": self.timesteps}
        return previous_in_schedule(self.timesteps, t, cache)


def previous_in_schedule(timesteps, t, cache=None):
    """For each of `t`, the timestep after it in the descending `timesteps` (-1 after the last).
    `cache`: a dict kept by the caller for these timesteps (their lookup table is built once)."""
    table = None if cache is None else cache.get("table")
    if table is None:
        timesteps = np.asarray(timesteps, dtype=np.int64)
        following = np.append(timesteps[1:], -1).tolist()
        table = {}
        for s, p in zip(timesteps.tolist(), following):
            table.setdefault(s, p)  # the first occurrence, as diffusers
        if cache is not None:
            cache["table"] = table
    out = np.empty(len(t), dtype=np.int64)
    for i, value in enumerate(t.tolist()):
        if value not in table:
            ordered = sorted(table, reverse=True)
            raise ValueError(f"timestep {value} is not in the schedule (set_timesteps gave {len(ordered)} timesteps "
                             f"from {ordered[0]} to {ordered[-1]})")
        out[i] = table[value]
    return out


class DDIMSchedule(FusedDDIM, _Schedule):
    __doc__ = """Denoising diffusion implicit models (Song et al. 2021): diffusers' DDIMScheduler
    without diffusers, on NumPy, CuPy or torch arrays, with a float64 schedule and the fused
    step, add_noise and get_velocity. `final_alpha_cumprod` is a float.
    """ + _DIFFERENCES.format(name="DDIMScheduler")

    def __init__(self, num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                 trained_betas=None, clip_sample=True, set_alpha_to_one=True, steps_offset=0,
                 prediction_type="epsilon", thresholding=False, dynamic_thresholding_ratio=0.995,
                 clip_sample_range=1.0, sample_max_value=1.0, timestep_spacing="leading",
                 rescale_betas_zero_snr=False):
        config = dict(locals())
        del config["self"]
        self._init_schedule(config)
        self.final_alpha_cumprod = 1.0 if set_alpha_to_one else float(self.alphas_cumprod[0])

    def _final_alpha_cumprod64(self):
        return self.final_alpha_cumprod

    def set_timesteps(self, num_inference_steps, device=None):
        """The timesteps of `num_inference_steps` steps spaced by `timestep_spacing` (`device`
        is accepted for diffusers' signature)."""
        self.timesteps = self._spaced(num_inference_steps)
        self.num_inference_steps = int(num_inference_steps)
