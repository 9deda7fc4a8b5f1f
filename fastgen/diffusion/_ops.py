"""The fused ops of the diffusion family on the caller's arrays: the step (one kernel for a
batch, with one coefficient row for it or one per sample) and the per-sample blend behind
add_noise and get_velocity. Shared by fastgen's own schedules (fastgen/diffusion/schedules.py)
and the diffusers drop-ins (fastgen/diffusion/schedulers.py); no diffusers here.

What is settled here, before any kernel runs:
- dtypes: floating arrays only. float32 and float64 run as they are; float16 and bfloat16
  (and mixed dtypes) are converted at the array library's level to float32 (float64 if any
  input is float64), the kernel computes in that dtype, and the results come back in the
  dtype the inputs promote to (torch.promote_types / numpy.result_type), as the same
  arithmetic in torch would give. NumPy has no bfloat16 and DLPack into NumPy refuses it:
  hence the conversion before the arrays cross into the backend. It costs a pass over each
  half-precision input and one over each output (a float16 step moves about 3x the bytes
  of a native one).
- shapes: a model output of the wrong shape or dtype is a ValueError showing both shapes.
- noise: a torch.Generator (or a list of them, one per sample) draws the step's noise as
  diffusers does, with its randn_tensor (so the same generator gives diffusers' noise);
  an int seed, a numpy.random.Generator or None (fresh entropy) give the Philox seed of the
  noise drawn inside the kernel.
"""
from __future__ import annotations

import functools
import numbers
import secrets
import sys

import numpy as np

from .._arrays import Dispatch, on_device

_FLOAT_NAMES = ("float16", "bfloat16", "float32", "float64")
_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _torch():
    return sys.modules.get("torch")


def is_torch(a):
    torch = _torch()
    return torch is not None and isinstance(a, torch.Tensor)


def _describe(a):
    return f"shape {tuple(a.shape)} and dtype {str(a.dtype).replace('torch.', '')}"


def _is_float(a):
    if type(a) is np.ndarray:  # the common case, before the torch test
        return a.dtype.kind == "f"
    if is_torch(a):
        return a.is_floating_point()
    return np.dtype(a.dtype).kind == "f"


def as_array(name, a):
    """`a` itself when it is an array (NumPy, CuPy, torch), else a NumPy array of it."""
    if a is None or hasattr(a, "shape") and hasattr(a, "dtype"):
        return a
    try:
        return np.asarray(a)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}") from exc


def check_floats(first_name, first, /, **arrays):
    """Every given array is floating point, else a ValueError naming it, with its shape and the first's."""
    for name, a in {first_name: first, **arrays}.items():
        if a is not None and not _is_float(a):
            raise ValueError(f"{name} must be a floating-point array ({', '.join(_FLOAT_NAMES)}); got {_describe(a)}"
                             f" for a {first_name} of {_describe(first)}")


def check_step_shapes(model_output, sample, model_output_uncond, variance_noise, learned):
    """The shapes of a step's arrays, checked before any kernel runs."""
    for name, a in (("model_output", model_output), ("sample", sample)):
        if a is None:
            raise TypeError(f"{name} must be an array, got None")
    if len(sample.shape) < 1 or 0 in tuple(sample.shape):  # (a tuple test: np.prod costs microseconds a step)
        raise ValueError(f"sample must be a non-empty array with a batch dimension, got shape {tuple(sample.shape)}")
    check_floats("sample", sample, model_output=model_output, model_output_uncond=model_output_uncond,
                 variance_noise=variance_noise)
    expected = tuple(sample.shape)
    what = ""
    if learned:
        expected = (sample.shape[0], 2 * sample.shape[1]) + tuple(sample.shape[2:])
        what = " (prediction and learned-variance channels)"
    if tuple(model_output.shape) != expected:
        raise ValueError(f"model_output has shape {tuple(model_output.shape)} but sample has shape "
                         f"{tuple(sample.shape)}: expected model_output of shape {expected}{what}")
    if model_output_uncond is not None and tuple(model_output_uncond.shape) != expected:
        raise ValueError(f"model_output_uncond has shape {tuple(model_output_uncond.shape)} but model_output has "
                         f"shape {tuple(model_output.shape)}: they must match")
    if variance_noise is not None and tuple(variance_noise.shape) != tuple(sample.shape):
        raise ValueError(f"variance_noise has shape {tuple(variance_noise.shape)} but sample has shape "
                         f"{tuple(sample.shape)}: they must match")


