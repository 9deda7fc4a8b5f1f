"""One reverse-diffusion step on a 64 x 3 x 32 x 32 float32 batch: fastgen's fused DDPM/DDIM
step (`cpu`, `numba`; noise drawn in the kernel) against diffusers' DDPMScheduler.step and
DDIMScheduler.step on torch CPU tensors (noise from torch's generator), in the same run.

Run with: python -m pytest bench/test_diffusion_step.py --benchmark-only
(FASTGEN_BENCH_STEP_SHAPE=8,3,32,32 for a quick check). Needs torch and diffusers.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

SHAPE = tuple(int(s) for s in os.environ.get("FASTGEN_BENCH_STEP_SHAPE", "64,3,32,32").split(","))
TIMESTEP = 500
IMPLS = ["fastgen-cpu", "fastgen-numba", "diffusers"]
SIZE_ID = "x".join(map(str, SHAPE))


def _inputs():
    rng = np.random.default_rng(0)
    return rng.normal(size=SHAPE).astype(np.float32), rng.normal(size=SHAPE).astype(np.float32)


def _fastgen_step(kind, backend):
    import fastgen

    if backend not in fastgen.available_backends():
        pytest.skip(f"backend {backend} not available")
    scheduler = fastgen.DDPMScheduler() if kind == "ddpm" else fastgen.DDIMScheduler()
    scheduler.set_timesteps(50 if kind == "ddim" else 1000)
    t = int(scheduler.timesteps[10])
    m, x = _inputs()
    kw = {} if kind == "ddpm" else {"eta": 1.0}

    def step():
        return scheduler.step(m, t, x, generator=1, backend=backend, **kw).prev_sample

    return step


def _diffusers_step(kind):
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    scheduler = diffusers.DDPMScheduler() if kind == "ddpm" else diffusers.DDIMScheduler()
    scheduler.set_timesteps(50 if kind == "ddim" else 1000)
    t = int(scheduler.timesteps[10])
    m, x = (torch.from_numpy(a) for a in _inputs())
    generator = torch.Generator().manual_seed(1)
    kw = {} if kind == "ddpm" else {"eta": 1.0}

    def step():
        return scheduler.step(m, t, x, generator=generator, **kw).prev_sample

    return step


@pytest.mark.parametrize("impl", IMPLS, ids=[f"{i}-{SIZE_ID}" for i in IMPLS])
@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_step(benchmark, kind, impl):
    benchmark.group = f"{kind}-step"
    step = _diffusers_step(kind) if impl == "diffusers" else _fastgen_step(kind, impl.split("-")[1])
    step()  # warm-up: Numba JIT, first-call allocations
    result = benchmark.pedantic(step, rounds=50, iterations=5, warmup_rounds=1)
    assert tuple(result.shape) == SHAPE
    assert np.isfinite(np.asarray(result)).all()
