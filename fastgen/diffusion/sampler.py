"""The whole sampling loop: x_T ~ N(0, I), then model call and fused step per timestep.

All per-step coefficients are computed once before the loop (one float64 row per step, a
device array on `cuda`); inside the loop there is no host synchronisation: the model is
called, then one kernel updates x in place. Noise: x_T is draw (seed, call 0,
DiffusionStream.INITIAL_NOISE); the step from timestep t draws (seed, call t,
DiffusionStream.STEP_NOISE) as `scheduler.step(..., generator=seed)` does, so the loop
equals stepping the scheduler by hand with that seed.
"""
from __future__ import annotations

import sys

import numpy as np

from .. import _backend
from .._constants import DiffusionStream
from .._validation import check_seed
from .schedulers import DDIMScheduler, DDPMScheduler


def _is_torch_module(model):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def sample(model, shape, scheduler, *, num_inference_steps=None, guidance_scale=None, condition=None, seed=0,
           backend=None, progress=False, eta=0.0, guidance_rescale=0.0, dtype=np.float32, cuda_graph=False):
    """Draw samples of `shape` (batch first) by running `scheduler` over `model`.

    model: `model(x, t)`, or `model(x, t, condition)` when `condition` is given, on the
        backend's arrays (NumPy for `cpu`/`numba`, CuPy for `cuda`), returning the prediction
        of the scheduler's prediction_type (with variance channels for learned variances).
        A torch.nn.Module gets torch tensors (zero-copy views) instead, and the result is a
        torch tensor.
    guidance_scale: classifier-free guidance; the unconditional prediction is
        `model(x, t, None)`, fused into the step with `guidance_rescale`.
    eta: DDIM's eta. cuda_graph: on `cuda`, capture the loop in a CUDA graph and replay it
        (the model must be capturable: CuPy work on the current stream, no host syncs).
    Raises ValueError as soon as a model output holds NaN or infinity (on `cuda`: after the loop).
    """
    if not isinstance(scheduler, (DDPMScheduler, DDIMScheduler)):
        raise TypeError(f"scheduler must be a fastgen DDPMScheduler or DDIMScheduler, got {type(scheduler).__name__}")
    shape = tuple(int(s) for s in shape)
    if not shape or min(shape) < 1:
        raise ValueError(f"shape must be a non-empty tuple of positive sizes, got {shape}")
    seed = check_seed("seed", seed)
    if num_inference_steps is not None or scheduler.num_inference_steps is None:
        scheduler.set_timesteps(num_inference_steps or scheduler.config.num_train_timesteps)
    backend_kernels = _backend.resolve(backend, on_device=backend == "cuda")
    name, xp, kernels = backend_kernels.name, backend_kernels.xp, backend_kernels.diffusion
    timesteps = [int(t) for t in scheduler.timesteps]
    if isinstance(scheduler, DDIMScheduler):
        rows = [scheduler._step_row(t, float(eta), False, guidance_scale, guidance_rescale) for t in timesteps]
    else:
        rows = [scheduler._step_row(t, guidance_scale, guidance_rescale) for t in timesteps]
    rows = xp.asarray(np.stack(rows))
    clip_mode, variance_mode = scheduler._clip_mode(), scheduler._variance_mode()
    size = int(np.prod(shape))
    x = backend_kernels.random.normals(size, seed, 0, DiffusionStream.INITIAL_NOISE).astype(dtype).reshape(shape)
    torch_model = _is_torch_module(model)
    if torch_model:
        import torch

        x_model = torch.from_dlpack(x)  # the model sees x itself: the step updates it in place

        def call_model(t, cond):
            args = (x_model, t) if cond is _NO_CONDITION else (x_model, t, cond)
            with torch.no_grad():
                return xp.from_dlpack(model(*args).detach().contiguous())
    else:
        def call_model(t, cond):
            args = (x, t) if cond is _NO_CONDITION else (x, t, cond)
            return xp.ascontiguousarray(model(*args))

    finite = xp.ones(1, dtype=xp.int32) if name == "cuda" else None
    conditional = _NO_CONDITION if condition is None and guidance_scale is None else condition

    def loop(steps):
        for i, t in steps:
            output = call_model(t, conditional)
            uncond = call_model(t, None) if guidance_scale is not None else None
            ok = kernels.step(rows[i], clip_mode, variance_mode, False, output, uncond, x, None, x, None, seed, t,
                              finite)
            if name != "cuda" and not ok:
                raise ValueError(f"model output contains NaN or infinity at timestep {t}")

    steps = list(enumerate(timesteps))
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, unit="step")
    if cuda_graph and name == "cuda":
        _replay_as_graph(xp, loop, steps)
    else:
        loop(steps)
    if finite is not None and not bool(finite.get()[0]):  # the one synchronisation, after the loop
        raise ValueError("a model output contained NaN or infinity")
    return torch.from_dlpack(x) if torch_model else x


_NO_CONDITION = object()


def _replay_as_graph(cp, loop, steps):
    """Capture the whole loop on a fresh stream as one CUDA graph, then launch it."""
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        loop(steps)
        graph = stream.end_capture()
    graph.launch(stream)
    stream.synchronize()
