"""The fused step above its parallel threshold (fastgen._constants.PARALLEL_STEP: samples are
shared among threads there): one result on every CPU backend and thread count, the drawn noise
exactly the documented Philox normals at every element (samples whose size is no multiple of 4
start mid Philox block), and the step equal to its float64 reference."""
import numpy as np
import pytest

from fastgen import _backend
from fastgen._constants import N_STEP_COLUMNS, PARALLEL_STEP, ClipMode, DiffusionStream, StepColumn, VarianceMode
from fastgen.diffusion import DDIMSchedule, DDPMSchedule

SHAPE = (24, 3, 31, 37)  # 3441 elements a sample, odd; 82,584 in all
SEED = 2**40 + 5


def _inputs(dtype):
    rng = np.random.default_rng(3)
    return tuple(rng.normal(size=SHAPE).astype(dtype) for _ in range(2))


def _on_threads(backend, n_threads, run):
    with _backend.kernels(backend).threads(n_threads):
        return run()


def _ddpm(m, x, backend):
    return DDPMSchedule().step(m, 640, x, generator=SEED, backend=backend)


def _ddim(m, x, backend):
    s = DDIMSchedule()
    s.set_timesteps(50)
    return s.step(m, 641, x, eta=1.0, generator=SEED, backend=backend)


def test_the_shape_is_above_the_parallel_threshold():
    assert int(np.prod(SHAPE)) >= PARALLEL_STEP and SHAPE[0] >= 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("step", [_ddpm, _ddim], ids=["ddpm", "ddim-eta1"])
def test_every_cpu_backend_and_thread_count_gives_the_same_step(cpu_backends, step, dtype):
    m, x = _inputs(dtype)
    results = []
    for name in cpu_backends:
        results.append(_on_threads(name, 1, lambda: step(m, x, name)))
        results.append(step(m, x, name))
    for out in results[1:]:
        assert np.array_equal(out.prev_sample, results[0].prev_sample)
        assert np.array_equal(out.pred_original_sample, results[0].pred_original_sample)


def _noise_only_row():
    """Step coefficients whose step returns its noise: zero mean coefficients, sigma 1."""
    row = np.zeros(N_STEP_COLUMNS)
    row[StepColumn.X0_SCALE] = 1.0
    row[StepColumn.CLIP_RANGE] = np.inf
    row[StepColumn.SIGMA] = 1.0
    row[StepColumn.ADD_NOISE] = 1.0
    # read-only, as a schedule's cached rows are: Numba types a read-only array apart, and this
    # way the test reuses the parallel step the tests above compile instead of compiling another
    row.flags.writeable = False
    return row


def test_the_drawn_noise_is_the_philox_normal_of_each_element(cpu_backend):
    """A step with zero mean coefficients and sigma 1 returns its noise: every element is the
    normal of the documented layout at its flat index, on one thread and on all of them."""
    m, x = _inputs(np.float32)
    row = _noise_only_row()
    kernels = _backend.kernels(cpu_backend)
    expected = kernels.random.normals(x.size, SEED, 9, DiffusionStream.STEP_NOISE).reshape(SHAPE)

    def noise():
        prev = np.empty_like(x)
        kernels.diffusion.step(row, ClipMode.NONE, VarianceMode.FIXED, False, m, None, x, None, prev, None, SEED, 9)
        return prev

    assert np.array_equal(noise(), expected)
    assert np.array_equal(_on_threads(cpu_backend, 1, noise), expected)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_ddim_step_matches_the_float64_reference(cpu_backend, dtype, rtol):
    """DDIM with eta = 1 (eps from the model output, clipped x0, drawn noise) against the
    float64 formulas of diffusers' DDIMScheduler.step, given the step's own noise."""
    m, x = _inputs(dtype)
    s = DDIMSchedule()
    s.set_timesteps(50)
    t, prev_t = 641, 621
    a = s.alphas_cumprod[t]
    a_prev = s.alphas_cumprod[prev_t]
    variance = (1 - a_prev) / (1 - a) * (1 - a / a_prev)
    std = np.sqrt(variance)
    z = _backend.kernels(cpu_backend).random.normals(x.size, SEED, t, DiffusionStream.STEP_NOISE).reshape(SHAPE)
    m64, x64 = m.astype(np.float64), x.astype(np.float64)
    x0 = np.clip((x64 - np.sqrt(1 - a) * m64) / np.sqrt(a), -1.0, 1.0)
    expected = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev - std**2) * m64 + std * z.astype(np.float64)
    out = s.step(m, t, x, eta=1.0, generator=SEED, backend=cpu_backend)
    np.testing.assert_allclose(out.prev_sample, expected, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(out.pred_original_sample, x0, rtol=rtol, atol=rtol)


LONG = (3, 3, 61, 47)  # 8601 elements a sample: several chunks on both backends (numba's 4096, cpu's 1024)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["ddpm-threshold", "ddim-eta1"])
def test_samples_of_several_chunks_give_one_step_on_every_backend(cpu_backends, kind, dtype):
    """Chunks start mid Philox block (8601 is no multiple of 4) and the backends cut samples
    into chunks of different sizes: the same bits, and the drawn noise each element's normal."""
    rng = np.random.default_rng(11)
    m, x = (rng.normal(size=LONG).astype(dtype) for _ in range(2))
    if kind == "ddpm-threshold":  # dynamic thresholding: x0 of the whole sample first, in chunks
        def step(name):
            return DDPMSchedule(thresholding=True).step(m, 640, x, generator=SEED, backend=name)
    else:
        def step(name):
            s = DDIMSchedule()
            s.set_timesteps(50)
            return s.step(m, 641, x, eta=1.0, generator=SEED, backend=name)
    results = [step(name) for name in cpu_backends]
    for out in results[1:]:
        assert np.array_equal(out.prev_sample, results[0].prev_sample)
        assert np.array_equal(out.pred_original_sample, results[0].pred_original_sample)
    row = _noise_only_row()
    for name in cpu_backends:
        kernels = _backend.kernels(name)
        prev = np.empty_like(x)
        kernels.diffusion.step(row, ClipMode.NONE, VarianceMode.FIXED, False, m, None, x, None, prev, None, SEED, 9)
        expected = kernels.random.normals(x.size, SEED, 9, DiffusionStream.STEP_NOISE).reshape(LONG)
        assert np.array_equal(prev, expected.astype(dtype))
