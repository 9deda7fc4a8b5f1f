"""mmd2 on torch tensors: a torch.autograd.Function whose forward is the tiled pass of
_loops.mmd2 and whose backward is the tiled gradient pass _loops.mmd2_grad (the same GEMM
tiles, turned by one fused kernel into gradient weights, then two GEMMs per tile), so that
neither direction stores an N x M matrix. Imported only for torch inputs."""
import torch

from . import _loops


class _Mmd2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, Y, kernels, Xb, Yb, spec, estimator):
        # Xb, Yb: the checked backend arrays of X and Y (views of their memory, or copies)
        ctx.save_for_backward(X, Y)  # torch then refuses a backward after X or Y changed in place
        ctx.pass_arguments = (kernels, Xb, Yb, spec, estimator)
        return torch.tensor(_loops.mmd2(kernels, Xb, Yb, spec, estimator), dtype=X.dtype, device=X.device)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        X, Y = ctx.saved_tensors
        kernels, Xb, Yb, spec, estimator = ctx.pass_arguments
        want_x, want_y = ctx.needs_input_grad[:2]
        grads = _loops.mmd2_grad(kernels, Xb, Yb, spec, estimator, want_x, want_y)
        grad_x, grad_y = (None if g is None else torch.from_dlpack(g).to(a.device) * grad_output
                          for g, a in zip(grads, (X, Y)))
        return grad_x, grad_y, None, None, None, None, None


def mmd2_tensor(X, Y, kernels, Xb, Yb, spec, estimator):
    """mmd2 of torch tensors X and Y (either may be a NumPy array, then a constant), a 0-d tensor."""
    X = X if isinstance(X, torch.Tensor) else torch.from_dlpack(Xb)
    Y = Y if isinstance(Y, torch.Tensor) else torch.from_dlpack(Yb)
    return _Mmd2.apply(X, Y, kernels, Xb, Yb, spec, estimator)