# ---------------------------------------------------------------- dtypes


def _result_dtype(arrays):
    if any(is_torch(a) for a in arrays):
        torch = _torch()
        dtypes = [a.dtype if is_torch(a) else torch.from_numpy(np.empty(0, a.dtype)).dtype for a in arrays]
        return functools.reduce(torch.promote_types, dtypes)
    return np.result_type(*[a.dtype for a in arrays])


def _compute(dtype):
    """The kernel dtype for results of `dtype`: float64 stays, everything else runs in float32."""
    torch = _torch()
    if torch is not None and isinstance(dtype, torch.dtype):
        return torch.float64 if dtype == torch.float64 else torch.float32
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def torch_dtype(dtype):
    """The torch dtype of a torch or NumPy dtype."""
    import torch

    return dtype if isinstance(dtype, torch.dtype) else torch.from_numpy(np.empty(0, np.dtype(dtype))).dtype


def numpy_dtype(dtype):
    """The NumPy dtype of a NumPy or torch dtype (bfloat16 has none: float32)."""
    torch = _torch()
    if torch is not None and isinstance(dtype, torch.dtype):
        return np.dtype(np.float32) if dtype == torch.bfloat16 else torch.empty(0, dtype=dtype).numpy().dtype
    return np.dtype(dtype)


def _to(a, dtype):
    if is_torch(a):
        return a if a.dtype == dtype else a.to(dtype)
    dtype = numpy_dtype(dtype)
    return a if a.dtype == dtype else a.astype(dtype)


class Operands:
    """The arrays of one op in the kernels' dtype on their backend, and `finish` to give a
    result back as the caller's kind of array in the dtype the inputs promote to."""

    def __init__(self, backend, **arrays):
        given = [a for a in arrays.values() if a is not None]
        first = given[0]
        dtype = first.dtype
        if type(first) is np.ndarray:
            native = dtype in _KERNEL_DTYPES
        else:
            native = is_torch(first) and dtype in (_torch().float32, _torch().float64)
        if native and all(type(a) is type(first) and a.dtype == dtype for a in given):
            self.dtype, converted = dtype, arrays  # the common cases (NumPy or torch in one kernel dtype), as they are
        else:
            self.dtype = _result_dtype(given)
            compute = _compute(self.dtype)
            converted = {name: None if a is None else _to(a, compute) for name, a in arrays.items()}
        self.call = Dispatch(backend, **converted)
        xp = self.call.kernels.xp
        self.arrays = [None if a is None else xp.ascontiguousarray(a) for a in self.call.arrays]
        self.kernels = self.call.kernels
        self.backend = self.call.backend

    def finish(self, result):
        result = self.call.wrap(result)
        return result if result.dtype == self.dtype else _to(result, self.dtype)


# ---------------------------------------------------------------- noise


def is_torch_generator(generator):
    """A torch.Generator, or a non-empty list (or tuple) of them (one per sample)."""
    torch = _torch()
    if torch is None:
        return False
    if isinstance(generator, (list, tuple)):
        return len(generator) > 0 and all(isinstance(g, torch.Generator) for g in generator)
    return isinstance(generator, torch.Generator)


def _randn_tensor():
    """diffusers' randn_tensor where diffusers is installed, else the same draws written here."""
    try:
        from diffusers.utils.torch_utils import randn_tensor
    except ImportError:  # diffusers' helper, for fastgen's own schedules without diffusers
        import torch

        def randn_tensor(shape, generator=None, device=None, dtype=None):  # type: ignore[misc]  # a stand-in
            device = torch.device(device) if device is not None else torch.device("cpu")
            rand_device = device
            if isinstance(generator, (list, tuple)) and len(generator) == 1:
                generator = generator[0]
            first = generator[0] if isinstance(generator, (list, tuple)) else generator
            if first is not None and first.device.type != device.type and first.device.type == "cpu":
                rand_device = torch.device("cpu")
            if isinstance(generator, (list, tuple)):
                one = (1,) + tuple(shape[1:])
                return torch.cat([torch.randn(one, generator=g, device=rand_device, dtype=dtype)
                                  for g in generator[: shape[0]]], dim=0).to(device)
            return torch.randn(tuple(shape), generator=generator, device=rand_device, dtype=dtype).to(device)
    return randn_tensor


