"""One reverse-diffusion step on a 64 x 3 x 32 x 32 float32 batch: fastgen's fused DDPM/DDIM
step (`cpu`, `numba`; noise drawn in the kernel) against diffusers' DDPMScheduler.step and
DDIMScheduler.step on torch CPU tensors (noise from torch's generator), in the same run; where a
GPU is found, also fastgen `cuda` on CuPy arrays against diffusers on torch CUDA tensors
(`fastgen-cuda`, `diffusers-cuda`: each step synchronises the device; bench/gpu_run.sh).

fastgen-cpu and fastgen-numba run fastgen.DDPMScheduler / DDIMScheduler.step (the diffusers
drop-ins) on NumPy arrays; fastgen-cpu-torch the same on torch tensors, as a diffusers
pipeline calls it; fastgen-cpu-kernel the bare fused kernel (fastgen._core.diffusion.step with
the step's coefficient row), which shows what the Python layer of the drop-in costs.

extra_info "bytes": what one step must move at least, for the share of the copy bandwidth
(bench/report.py): read model_output and sample, write prev_sample (4 bytes each per element),
and read the noise where the implementation reads it from memory (diffusers draws it into a
tensor first; fastgen draws it in the kernel). pred_original_sample, which both also write, is
not counted.

Run with: python -m pytest bench/test_diffusion_step.py --benchmark-only
(FASTGEN_BENCH_STEP_SHAPE=8,3,32,32 for a quick check). Needs torch and diffusers.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

SHAPE = tuple(int(s) for s in os.environ.get("FASTGEN_BENCH_STEP_SHAPE", "64,3,32,32").split(","))
TIMESTEP = 500
IMPLS = ["fastgen-cpu", "fastgen-cpu-torch", "fastgen-cpu-kernel", "fastgen-numba", "fastgen-cuda", "diffusers",
         "diffusers-cuda"]
SIZE_ID = "x".join(map(str, SHAPE))


def _inputs():
    rng = np.random.default_rng(0)
    return rng.normal(size=SHAPE).astype(np.float32), rng.normal(size=SHAPE).astype(np.float32)


def _fastgen_step(kind, backend, arrays=""):
    import fastgen

    if backend not in fastgen.available_backends():
        pytest.skip(f"backend {backend} not available")
    scheduler = fastgen.DDPMScheduler() if kind == "ddpm" else fastgen.DDIMScheduler()
    scheduler.set_timesteps(50 if kind == "ddim" else 1000)
    t = int(scheduler.timesteps[10])
    m, x = _inputs()
    kw = {} if kind == "ddpm" else {"eta": 1.0}
    if arrays == "torch":
        torch = pytest.importorskip("torch")
        m, x = torch.from_numpy(m), torch.from_numpy(x)
    elif arrays == "kernel":
        return _bare_kernel(scheduler, t, m, x, kw)
    if backend == "cuda":
        import cupy

        m, x = cupy.asarray(m), cupy.asarray(x)

        def step():
            out = scheduler.step(m, t, x, generator=1, backend=backend, **kw).prev_sample
            cupy.cuda.Device().synchronize()
            return out

        return step

    def step():
        return scheduler.step(m, t, x, generator=1, backend=backend, **kw).prev_sample

    return step


def _bare_kernel(scheduler, t, m, x, kw):
    """The fused kernel alone, with the coefficient row the drop-in's step passes it."""
    from fastgen import _core
    from fastgen.diffusion import _rows

    steps = np.array([t])
    rows = scheduler._step_rows(steps, kw["eta"]) if kw else scheduler._step_rows(steps, scheduler._previous_timesteps(steps))
    row, clip = rows[0], int(_rows.clip_mode(scheduler.config))

    def step():
        prev, x0 = np.empty_like(x), np.empty_like(x)
        _core.diffusion.step(row, clip, 0, False, m, None, x, None, prev, x0, 1, t)
        return prev

    return step


def _diffusers_step(kind, device="cpu"):
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no GPU here (torch.cuda.is_available() is False)")
    scheduler = diffusers.DDPMScheduler() if kind == "ddpm" else diffusers.DDIMScheduler()
    scheduler.set_timesteps(50 if kind == "ddim" else 1000)
    t = int(scheduler.timesteps[10])
    m, x = (torch.from_numpy(a).to(device) for a in _inputs())
    generator = torch.Generator(device=device).manual_seed(1)
    kw = {} if kind == "ddpm" else {"eta": 1.0}

    def step():
        out = scheduler.step(m, t, x, generator=generator, **kw).prev_sample
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    return step


def _host(array):
    """A NumPy view of a NumPy, CuPy or torch result."""
    if hasattr(array, "get"):
        return array.get()
    if hasattr(array, "cpu"):
        return array.cpu().numpy()
    return np.asarray(array)


@pytest.mark.parametrize("impl", IMPLS, ids=[f"{i}-{SIZE_ID}" for i in IMPLS])
@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_step(benchmark, kind, impl):
    benchmark.group = f"{kind}-step"
    if impl.startswith("diffusers"):
        step = _diffusers_step(kind, "cuda" if impl.endswith("-cuda") else "cpu")
    else:
        _, backend, *arrays = impl.split("-")
        step = _fastgen_step(kind, backend, *arrays)
    n_elements = int(np.prod(SHAPE))
    arrays_read = 3 if impl.startswith("diffusers") else 2  # model_output, sample (+ the drawn noise tensor)
    benchmark.extra_info.update(impl=impl, bytes=4 * n_elements * (arrays_read + 1), dataset=f"{SIZE_ID} float32")
    step()  # warm-up: Numba JIT, NVRTC, first-call allocations
    result = benchmark.pedantic(step, rounds=50, iterations=5, warmup_rounds=1)
    assert tuple(result.shape) == SHAPE
    assert np.isfinite(_host(result)).all()
