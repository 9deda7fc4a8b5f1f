"""The exact denoiser of Gaussian-mixture data: a test oracle and the demo's model.

Data x0 ~ sum_k w_k N(mu_k, S_k), noised as x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps
(a_t = alphas_cumprod[t]), has the marginal q(x_t) = sum_k w_k N(sqrt(a_t) mu_k,
a_t S_k + (1 - a_t) I), so the ideal epsilon-prediction, -sqrt(1 - a_t) grad log q(x_t),
is known in closed form:
    eps(x, t) = sqrt(1 - a_t) sum_k r_k(x) C_k^-1 (x - sqrt(a_t) mu_k),
with C_k the noised covariances and r_k(x) the posterior responsibilities.
Vectorised NumPy (CuPy for CuPy input), float64 inside.
"""
from __future__ import annotations

import sys

import numpy as np

from ._ops import timesteps_of
from .schedules import make_betas


class GaussianMixtureDenoiser:
    """Callable model `eps = denoiser(x, t)` for x of shape (batch, dim) (any trailing shape
    that flattens to dim; NumPy, CuPy or torch, returned as the same kind), t an integer
    timestep of `alphas_cumprod` (default: the DDPMScheduler defaults, linear betas 1e-4 ..
    0.02 over 1000 steps; a scheduler's float32 tensor or float64 array both do)."""

    def __init__(self, weights, means, covariances, alphas_cumprod=None):
        weights = np.asarray(weights, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        covariances = np.asarray(covariances, dtype=np.float64)
        if means.ndim != 2:
            raise ValueError(f"means must be 2-D (components, dim), got shape {means.shape}")
        k, d = means.shape
        if weights.shape != (k,) or not np.all(weights >= 0) or not np.isclose(weights.sum(), 1.0):
            raise ValueError(f"weights must be {k} non-negative numbers summing to 1, got {weights}")
        if covariances.shape != (k, d, d):
            raise ValueError(f"covariances must have shape {(k, d, d)}, got {covariances.shape}")
        if not np.allclose(covariances, covariances.transpose(0, 2, 1)) or np.any(np.linalg.eigvalsh(covariances) < 0):
            raise ValueError("covariances must be symmetric positive semi-definite")
        if alphas_cumprod is None:
            alphas_cumprod = np.cumprod(1.0 - make_betas(1000, 1e-4, 0.02, "linear", None, False))
        self.weights, self.means, self.covariances = weights, means, covariances
        self.alphas_cumprod = np.asarray(alphas_cumprod, dtype=np.float64)
        self._cache = {}

    def _noised(self, t):
        """Per component: sqrt(a) mu_k, the inverse Cholesky factor of C_k, and log w_k - log det(C_k) / 2."""
        if t not in self._cache:
            a = self.alphas_cumprod[t]
            d = self.means.shape[1]
            cov = a * self.covariances + (1.0 - a) * np.eye(d)
            chol = np.linalg.cholesky(cov)
            inv_chol = np.linalg.inv(chol)
            log_norm = np.log(self.weights) - np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
            self._cache[t] = (np.sqrt(a) * self.means, inv_chol, log_norm)
        return self._cache[t]

    def __call__(self, x, t, condition=None):
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(x, torch.Tensor):  # torch in, torch out (through NumPy or CuPy)
            dtype = x.dtype
            x = x.detach()
            x = x if dtype in (torch.float32, torch.float64) else x.float()
            array = sys.modules["cupy"].from_dlpack(x) if x.is_cuda else x.cpu().numpy()
            return torch.from_dlpack(self(array, t)).to(device=x.device, dtype=dtype)
        xp = np
        cupy = sys.modules.get("cupy")
        if cupy is not None and isinstance(x, cupy.ndarray):
            xp = cupy
        t, _ = timesteps_of(t, 1, len(self.alphas_cumprod))  # one timestep of the schedule
        shape, dtype = x.shape, x.dtype
        flat = xp.asarray(x, dtype=xp.float64).reshape(shape[0], -1)
        means, inv_chol, log_norm = self._noised(t)
        log_r, scores = [], []
        for k in range(len(self.weights)):  # few components: products with small matrices, no (n, k, d) temporaries
            white = (flat - xp.asarray(means[k])) @ xp.asarray(inv_chol[k].T)    # rows L_k^-1 (x - m_k)
            log_r.append(float(log_norm[k]) - 0.5 * (white * white).sum(axis=1))
            scores.append(white @ xp.asarray(inv_chol[k]))                         # rows C_k^-1 (x - m_k)
        log_r = xp.stack(log_r, axis=1)
        log_r -= log_r.max(axis=1, keepdims=True)
        r = xp.exp(log_r)
        r /= r.sum(axis=1, keepdims=True)
        eps = scores[0] * r[:, :1]
        for k in range(1, len(scores)):
            eps += scores[k] * r[:, k : k + 1]
        eps *= np.sqrt(1.0 - self.alphas_cumprod[t])
        return eps.reshape(shape).astype(dtype, copy=False)