def randn_tensor(shape, generator, device, dtype):
    """diffusers' randn_tensor(shape, generator=generator, device=device, dtype=dtype)."""
    return _randn_tensor()(tuple(shape), generator=generator, device=device, dtype=dtype)


def diffusers_noise(shape, generator, like):
    """Standard normals of `shape` drawn as diffusers' schedulers draw them:
    randn_tensor(shape, generator=generator, device=like.device, dtype=like.dtype), returned
    as `like`'s kind of array (a NumPy or CuPy `like` gets torch's draw in its dtype)."""
    import torch

    if isinstance(generator, (list, tuple)) and len(generator) not in (1, shape[0]):
        raise ValueError(f"a list of generators needs one per sample: got {len(generator)} for a batch of {shape[0]}")
    if is_torch(like):
        return _randn_tensor()(tuple(shape), generator=generator, device=like.device, dtype=like.dtype)
    dtype = torch.from_numpy(np.empty(0, like.dtype)).dtype
    device = torch.device("cuda", like.device.id) if on_device(like) else torch.device("cpu")
    noise = _randn_tensor()(tuple(shape), generator=generator, device=device, dtype=dtype)
    if on_device(like):
        import cupy

        return cupy.from_dlpack(noise)
    return noise.numpy()


def seed_from_generator(generator):
    """The 64-bit Philox seed of in-kernel noise from `generator`: an int (itself), a
    numpy.random.Generator (one draw from it), or None (fresh entropy). A torch.Generator
    is not a seed: it draws diffusers' noise (diffusers_noise)."""
    if type(generator) is int and 0 <= generator < 2**64:  # the common case, before the numbers ABCs
        return generator
    if generator is None:  # fresh entropy from the OS (as SeedSequence's, without its 128-bit pool: 7x faster)
        return secrets.randbits(64)
    if isinstance(generator, (bool, np.bool_)):
        raise TypeError("generator must be an int seed, a numpy.random.Generator or a torch.Generator, got a bool")
    if isinstance(generator, (numbers.Integral, np.integer)):
        if not 0 <= int(generator) < 2**64:
            raise ValueError(f"generator must be a seed in [0, 2**64), got {generator}")
        return int(generator)
    if isinstance(generator, np.random.Generator):
        return int(generator.integers(0, 2**63))
    raise TypeError(f"generator must be an int seed, a numpy.random.Generator, a torch.Generator or a list of "
                    f"torch.Generator, got {type(generator).__name__}")


# ---------------------------------------------------------------- timesteps


def timesteps_of(timestep, batch, n_timesteps):
    """A step's timestep as (t, None) for one timestep, or (None, int64 array of `batch`) for
    one per sample; each in [0, n_timesteps). A 0-d or one-element tensor is one timestep
    (read from a GPU with a synchronisation)."""
    if type(timestep) is int:  # the common case, before the tests against the numbers ABCs
        return _in_range(timestep, n_timesteps), None
    if isinstance(timestep, (bool, np.bool_)):
        raise ValueError(f"timestep must be an integer, got {timestep!r}")
    if isinstance(timestep, (numbers.Integral, np.integer)):
        return _in_range(int(timestep), n_timesteps), None
    if isinstance(timestep, numbers.Real):
        values = np.asarray([timestep])
    else:
        if is_torch(timestep):
            timestep = timestep.detach().cpu()
        elif on_device(timestep):
            timestep = timestep.get()
        try:
            values = np.asarray(timestep)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"timestep must be an integer or a 1-D array of integers, got {timestep!r}") from exc
        if values.ndim > 1 or values.size not in (1, batch):
            raise ValueError(f"timestep must be one integer or a 1-D array of one per sample ({batch}), got shape "
                             f"{values.shape}")
    if values.dtype.kind not in "iuf" or values.size == 0 or not np.all(values == np.round(values)):
        raise ValueError(f"timestep must hold integers, got {values!r}")
    values = values.astype(np.int64).reshape(-1)
    for t in (values.min(), values.max()):
        _in_range(int(t), n_timesteps)
    if values.size == 1:
        return int(values[0]), None
    return None, values


def is_scalar_timestep(timestep):
    """One timestep (an int, or a 0-d / one-element array), as diffusers takes it."""
    return isinstance(timestep, (numbers.Integral, np.integer)) or int(np.prod(getattr(timestep, "shape", ()))) == 1


