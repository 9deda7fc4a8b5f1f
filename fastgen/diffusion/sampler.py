"""The whole sampling loop: x_T ~ N(0, I), then model call and fused step per timestep.

All per-step coefficients are computed once before the loop (one float64 row per step, a
device array on `cuda`); inside the loop there is no host synchronisation: the model is
called, then one kernel updates x in place. Noise, by `seed`:
- an int (or None: fresh entropy): x_T is draw (seed, call 0, DiffusionStream.INITIAL_NOISE)
  and the step from timestep t draws (seed, call t, DiffusionStream.STEP_NOISE) inside the
  kernel, as `scheduler.step(..., generator=seed)` does, so the loop equals stepping the
  scheduler by hand with that seed;
- a torch.Generator: x_T and every step's noise are drawn from it as diffusers' DDPMPipeline
  and DDIMPipeline draw them (randn_tensor), so the loop gives those pipelines' images
  (before their final (x / 2 + 0.5).clamp(0, 1)) from the same generator.
"""
from __future__ import annotations

import numbers
import sys

import numpy as np

from .. import _backend, _progress
from .._constants import DiffusionStream, StepColumn, VarianceMode
from .._validation import check_count, check_real, check_seed
from . import _ops
from ._fused import FusedDDIM, FusedDDPM


def _torch_dtype(dtype):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(dtype, torch.dtype)


