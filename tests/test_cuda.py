"""The `cuda` backend against the float64 NumPy references of test_rbm_ops.py.

Skipped (with the reason) where no CUDA device is found; run on a lent GPU. The GPU's
GEMMs round differently from the CPU's BLAS, so probabilities are compared with a
tolerance, while states must be exactly (u < p) for the uniforms the CPU backends draw.
"""
import numpy as np
import pytest

from fastgen import _backend, rbm
from fastgen._constants import RbmStream

STREAM_HIDDEN, STREAM_VISIBLE = RbmStream.HIDDEN, RbmStream.VISIBLE
from test_rbm_ops import (
    DTYPES,
    binary,
    make_rbm,
    ref_cd_statistics,
    ref_free_energy,
    ref_p_hidden,
    ref_p_visible,
)

pytestmark = pytest.mark.gpu

GPU_RTOL = {np.float32: 1e-4, np.float64: 1e-10}


def cpu_uniforms(n, seed, counter, stream):
    return _backend.kernels("cpu" if "cpu" in _backend.available_backends() else "numba").random.uniforms(
        n, seed, counter, stream
    )


def check_states(states, p, seed, counter, stream, dtype):
    u = cpu_uniforms(states.size, seed, counter, stream).reshape(states.shape)
    assert np.array_equal(states, (u.astype(dtype) < p).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("density", [0.1, 0.5])
def test_conditionals(dtype, density):
    W, b, c = make_rbm(1, 40, 30, dtype)
    v = binary(2, (64, 40), dtype, p=density)
    h, p_h = rbm.sample_hidden(v, W, c, seed=5, counter=3, backend="cuda")
    assert isinstance(h, np.ndarray) and h.dtype == dtype
    np.testing.assert_allclose(p_h, ref_p_hidden(v, W, c), rtol=GPU_RTOL[dtype], atol=1e-7)
    check_states(h, p_h, 5, 3, STREAM_HIDDEN, dtype)
    v2, p_v = rbm.sample_visible(h, W, b, seed=5, counter=3, backend="cuda")
    np.testing.assert_allclose(p_v, ref_p_visible(h, W, b), rtol=GPU_RTOL[dtype], atol=1e-7)
    check_states(v2, p_v, 5, 3, STREAM_VISIBLE, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_free_energy_and_cd(dtype):
    W, b, c = make_rbm(3, 20, 12, dtype)
    v = binary(4, (50, 20), dtype)
    np.testing.assert_allclose(rbm.free_energy(v, W, b, c, backend="cuda"), ref_free_energy(v, W, b, c), rtol=1e-5)
    dW, db, dc, chains = rbm.cd_statistics(v, W, b, c, 1, seed=9, counter=0, backend="cuda")
    # the model's visible sample is the one the chain drew: recompute it on the GPU
    h0, _ = rbm.sample_hidden(v, W, c, seed=9, counter=0, backend="cuda")
    v1, _ = rbm.sample_visible(h0, W, b, seed=9, counter=0, backend="cuda")
    ref = ref_cd_statistics(v, v1, W, b, c)
    for got, expected in zip((dW, db, dc), ref):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert chains.shape == (50, 12)


def test_cupy_in_cupy_out_and_torch_cuda():
    cp = pytest.importorskip("cupy")
    W, b, c = make_rbm(5, 16, 8, np.float32)
    v = binary(6, (10, 16), np.float32)
    h, p = rbm.sample_hidden(cp.asarray(v), cp.asarray(W), cp.asarray(c), seed=1)
    assert isinstance(h, cp.ndarray) and isinstance(p, cp.ndarray)
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA device")
    args = [torch.from_numpy(a).cuda() for a in (v, W, b, c)]
    v_out, h_out = rbm.gibbs(*args, 3, seed=2)
    assert isinstance(v_out, torch.Tensor) and v_out.device.type == "cuda"
    v_np, h_np = rbm.gibbs(v, W, b, c, 3, seed=2, backend="cuda")
    assert np.array_equal(v_out.cpu().numpy(), v_np)
