"""The backend registry: what is available, the default, and how a call picks its backend."""
import importlib
import threading

import numpy as np
import pytest

import fastgen
from fastgen import _backend, rbm


@pytest.fixture(autouse=True)
def clean_default(monkeypatch):
    """Each test starts and ends with no default backend set and no FASTGEN_BACKEND."""
    monkeypatch.delenv("FASTGEN_BACKEND", raising=False)
    fastgen.set_backend(None)
    yield
    _backend._state.default = None


@pytest.fixture
def spy(monkeypatch):
    """Records the name of every backend whose sampling kernel (`bernoulli` or
    `bernoulli_binary`) runs."""
    calls = []
    for name in fastgen.available_backends():
        k = _backend.kernels(name).rbm
        for kernel in ("bernoulli", "bernoulli_binary"):
            original = getattr(k, kernel)

            def recording(*args, _name=name, _original=original, **kwargs):
                calls.append(_name)
                return _original(*args, **kwargs)

            monkeypatch.setattr(k, kernel, recording)
    return calls


def small_problem(dtype=np.float64):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(6, 4)).astype(dtype)
    c = rng.normal(size=4).astype(dtype)
    v = (rng.random((5, 6)) < 0.5).astype(dtype)
    return v, W, c


def _importable(module):
    try:
        importlib.import_module(module)
        return True
    except Exception:
        return False


def _cuda_works():
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


# ------------------------------------------------------------------ availability


def test_available_backends_order_and_type():
    names = fastgen.available_backends()
    assert isinstance(names, tuple)
    assert all(isinstance(n, str) for n in names)
    assert list(names) == [n for n in ("cuda", "cpu", "numba") if n in names]
    assert len(set(names)) == len(names)
    assert len(names) >= 1


def test_available_backends_match_what_works():
    names = fastgen.available_backends()
    assert ("cpu" in names) == _importable("fastgen._core")
    assert ("numba" in names) == _importable("numba")
    assert ("cuda" in names) == _cuda_works()


def test_unavailable_backend_reason_in_message():
    missing = [n for n in ("cuda", "cpu", "numba") if n not in fastgen.available_backends()]
    if not missing:
        pytest.skip("every backend is available here")
    with pytest.raises(ValueError, match=rf"backend='{missing[0]}' is not an available backend \(.+\)"):
        fastgen.set_backend(missing[0])


# ------------------------------------------------------------------ default backend


def test_set_get_backend():
    assert fastgen.get_backend() is None
    for name in fastgen.available_backends():
        fastgen.set_backend(name)
        assert fastgen.get_backend() == name
    fastgen.set_backend(None)
    assert fastgen.get_backend() is None


def test_set_backend_invalid_lists_available(cpu_backends):
    fastgen.set_backend(cpu_backends[0])
    with pytest.raises(ValueError, match="backend='nope'") as info:
        fastgen.set_backend("nope")
    message = str(info.value)
    assert "available backends: " + ", ".join(fastgen.available_backends()) in message
    assert fastgen.get_backend() == cpu_backends[0]  # unchanged
    with pytest.raises(TypeError, match="available backends"):
        fastgen.set_backend(3)


def test_use_backend_restores(cpu_backends):
    first = cpu_backends[0]
    last = cpu_backends[-1]
    with fastgen.use_backend(last):
        assert fastgen.get_backend() == last
    assert fastgen.get_backend() is None

    fastgen.set_backend(first)
    with fastgen.use_backend(last):
        assert fastgen.get_backend() == last
        with fastgen.use_backend(None):
            assert fastgen.get_backend() is None
        assert fastgen.get_backend() == last
    assert fastgen.get_backend() == first


def test_use_backend_restores_on_exception(cpu_backends):
    first = cpu_backends[0]
    last = cpu_backends[-1]
    fastgen.set_backend(first)
    with pytest.raises(KeyError):
        with fastgen.use_backend(last):
            assert fastgen.get_backend() == last
            raise KeyError("boom")
    assert fastgen.get_backend() == first


def test_use_backend_invalid_leaves_default(cpu_backends):
    fastgen.set_backend(cpu_backends[0])
    with pytest.raises(ValueError, match="available backends"):
        with fastgen.use_backend("nope"):
            pass  # pragma: no cover
    assert fastgen.get_backend() == cpu_backends[0]


def test_default_is_per_thread(cpu_backends):
    fastgen.set_backend(cpu_backends[-1])
    seen = []

    def worker():
        seen.append(fastgen.get_backend())
        fastgen.set_backend(cpu_backends[0])
        seen.append(fastgen.get_backend())

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == [None, cpu_backends[0]]
    assert fastgen.get_backend() == cpu_backends[-1]


# ------------------------------------------------------------------ FASTGEN_BACKEND