def _in_range(t, n_timesteps):
    if not 0 <= t < n_timesteps:
        raise ValueError(f"timestep {t} is outside the schedule's {n_timesteps} timesteps [0, {n_timesteps})")
    return t


def coefficient_rows(values, batch, name):
    """Per-sample coefficients broadcast as diffusers broadcasts alphas_cumprod[timesteps]: one
    value for every sample, or one per sample."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 1:
        return np.full(batch, values[0])
    if values.size != batch:
        raise ValueError(f"{name} has {values.size} timesteps for {batch} samples: give one, or one per sample")
    return values


# ---------------------------------------------------------------- the ops


def step(rows, calls, call, clip_mode, variance_mode, eps_from_clipped, model_output, sample, model_output_uncond,
         variance_noise, seed, backend):
    """One fused step on the caller's arrays: (prev_sample, pred_original_sample) as the
    caller's arrays. `rows` is one row (1, N) or one per sample (batch, N); `calls` None or
    the per-sample Philox calls. Shapes are checked by the caller (check_step_shapes)."""
    ops = Operands(backend, model_output=model_output, sample=sample, model_output_uncond=model_output_uncond,
                   variance_noise=variance_noise)
    output, x, uncond, noise = ops.arrays
    xp = ops.kernels.xp
    prev = xp.empty_like(x)
    x0 = xp.empty_like(x)
    kernels = ops.kernels.diffusion
    rows = rows[0] if rows.shape[0] == 1 else rows
    if ops.backend == "cuda":
        finite = xp.ones(1, dtype=xp.int32)  # no host sync: non-finite outputs are not reported here
        kernels.step(xp.asarray(rows), clip_mode, variance_mode, eps_from_clipped, output, uncond, x, noise, prev,
                     x0, seed, call, finite, None if calls is None else xp.asarray(calls))
    elif not kernels.step(rows, clip_mode, variance_mode, eps_from_clipped, output, uncond, x, noise, prev, x0, seed,
                          call, None, calls):
        at = f"timestep {call}" if calls is None else "the per-sample timesteps"
        raise not_finite_error(at, model_output=output, model_output_uncond=uncond, sample=x, variance_noise=noise)
    return ops.finish(prev), ops.finish(x0)


def not_finite_error(at, **inputs):
    """The ValueError for a step whose result is not finite (NumPy inputs): it names the first
    input holding NaN or infinity, or, when all are finite, the schedule that overflowed."""
    for name, a in inputs.items():
        if a is not None and not np.isfinite(a).all():
            return ValueError(f"{name} contains NaN or infinity ({at})")
    return ValueError(f"the step's result is not finite ({at}) although its inputs are: its coefficients or the "
                      f"inputs' scale overflow (an alphas_cumprod of 0, as rescale_betas_zero_snr gives at the last "
                      f"timestep, divides by 0 for prediction_type 'epsilon': use 'v_prediction' or clip_sample; "
                      f"else check beta_start, beta_end, trained_betas, eta and guidance_scale)")


def scaled_sum(a, x, c, y, backend, names=("x", "y")):
    """a[b] x + c[b] y per sample b, on the caller's arrays (add_noise, get_velocity); `a` and
    `c` float64 per sample (already broadcast to the batch); `y` of another shape is
    broadcast to x's first, as torch would."""
    x, y = as_array(names[0], x), as_array(names[1], y)
    check_floats(names[0], x, **{names[1]: y})
    if tuple(y.shape) != tuple(x.shape):
        y = _broadcast(y, x, names)
    ops = Operands(backend, x=x, y=y)
    x_native, y_native = ops.arrays
    xp = ops.kernels.xp
    out = xp.empty_like(x_native)
    if ops.backend == "cuda":
        a, c = xp.asarray(a), xp.asarray(c)
    ops.kernels.diffusion.scaled_sum(a, x_native, c, y_native, out)
    return ops.finish(out)


def _broadcast(y, x, names):
    try:
        if is_torch(y):
            return y.broadcast_to(tuple(x.shape))
        xp = sys.modules["cupy"] if on_device(y) else np
        return xp.broadcast_to(y, tuple(x.shape))
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"{names[1]} has shape {tuple(y.shape)} but {names[0]} has shape {tuple(x.shape)}: they "
                         f"must match") from exc
