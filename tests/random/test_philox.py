"""Philox4x32-10: known answers, the documented counter layout, and the uniforms."""
import numpy as np
import pytest

from fastgen import _backend, _core
from fastgen._arrays import host
from fastgen.random import _numba as _philox

# Random123 kat_vectors, philox4x32-10: ctr[0..3] key[0..1] -> result[0..3]
KAT_TEXT = """
00000000 00000000 00000000 00000000 | 00000000 00000000 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8
ffffffff ffffffff ffffffff ffffffff | ffffffff ffffffff -> 408f276d 41c83b0e a20bc7c6 6d5451fd
243f6a88 85a308d3 13198a2e 03707344 | a4093822 299f31d0 -> d16cfe09 94fdcceb 5001e420 24126ea1
"""


def _parse_kat():
    vectors = []
    for line in KAT_TEXT.strip().splitlines():
        left, result = line.split("->")
        ctr, key = left.split("|")
        vectors.append(
            (
                [int(w, 16) for w in ctr.split()],
                [int(w, 16) for w in key.split()],
                [int(w, 16) for w in result.split()],
            )
        )
    return vectors


KAT = _parse_kat()
MASK32 = 0xFFFFFFFF


def numba_philox(ctr, key):
    out = _philox.philox4x32_10(*(np.uint64(x) for x in ctr), *(np.uint64(x) for x in key))
    return [int(w) for w in out]


def reference_uniform(seed, call, stream, i):
    """Element i's uniform, from the documented layout (philox.h) and the Numba Philox,
    as the exact float64 value ((word >> 9) + 0.5) * 2**-23."""
    g = i // 4
    words = numba_philox([g & MASK32, g >> 32, call, stream], [seed & MASK32, seed >> 32])
    return ((words[i % 4] >> 9) + 0.5) * 2.0**-23


def kernels(name):
    return _backend.kernels(name)


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_core_philox_known_answers(ctr, key, expected):
    assert list(_core.random.philox4x32_10(ctr, key)) == expected


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_numba_philox_known_answers(ctr, key, expected):
    assert numba_philox(ctr, key) == expected


@pytest.mark.parametrize(
    "seed,call,stream,group",
    [
        (0, 0, 0, 0),
        (12345, 7, 1, 3),
        (2**40 + 17, 2**32 - 1, 2, 2**32),  # group >= 2**32: its high word is used
        (2**64 - 1, 99, 0, 2**35 + 5),
        (0xDEADBEEFCAFEF00D, 3, 1, 2**64 - 1),
    ],
)
def test_philox_block_layout(seed, call, stream, group):
    """The Numba block function uses the documented counter/key layout, checked against _core's raw Philox."""
    expected = list(
        _core.random.philox4x32_10([group & MASK32, group >> 32, call, stream], [seed & MASK32, seed >> 32])
    )
    got = [int(w) for w in _philox.philox_block(np.uint64(seed), np.uint64(call), np.uint64(stream), np.uint64(group))]
    assert got == expected
    # and the uniforms of that block are the documented function of the words (to float32)
    for k in range(4):
        u = _philox.uniform_open01(np.uint64(expected[k]))
        assert float(u) == ((expected[k] >> 9) + 0.5) * 2.0**-23


UNIFORM_CASES = [
    (1, 0, 0, 0),
    (7, 1, 0, 1),
    (1001, 2**32 + 5, 3, 0),
    (1001, 2**32 + 5, 3, 1),
    (4099, 2**63 + 12345, 2**32 - 1, 1),
    (65537, 2**64 - 1, 17, 2),
    (100_003, 2**64 - 1, 2**32 - 1, 2),
]


@pytest.mark.parametrize("n,seed,call,stream", UNIFORM_CASES)
def test_uniforms_identical_on_every_backend(backend, cpu_backends, n, seed, call, stream):
    """The backend's uniforms are bit for bit those of another backend (cpu and numba compare
    with each other, cuda with the first CPU backend)."""
    others = [name for name in cpu_backends if name != backend]
    if not others:
        pytest.skip("needs a second backend to compare with")
    a = host(kernels(backend).random.uniforms(n, seed, call, stream))
    b = kernels(others[0]).random.uniforms(n, seed, call, stream)
    assert a.dtype == np.float32 and b.dtype == np.float32
    assert a.shape == (n,) and b.shape == (n,)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("n,seed,call,stream", UNIFORM_CASES)