def _is_torch_model(model):
    """An nn.Module, or a method of one (unet.forward)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    return isinstance(model, torch.nn.Module) or isinstance(getattr(model, "__self__", None), torch.nn.Module)


def _model_device(model):
    module = model if not hasattr(model, "__self__") else model.__self__
    try:
        return next(module.parameters()).device.type
    except (AttributeError, StopIteration, TypeError):
        return None


def _output_array(out):
    """A model's prediction: the output itself, its `.sample` (diffusers' UNet outputs), or the
    first element of a tuple (return_dict=False)."""
    if not hasattr(out, "shape") and hasattr(out, "sample"):
        out = out.sample
    elif isinstance(out, (tuple, list)) and out:
        out = out[0]
    return out


def sample(model, shape, scheduler, *, num_inference_steps=None, guidance_scale=None, condition=None, seed=0,
           backend=None, progress=False, eta=0.0, guidance_rescale=0.0, dtype=np.float32, cuda_graph=False,
           client=None):
    """Draw samples of `shape` (batch first) by running `scheduler` over `model`.

    model: `model(x, t)`, or `model(x, t, condition)` when `condition` is given, returning the
        prediction of the scheduler's prediction_type (with variance channels for learned
        variances): an array, an object with `.sample` (a diffusers UNet's output) or a tuple
        whose first element is the prediction. It gets torch tensors (zero-copy views of x)
        when it is a torch.nn.Module or a method of one, when `dtype` is a torch dtype or
        `seed` a torch.Generator; otherwise the backend's arrays (NumPy for cpu/numba, CuPy
        for cuda), and a callable that raises on those on its first call but accepts torch
        tensors gets torch tensors from then on (that first call is repeated).
    scheduler: fastgen.DDPMScheduler / DDIMScheduler (diffusers drop-ins) or
        fastgen.diffusion.DDPMSchedule / DDIMSchedule.
    guidance_scale: classifier-free guidance; the unconditional prediction is
        `model(x, t, None)`, fused into the step with `guidance_rescale`.
    seed: an int, None (fresh entropy) or a torch.Generator (diffusers' draws; see the module).
    dtype: of the result and of the model's input: float32 (default), float64, float16 or
        bfloat16, as a NumPy or torch dtype (a torch dtype gives a torch tensor). The loop
        keeps x in float32 for float16 and bfloat16 and hands the model a copy in `dtype`.
    eta: DDIM's eta. cuda_graph: on `cuda`, capture the loop in a CUDA graph and replay it
        (the model must be capturable: work on the current stream, no host syncs; int seeds).
    client: a distributed.Client (fastgen[dask]): the batch split into one contiguous block of
        samples per worker (at least one each), each worker running this loop on its block
        with its own copy of `model` and `scheduler` (both must pickle) and the rows of a
        `condition` whose first axis is the batch; the blocks come back concatenated. Sample
        i's noise depends on (seed, i) only, so this is the one-process result with the same
        int seed, bit for bit when the model's output for a sample does not depend on its
        batch. Not with a torch.Generator (one sequential stream) or cuda_graph. `progress`
        then shows the blocks done.
    Raises ValueError when a model output has the wrong shape or dtype (before the step
    runs), and as soon as one holds NaN or infinity (on `cuda`: after the loop).
    """
    if not isinstance(scheduler, (FusedDDPM, FusedDDIM)):
        raise TypeError(f"scheduler must be fastgen's DDPMScheduler, DDIMScheduler, DDPMSchedule or DDIMSchedule, "
                        f"got {type(scheduler).__name__}")
    shape = _check_shape(shape)
    _check_loop_options(scheduler, num_inference_steps, guidance_scale, guidance_rescale, eta)
    torch_generator = _ops.is_torch_generator(seed)
    if torch_generator and cuda_graph:
        raise ValueError("cuda_graph needs an int seed: a torch.Generator draws its noise outside the graph")
    if not torch_generator:
        seed = _ops.seed_from_generator(None) if seed is None else check_seed("seed", seed)
    _dtypes(dtype)  # its errors, before the scheduler changes
    if num_inference_steps is not None or scheduler.num_inference_steps is None:
        scheduler.set_timesteps(scheduler.config.num_train_timesteps if num_inference_steps is None
                                else num_inference_steps)
    options = dict(guidance_scale=guidance_scale, condition=condition, backend=backend, eta=eta,
                   guidance_rescale=guidance_rescale, dtype=dtype)
    if client is not None:
        from . import _dask

        return _dask.sample_on_workers(client, sample_rows, model, shape, scheduler, seed, options, progress,
                                       torch_generator, cuda_graph)
    return sample_rows(model, shape, scheduler, seed, options, progress=progress, cuda_graph=cuda_graph)


def sample_rows(model, shape, scheduler, seed, options, first_row=0, progress=False, cuda_graph=False):
    """The loop of `sample` after its checks (scheduler's timesteps set, `seed` an int or a
    torch.Generator; `options` its other keywords), its batch drawing as samples first_row ..
    of a larger batch (one worker's block of `sample(..., client=)`)."""
    guidance_scale, condition, backend = options["guidance_scale"], options["condition"], options["backend"]
    eta, guidance_rescale, dtype = options["eta"], options["guidance_rescale"], options["dtype"]
    torch_generator = _ops.is_torch_generator(seed)
    generator = seed if torch_generator else None
    if torch_generator:
        seed = 0  # the kernels draw nothing
    torch_mode = _is_torch_model(model) or _torch_dtype(dtype) or torch_generator
    on_device = backend == "cuda" or (backend is None and _is_torch_model(model) and _model_device(model) == "cuda")
    backend_kernels = _backend.resolve(backend, on_device=on_device)
    name, xp, kernels = backend_kernels.name, backend_kernels.xp, backend_kernels.diffusion
    out_dtype, compute, model_dtype = _dtypes(dtype)

    timesteps = np.array([int(t) for t in scheduler.timesteps], dtype=np.int64)
    if isinstance(scheduler, FusedDDIM):
        rows = scheduler._step_rows(timesteps, float(eta), False, guidance_scale, guidance_rescale)
    else:
        rows = scheduler._step_rows(timesteps, scheduler._previous_timesteps(timesteps), guidance_scale,
                                    guidance_rescale)
    device_rows = xp.asarray(rows)
    clip_mode = _clip_mode(scheduler)

    size = int(np.prod(shape))
    if torch_generator:
        torch = sys.modules["torch"]
        device = torch.device("cuda") if name == "cuda" else torch.device("cpu")
        first = _ops.randn_tensor(shape, generator, device, _ops.torch_dtype(model_dtype))
        x = xp.ascontiguousarray(_native(first, xp).astype(compute, copy=False))
    else:
        x = backend_kernels.random.normals(size, seed, 0, DiffusionStream.INITIAL_NOISE,
                                           first_row * (size // shape[0])).astype(compute)
        x = x.reshape(shape)
    caller = _ModelCall(model, x, xp, torch_mode, model_dtype, compute)
    finite = xp.ones(1, dtype=xp.int32) if name == "cuda" else None
    conditional = _NO_CONDITION if condition is None and guidance_scale is None else condition
    variance_mode = [None]

    def loop(steps):
        for i, t in steps:
            output = caller(int(t), conditional)
            uncond = caller(int(t), None) if guidance_scale is not None else None
            if variance_mode[0] is None:
                variance_mode[0] = (scheduler._variance_mode(output, x) if isinstance(scheduler, FusedDDPM)
                                    else VarianceMode.FIXED)
            _ops.check_step_shapes(output, x, uncond, None, variance_mode[0] != VarianceMode.FIXED)
            noise = None
            if torch_generator and rows[i, StepColumn.ADD_NOISE] != 0:
                noise = _ops.diffusers_noise(x.shape, generator, caller.last_raw)
                noise = xp.ascontiguousarray(_native(noise, xp).astype(compute, copy=False))
            ok = kernels.step(device_rows[i], clip_mode, variance_mode[0], False, output, uncond, x, noise, x, None,
                              seed, int(t), finite, first_row=first_row)
            if name != "cuda" and not ok:  # x is the step's result by now: only the other inputs can be named
                raise _ops.not_finite_error(f"timestep {int(t)}", model_output=output, model_output_uncond=uncond,
                                            variance_noise=noise)

    steps = _progress.iterate(progress, list(enumerate(timesteps)), "diffusion sampling")
    if cuda_graph and name == "cuda":
        _replay_as_graph(xp, loop, steps)
    else:
        loop(steps)
    if finite is not None and not bool(finite.get()[0]):  # the one synchronisation, after the loop
        raise ValueError("a step's result was not finite: a model output held NaN or infinity, or the schedule "
                         "overflowed")
    return caller.result(x, out_dtype)


_NO_CONDITION = object()


def _check_shape(shape):
    if isinstance(shape, (numbers.Integral, np.integer)):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list)) or not all(
            isinstance(s, (numbers.Integral, np.integer)) and not isinstance(s, (bool, np.bool_)) for s in shape):
        raise TypeError(f"shape must be a tuple of integers (batch first), got {shape!r}")
    if not shape or min(shape) < 1:
        raise ValueError(f"shape must be a non-empty tuple of positive sizes, got {tuple(shape)}")
    return tuple(int(s) for s in shape)


def _check_loop_options(scheduler, num_inference_steps, guidance_scale, guidance_rescale, eta):
    """The loop's options, checked before the model is called once."""
    if num_inference_steps is not None:
        check_count("num_inference_steps", num_inference_steps)
    if guidance_scale is not None:
        check_real("guidance_scale", guidance_scale)
    check_real("guidance_rescale", guidance_rescale, 0.0, 1.0)
    check_real("eta", eta, 0.0)
    if eta != 0 and isinstance(scheduler, FusedDDPM):
        raise ValueError(f"eta is DDIM's: a DDPM scheduler takes none, got eta={eta!r}")


def _clip_mode(scheduler):
    from ._rows import clip_mode

    return clip_mode(scheduler.config)


def _dtypes(dtype):
    """(result dtype as given, the loop's NumPy dtype, the model's input dtype)."""
    if _torch_dtype(dtype):
        torch = sys.modules["torch"]
        if not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")
        return dtype, np.dtype(np.float64 if dtype == torch.float64 else np.float32), dtype
    try:
        np_dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be float32, float64 or float16, got {dtype!r}") from exc
    if np_dtype not in (np.float16, np.float32, np.float64):
        raise TypeError(f"dtype must be float32, float64 or float16, got {np_dtype}")
    return np_dtype, np.dtype(np.float64 if np_dtype == np.float64 else np.float32), np_dtype


def _native(a, xp):
    """A torch tensor, NumPy or CuPy array as the backend's array (half precision tensors as
    float32: DLPack into NumPy refuses bfloat16)."""
    if _ops.is_torch(a):
        torch = sys.modules["torch"]
        a = a.detach()
        if a.dtype not in (torch.float32, torch.float64):
            a = a.float()
        return xp.from_dlpack(a.contiguous())
    return xp.asarray(a)


class _ModelCall:
    """Calls the model on x as torch tensors or as the backend's arrays, and gives its
    prediction back as a C-contiguous backend array in the loop's dtype."""

    def __init__(self, model, x, xp, torch_mode, model_dtype, compute):
        self.model, self.x, self.xp, self.compute = model, x, xp, compute
        self.model_dtype = model_dtype
        self.torch_mode = torch_mode
        self.decided = torch_mode
        self.last_raw = None

    def _torch_input(self):
        import torch

        x = torch.from_dlpack(self.x)  # the model sees x itself (the step updates it in place)
        dtype = _ops.torch_dtype(self.model_dtype)
        return x if x.dtype == dtype else x.to(dtype)

    def _array_input(self):
        dtype = _ops.numpy_dtype(self.model_dtype)
        return self.x if self.x.dtype == dtype else self.x.astype(dtype)

    def _call(self, torch_input, t, cond):
        x = self._torch_input() if torch_input else self._array_input()
        args = (x, t) if cond is _NO_CONDITION else (x, t, cond)
        if torch_input:
            import torch

            with torch.no_grad():
                return _output_array(self.model(*args))
        return _output_array(self.model(*args))

    def __call__(self, t, cond):
        if self.decided:
            out = self._call(self.torch_mode, t, cond)
        else:  # the first call decides: the backend's arrays, or torch tensors if only those work
            try:
                out = self._call(False, t, cond)
            except Exception as first_error:
                if "torch" not in sys.modules and not _torch_installed():
                    raise
                try:
                    out = self._call(True, t, cond)
                except Exception:
                    raise first_error from None
                self.torch_mode = True
            self.decided = True
        self.last_raw = out
        if not hasattr(out, "shape") or not hasattr(out, "dtype"):
            raise ValueError(f"the model must return an array (or an output with .sample), got {type(out).__name__}")
        _ops.check_floats("sample", self.x, model_output=out)
        out = _native(out, self.xp)
        return self.xp.ascontiguousarray(out.astype(self.compute, copy=False))

    def result(self, x, out_dtype):
        if self.torch_mode:
            import torch

            return torch.from_dlpack(x).to(_ops.torch_dtype(out_dtype))
        return x if x.dtype == out_dtype else x.astype(_ops.numpy_dtype(out_dtype))


def _torch_installed():
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _replay_as_graph(cp, loop, steps):
    """Capture the whole loop on a fresh stream as one CUDA graph, then launch it."""
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        stream.begin_capture()
        loop(steps)
        graph = stream.end_capture()
    graph.launch(stream)
    stream.synchronize()
