"""The kernels' row offsets (`first_row`, `first`): a block of rows drawn alone, told where it
starts, holds exactly the whole batch's rows, bit for bit, whatever the split (uneven blocks,
blocks not starting on a Philox block of four). This is what makes sampling split over Dask
workers the one-process result (tests/dask/test_sample_dask.py)."""
import numpy as np
import pytest

from fastgen import _backend
from fastgen._arrays import host
from fastgen._constants import ClipMode, RbmStream, StepColumn, VarianceMode
from fastgen.diffusion import DDIMSchedule, DDPMSchedule, _rows

SPLITS = [(0, 1), (1, 4), (5, 6), (11, 1)]  # rows [first, first + count) of 12: uneven, unaligned


def _kernels(backend):
    return _backend.resolve(backend, on_device=backend == "cuda")


def _blocks(draw, n_rows=12):
    """The blocks of SPLITS drawn alone, stacked (host arrays)."""
    return np.concatenate([host(draw(first, count)) for first, count in SPLITS])


def test_splits_cover_the_rows_once():
    assert [first for first, _ in SPLITS] == list(np.cumsum([0] + [n for _, n in SPLITS[:-1]]))
    assert sum(n for _, n in SPLITS) == 12


@pytest.mark.parametrize("n_cols", [1, 3, 7])
def test_uniforms_normals_and_coins_of_a_block_are_the_batch_rows(backend, n_cols):
    random = _kernels(backend).random
    for draw in (random.uniforms, random.normals):
        whole = host(draw(12 * n_cols, 7, 3, 1)).reshape(12, n_cols)
        blocks = _blocks(lambda first, count: draw(count * n_cols, 7, 3, 1, first * n_cols).reshape(count, n_cols))
        np.testing.assert_array_equal(blocks, whole)
    for dtype in (np.float32, np.float64):
        whole = host(random.random_binary((12, n_cols), dtype, 7, 3))
        blocks = _blocks(lambda first, count: random.random_binary((count, n_cols), dtype, 7, 3, first))
        np.testing.assert_array_equal(blocks, whole)
        assert 0 < whole.mean() < 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_draws_of_a_block_are_the_batch_rows(backend, dtype):
    kernels = _kernels(backend)
    xp = kernels.xp
    rng = np.random.RandomState(0)
    logits = rng.normal(size=(12, 5)).astype(dtype)
    bias = rng.normal(size=5).astype(dtype)
    states = (rng.rand(12, 9) < 0.1).astype(dtype)
    W = rng.normal(size=(9, 5)).astype(dtype)
    # copies: the kernel writes the probabilities over its logits
    whole, _ = kernels.rbm.bernoulli(xp.array(logits), xp.asarray(bias), 4, 2, RbmStream.HIDDEN)
    blocks = _blocks(lambda first, count: kernels.rbm.bernoulli(xp.array(logits[first:first + count]),
                                                                xp.asarray(bias), 4, 2, RbmStream.HIDDEN, first)[0])
    np.testing.assert_array_equal(blocks, host(whole))
    whole, _ = kernels.rbm.bernoulli_binary(xp.asarray(states), xp.asarray(W), xp.asarray(bias), 4, 2,
                                            RbmStream.VISIBLE)
    blocks = _blocks(lambda first, count: kernels.rbm.bernoulli_binary(
        xp.asarray(states[first:first + count]), xp.asarray(W), xp.asarray(bias), 4, 2, RbmStream.VISIBLE, first)[0])
    np.testing.assert_array_equal(blocks, host(whole))
    assert 0 < host(whole).mean() < 1


@pytest.mark.parametrize("schedule", [DDPMSchedule(clip_sample=False), DDIMSchedule()])
def test_step_noise_of_a_block_is_the_batch_rows(backend, schedule):
    kernels = _kernels(backend)
    xp = kernels.xp
    rng = np.random.default_rng(6)
    m, x = (rng.normal(size=(12, 3, 3)).astype(np.float32) for _ in range(2))
    if isinstance(schedule, DDPMSchedule):
        rows = _rows.ddpm_rows(schedule.alphas_cumprod, np.array([400]), np.array([399]), schedule.config,
                               "fixed_small")
    else:
        schedule.set_timesteps(10)
        rows = schedule._step_rows(np.array([400]), 1.0, False, None, 0.0)  # eta = 1: a noisy DDIM step
    row = xp.asarray(rows[0])
    finite = xp.ones(1, dtype=xp.int32) if kernels.name == "cuda" else None

    def step(first, count):
        prev = xp.empty((count, 3, 3), dtype=xp.float32)
        kernels.diffusion.step(row, ClipMode.NONE, VarianceMode.FIXED, False, xp.asarray(m[first:first + count]),
                               None, xp.asarray(x[first:first + count]), None, prev, None, 9, 400, finite,
                               first_row=first)
        return prev

    whole = host(step(0, 12))
    np.testing.assert_array_equal(_blocks(step), whole)
    noiseless = rows[0].copy()
    noiseless[StepColumn.ADD_NOISE] = 0
    row = xp.asarray(noiseless)  # read by step()
    assert not np.array_equal(host(step(0, 12)), whole)  # the noisy step did draw noise