def test_uniforms_open_interval(backend, n, seed, call, stream):
    u = host(kernels(backend).random.uniforms(n, seed, call, stream))
    assert u.dtype == np.float32
    assert np.all(u > 0) and np.all(u < 1)


def test_uniform_open01_extremes_stay_open():
    assert float(_philox.uniform_open01(np.uint64(0))) == 2.0**-24
    assert float(_philox.uniform_open01(np.uint64(MASK32))) == 1 - 2.0**-24


def test_uniform_open01_documented_value():
    # every value is exact in float32, so it equals the float64 formula
    for word in (0, 1, 511, 512, 0x12345678, 0x7FFFFFFF, 0x80000000, 0x80000100, 0xE169C58D, MASK32):
        assert float(_philox.uniform_open01(np.uint64(word))) == ((word >> 9) + 0.5) * 2.0**-23, hex(word)


def test_core_uniforms_open_interval_hard_case():
    # (seed 0, call 1205178, stream 0): element 0 takes a word with its top 24 bits all ones
    words = _core.random.philox4x32_10([0, 0, 1205178, 0], [0, 0])
    assert words[0] >> 8 == 2**24 - 1
    u = _core.random.uniforms(4, 0, 1205178, 0)
    assert np.all(u < 1), u


@pytest.mark.parametrize("seed,call,stream", [(0, 0, 0), (2**32 + 3, 11, 1), (2**64 - 2, 2**32 - 1, 2)])
def test_uniforms_documented_layout(seed, call, stream):
    n = 200_003
    u = _core.random.uniforms(n, seed, call, stream)
    for i in (0, 1, 2, 3, 4, 5, 1023, 4097, 123_457, n - 2, n - 1):
        assert u[i] == reference_uniform(seed, call, stream, i), i
    # different streams / calls / seeds give different draws
    assert not np.array_equal(u[:64], _core.random.uniforms(64, seed, call, (stream + 1) % 3))
    assert not np.array_equal(u[:64], _core.random.uniforms(64, seed, (call + 1) % 2**32, stream))
    assert not np.array_equal(u[:64], _core.random.uniforms(64, seed ^ (1 << 40), call, stream))


def test_uniforms_high_group_reference():
    """Element indices with group >= 2**32 (cannot be allocated): a single-block
    computation through _core.philox4x32_10 with the documented layout must agree with
    the Numba block function the kernels use."""
    seed, call, stream = 2**33 + 99, 5, 1
    for i in (4 * 2**32, 4 * 2**32 + 3, 4 * (2**32 + 1) + 2, 2**50 + 1):
        g = i // 4
        words = list(_core.random.philox4x32_10([g & MASK32, g >> 32, call, stream], [seed & MASK32, seed >> 32]))
        expected = ((words[i % 4] >> 9) + 0.5) * 2.0**-23
        assert reference_uniform(seed, call, stream, i) == expected
        block = _philox.philox_block(np.uint64(seed), np.uint64(call), np.uint64(stream), np.uint64(g))
        assert np.float32(_philox.uniform_open01(block[i % 4])) == expected
        # the high word of the group matters
        low_only = list(_core.random.philox4x32_10([g & MASK32, 0, call, stream], [seed & MASK32, seed >> 32]))
        assert low_only != words


def test_uniforms_mean_variance(backend):
    n = 1_000_000
    u = host(kernels(backend).random.uniforms(n, 20240601, 3, 0)).astype(np.float64)
    se_mean = np.sqrt(1 / 12 / n)
    se_var = np.sqrt((1 / 80 - 1 / 144) / n)
    assert abs(u.mean() - 0.5) < 5 * se_mean
    assert abs(u.var() - 1 / 12) < 5 * se_var
    # and the quarters of [0, 1) are equally filled (a crude uniformity check)
    counts = np.histogram(u, bins=4, range=(0, 1))[0]
    assert np.all(np.abs(counts - n / 4) < 5 * np.sqrt(n * 0.25 * 0.75))


def test_uniforms_thread_independent(cpu_backend):
    k = kernels(cpu_backend)
    n, seed, call, stream = 4_200_003, 2**32 + 77, 9, 1  # above the 2**22 parallel threshold
    previous = k.get_num_threads()
    with k.threads(1):
        one = k.random.uniforms(n, seed, call, stream)
    assert k.get_num_threads() == previous
    many = k.random.uniforms(n, seed, call, stream)
    assert np.array_equal(one, many)
