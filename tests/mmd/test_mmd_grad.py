"""mmd2's backward pass on torch tensors (the tiled gradient pass of _loops.mmd2_grad):
torch.autograd.gradcheck in float64, with one tile and with ragged tiles; float32 gradients
against float64 ones; only the gradients asked for are computed."""
import numpy as np
import pytest

from fastgen import mmd
from fastgen.mmd import _loops

torch = pytest.importorskip("torch")

KERNELS = [("gaussian", {"bandwidth": [0.7, 1.5]}), ("laplacian", {"bandwidth": 1.1}),
           ("polynomial", {"gamma": 0.3, "coef0": 0.5, "degree": 3})]


def _inputs(dtype=torch.float64, N=13, M=11, D=3):
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(N, D, dtype=dtype, generator=generator)
    Y = torch.randn(M, D, dtype=dtype, generator=generator) * 1.2 + 0.3
    return X.requires_grad_(), Y.requires_grad_()


@pytest.mark.parametrize("tile", [2048, 4])
@pytest.mark.parametrize("estimator", ["unbiased", "biased", "linear"])
@pytest.mark.parametrize("kernel, params", KERNELS, ids=[k for k, _ in KERNELS])
def test_gradcheck(backend, kernel, params, estimator, tile, monkeypatch):
    monkeypatch.setattr(_loops, "TILE", tile)
    X, Y = _inputs()
    assert torch.autograd.gradcheck(lambda a, b: mmd.mmd2(a, b, kernel, estimator=estimator, backend=backend,
                                                          **params), (X, Y))


def test_float32_gradients_match_float64(cpu_backend):
    X, Y = _inputs(N=300, M=200, D=5)
    grads = []
    for dtype in (torch.float64, torch.float32):
        a, b = (t.detach().to(dtype).requires_grad_() for t in (X, Y))
        mmd.mmd2(a, b, bandwidth=1.0, backend=cpu_backend).backward()
        assert a.grad.dtype == dtype
        grads.append((a.grad.double(), b.grad.double()))
    for g64, g32 in zip(*grads):
        np.testing.assert_allclose(g32.numpy(), g64.numpy(), rtol=1e-4, atol=1e-5 * float(g64.abs().max()))


def test_only_the_wanted_gradient(cpu_backend):
    """A constant sample (no requires_grad, or a NumPy array) gets none; the other gets the same."""
    X, Y = _inputs()
    mmd.mmd2(X, Y, bandwidth=1.0, backend=cpu_backend).backward()
    expected = X.grad.clone()
    X.grad = None
    for other in (Y.detach(), Y.detach().numpy()):
        mmd.mmd2(X, other, bandwidth=1.0, backend=cpu_backend).backward()
        torch.testing.assert_close(X.grad, expected, rtol=0, atol=0)
        X.grad = None


def test_the_same_tensor_on_both_sides_has_zero_biased_gradient(cpu_backend):
    """mmd2(X, X) is 0 for all X with the biased estimator, so its gradient is 0 (the cross term is not
    mistaken for the pairs of X with itself)."""
    X, _ = _inputs()
    value = mmd.mmd2(X, X, bandwidth=1.0, estimator="biased", backend=cpu_backend)
    value.backward()
    assert float(value.detach()) == pytest.approx(0.0, abs=1e-14)
    assert float(X.grad.abs().max()) < 1e-14