def test_env_var_honoured(cpu_backends, monkeypatch):
    for name in fastgen.available_backends():
        monkeypatch.setenv("FASTGEN_BACKEND", name)
        assert fastgen.get_backend() == name
    # set_backend / use_backend take precedence over the environment
    monkeypatch.setenv("FASTGEN_BACKEND", cpu_backends[-1])
    with fastgen.use_backend(cpu_backends[0]):
        assert fastgen.get_backend() == cpu_backends[0]
    assert fastgen.get_backend() == cpu_backends[-1]
    monkeypatch.setenv("FASTGEN_BACKEND", "")
    assert fastgen.get_backend() is None


def test_env_var_invalid(cpu_backends, monkeypatch):
    monkeypatch.setenv("FASTGEN_BACKEND", "bogus")
    with pytest.raises(ValueError, match="FASTGEN_BACKEND='bogus'") as info:
        fastgen.get_backend()
    assert "available backends" in str(info.value)
    v, W, c = small_problem()
    with pytest.raises(ValueError, match="FASTGEN_BACKEND"):
        rbm.sample_hidden(v, W, c, seed=0)
    # an explicit backend does not consult the environment
    rbm.sample_hidden(v, W, c, seed=0, backend=cpu_backends[0])


def test_env_var_selects_op_backend(cpu_backends, monkeypatch, spy):
    if "numba" not in cpu_backends:
        pytest.skip("numba backend unavailable")
    monkeypatch.setenv("FASTGEN_BACKEND", "numba")
    v, W, c = small_problem()
    rbm.sample_hidden(v, W, c, seed=0)
    assert spy == ["numba"]


# ------------------------------------------------------------------ dispatch of ops


def test_numpy_default_is_cpu(spy):
    if "cpu" not in fastgen.available_backends():
        pytest.skip("_core does not import here")
    assert _backend.resolve(None, False).name == "cpu"
    assert _backend.host_default() == "cpu"
    v, W, c = small_problem()
    rbm.sample_hidden(v, W, c, seed=0)
    assert spy == ["cpu"]


def test_set_backend_numba_used_by_ops(cpu_backends, spy):
    if not {"cpu", "numba"} <= set(cpu_backends):
        pytest.skip("needs the cpu and numba backends")
    v, W, c = small_problem(np.float32)
    fastgen.set_backend("numba")
    h, p = rbm.sample_hidden(v, W, c, seed=4, counter=2)
    assert spy == ["numba"]
    spy.clear()
    rbm.gibbs(v, W, np.zeros(6, np.float32), c, 2, seed=4)
    assert spy == ["numba"] * 4
    spy.clear()
    # explicit backend= overrides the default
    h_cpu, p_cpu = rbm.sample_hidden(v, W, c, seed=4, counter=2, backend="cpu")
    assert spy == ["cpu"]
    spy.clear()
    with fastgen.use_backend("cpu"):
        rbm.sample_hidden(v, W, c, seed=4, counter=2, backend="numba")
        rbm.sample_hidden(v, W, c, seed=4, counter=2)
    assert spy == ["numba", "cpu"]
    # same draws either way (the backends agree)
    assert np.array_equal(h, h_cpu) and np.array_equal(p, p_cpu)


def test_numba_used_without_spy(cpu_backends):
    """Without monkeypatching: the numba kernels of the default backend are the ones
    that run, seen by making numba's kernel fail."""
    if "numba" not in cpu_backends:
        pytest.skip("numba backend unavailable")
    v, W, c = small_problem()
    k = _backend.kernels("numba").rbm

    class Boom(Exception):
        pass

    def broken(*args, **kwargs):
        raise Boom

    kernels = ("bernoulli", "bernoulli_binary")  # dense and sparse inputs take one each
    originals = [getattr(k, name) for name in kernels]
    for name in kernels:
        setattr(k, name, broken)
    try:
        with fastgen.use_backend("numba"):
            with pytest.raises(Boom):
                rbm.sample_hidden(v, W, c, seed=0)
            if "cpu" in cpu_backends:
                rbm.sample_hidden(v, W, c, seed=0, backend="cpu")  # unaffected
    finally:
        for name in kernels:
            delattr(k, name)
    assert [getattr(k, name) for name in kernels] == originals


def test_explicit_unknown_backend():
    v, W, c = small_problem()
    available = ", ".join(fastgen.available_backends())
    with pytest.raises(ValueError, match="backend='foo'.*available backends: " + available):
        rbm.sample_hidden(v, W, c, seed=0, backend="foo")


def test_cpu_backend_refuses_device_arrays(cpu_backend):
    with pytest.raises(ValueError, match="on a GPU"):
        _backend.resolve(cpu_backend, True)


def test_threads_sets_the_count_inside_the_block_and_restores_it_after_an_error(cpu_backend):
    kernels = _backend.kernels(cpu_backend)
    previous = kernels.get_num_threads()
    with pytest.raises(KeyError):
        with kernels.threads(1):
            assert kernels.get_num_threads() == 1
            raise KeyError("inside")
    assert kernels.get_num_threads() == previous
