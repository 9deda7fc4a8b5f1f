"""fastgen.random: the Philox draws as a public API, the same numbers on every backend, for
any thread count, in float32 and float64, against the documented layout."""
import math

import numpy as np
import pytest
from scipy import stats

import fastgen
from fastgen import _backend, rbm
from fastgen._arrays import host
from fastgen._constants import RbmStream
from fastgen.random import _numba as numba_random

MASK32 = 2**32 - 1


def layout_uniform(seed, counter, stream, i):
    """Element i's uniform from the layout of csrc/include/fastgen/random.h, as an exact float64."""
    words = numba_random.philox_block(np.uint64(seed), np.uint64(counter), np.uint64(stream), np.uint64(i // 4))
    return ((int(words[i % 4]) >> 9) + 0.5) * 2.0**-23


def layout_normal(seed, counter, stream, i):
    """Element i's normal by Box-Muller on the uniforms of its pair, in float64 (the kernels' float32
    polynomials agree to a few float32 ulps)."""
    first = i - i % 2
    radius, angle = (layout_uniform(seed, counter, stream, first + k) for k in (0, 1))
    r = math.sqrt(-2.0 * math.log(radius))
    return r * (math.cos if i % 2 == 0 else math.sin)(2.0 * math.pi * angle)


@pytest.mark.parametrize("seed, counter, stream", [(0, 0, 0), (2**64 - 1, 2**32 - 1, 7), (12345, 3, RbmStream.SWAP)])
def test_uniform_follows_the_documented_layout(backend, seed, counter, stream):
    u = host(fastgen.random.uniform((3, 7), seed, counter, stream=stream, backend=backend))
    assert u.shape == (3, 7) and u.dtype == np.float32
    expected = [layout_uniform(seed, counter, stream, i) for i in range(21)]
    np.testing.assert_array_equal(u.ravel().astype(np.float64), expected)


def test_normal_follows_the_documented_layout(backend):
    z = host(fastgen.random.normal(101, seed=99, counter=5, stream=1, backend=backend))
    expected = np.array([layout_normal(99, 5, 1, i) for i in range(101)])
    assert z.dtype == np.float32
    assert np.all(np.abs(z - expected) <= 4e-6 * np.maximum(1, np.abs(expected)))


@pytest.mark.parametrize("draw", ["uniform", "normal"])
def test_float64_holds_the_float32_values(backend, draw):
    f32 = host(getattr(fastgen.random, draw)((4, 5), 7, 8, backend=backend))
    f64 = host(getattr(fastgen.random, draw)((4, 5), 7, 8, dtype=np.float64, backend=backend))
    assert f64.dtype == np.float64
    np.testing.assert_array_equal(f64, f32.astype(np.float64))


@pytest.mark.parametrize("draw", ["uniform", "normal"])
def test_every_cpu_backend_and_thread_count_gives_the_same_numbers(cpu_backends, draw):
    """Above the kernels' parallel thresholds (4,194,304 uniforms, 1,048,576 normals), with one
    thread and with all of them, on every CPU backend: one result."""
    n = 4_200_003 if draw == "uniform" else 1_100_001
    results = []
    for name in cpu_backends:
        with _backend.kernels(name).threads(1):
            results.append(getattr(fastgen.random, draw)(n, 2**40 + 3, 17, stream=2, backend=name))
        results.append(getattr(fastgen.random, draw)(n, 2**40 + 3, 17, stream=2, backend=name))
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


def test_slices_of_a_draw_are_the_draw_of_their_elements(backend):
    """A draw is a pure function of the element index: a longer draw extends a shorter one."""
    short = host(fastgen.random.normal(1001, 5, 6, backend=backend))
    long = host(fastgen.random.normal(5000, 5, 6, backend=backend))
    np.testing.assert_array_equal(long[:1001], short)


def test_seed_counter_and_stream_each_change_the_draw(backend):
    base = host(fastgen.random.uniform(64, 1, 2, stream=3, backend=backend))
    for seed, counter, stream in [(2, 2, 3), (1, 3, 3), (1, 2, 4), (1 + 2**32, 2, 3)]:
        assert not np.array_equal(base, host(fastgen.random.uniform(64, seed, counter, stream=stream, backend=backend)))


def test_distributions(backend):
    """Kolmogorov-Smirnov against U(0, 1) and N(0, 1) on 200,000 draws (fixed seeds: p-values of
    this seed, far from any threshold: a broken transform gives p ~ 0)."""
    u = host(fastgen.random.uniform(200_000, 2024, 1, backend=backend)).astype(np.float64)
    z = host(fastgen.random.normal(200_000, 2024, 1, backend=backend)).astype(np.float64)
    assert 0.0 < u.min() and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 / math.sqrt(z.size) and abs(z.var() - 1) < 5 * math.sqrt(2 / z.size)


def test_reproduces_the_draws_of_fastgens_kernels(backend):
    """The hidden units of rbm.sample_hidden with counter n are Bernoulli draws made with the
    uniforms of (seed, n, RbmStream.HIDDEN): state = u < p."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 5)).astype(np.float32)
    v = (rng.random((4, 6)) < 0.5).astype(np.float32)
    h, p = rbm.sample_hidden(v, W, np.zeros(5, np.float32), seed=11, counter=4, backend=backend)
    u = host(fastgen.random.uniform(h.shape, 11, 4, stream=RbmStream.HIDDEN, backend=backend))
    np.testing.assert_array_equal(h, (u < p).astype(np.float32))


def test_shapes(backend):
    assert fastgen.random.uniform(5, 0, backend=backend).shape == (5,)
    assert fastgen.random.uniform((), 0, backend=backend).shape == ()
    assert fastgen.random.normal((2, 0, 3), 0, backend=backend).shape == (2, 0, 3)
    assert fastgen.random.uniform(np.int64(3), 0, backend=backend).shape == (3,)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(shape=(2, -1)), ValueError, "shape must hold sizes >= 0"),
    (dict(shape=(2.5,)), TypeError, "shape must be an int or a tuple of ints"),
    (dict(shape="ab"), TypeError, "shape must be an int or a tuple of ints"),
    (dict(shape=(True,)), TypeError, "shape must be an int"),
    (dict(seed=-1), ValueError, r"seed must be an integer in \[0, 2\*\*64\)"),
    (dict(seed=2**64), ValueError, "seed"),
    (dict(seed=1.0), TypeError, "seed"),
    (dict(counter=2**32), ValueError, "counter"),
    (dict(counter=None), TypeError, "counter"),
    (dict(stream=-1), ValueError, "stream"),
    (dict(dtype=np.int32), TypeError, "dtype must be float32 or float64"),
    (dict(dtype="float16"), TypeError, "dtype must be float32 or float64"),
    (dict(backend="tpu"), ValueError, "backend='tpu' is not an available backend"),
    (dict(backend=1), TypeError, "backend must be a backend name"),
])
def test_bad_input(kwargs, error, match):
    args = dict(shape=(2, 3), seed=0)
    args.update(kwargs)
    for draw in (fastgen.random.uniform, fastgen.random.normal):
        with pytest.raises(error, match=match):
            draw(**args)


@pytest.mark.parametrize("draw", ["uniform", "normal"])
def test_every_backend_draws_the_same_numbers(backend, cpu_backends, draw):
    """The backend's draw, an array of its own kind (NumPy on the CPU backends, CuPy on cuda), holds
    the numbers of another backend (cpu and numba compare with each other, cuda with the first CPU
    backend): bit for bit, but for the normals on the GPU, whose sqrtf may differ from the host's
    by an ulp."""
    others = [name for name in cpu_backends if name != backend]
    if not others:
        pytest.skip("needs a second backend to compare with")
    reference = getattr(fastgen.random, draw)(100_003, 2**64 - 1, 2**32 - 1, stream=5, backend=others[0])
    got = getattr(fastgen.random, draw)(100_003, 2**64 - 1, 2**32 - 1, stream=5, backend=backend)
    assert isinstance(got, _backend.kernels(backend).xp.ndarray)
    if draw == "normal" and backend == "cuda":
        np.testing.assert_allclose(host(got), reference, rtol=2e-6, atol=2e-6)
    else:
        np.testing.assert_array_equal(host(got), reference)
