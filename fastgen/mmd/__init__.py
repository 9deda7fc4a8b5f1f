"""Maximum mean discrepancy (MMD) and the Kernel Inception Distance (KID) on NumPy, CuPy or
torch arrays, differentiable on torch tensors.

    mmd2(X, Y, kernel="gaussian", bandwidth="median", estimator="unbiased")
    kid(X, Y)                          the unbiased polynomial-kernel MMD^2 of KID
    median_bandwidth(X, Y)             the median heuristic's bandwidth

X (N, D) and Y (M, D) are two samples. The N x M kernel matrices are never stored: each
GEMM tile of dot products goes through one fused kernel that applies the kernel and reduces
(_loops.py), so memory is O((N + M) D) and all N^2 + M^2 + NM pairs count (the `unbiased`
and `biased` estimators), or the N / 2 pairs of the `linear` one. Results are float64 sums,
the same for any number of threads.

Kernels, with d = ‖x - y‖ (Euclidean) and several bandwidths summed (as in generative moment
matching networks, Li et al. 2015):
    gaussian     sum_s exp(-d^2 / (2 sigma_s^2))
    laplacian    sum_s exp(-d / sigma_s)
    polynomial   (gamma x.y + coef0)^degree, gamma = 1 / D by default
"""
from __future__ import annotations

import sys

import numpy as np

from .._arrays import Dispatch
from .._constants import MmdKernel
from .._validation import (
    check_choice,
    check_count,
    check_real,
    check_sample_pair,
    check_seed,
    check_sigma_values,
)
from . import _loops

__all__ = ["kid", "median_bandwidth", "mmd2"]

_KERNELS = {"gaussian": MmdKernel.GAUSSIAN, "laplacian": MmdKernel.LAPLACIAN, "polynomial": MmdKernel.POLYNOMIAL}
_MIN_ROWS = {"unbiased": 2, "biased": 1, "linear": 2}
_MEDIAN_POINTS = 1000


def _median(xp, X, Y, max_points):
    sigma = _loops.median_distance(xp, X, Y, max_points)
    if not sigma > 0:
        raise ValueError("bandwidth='median' found a median distance of 0 between the points (most of them are "
                         "equal); give the bandwidth as a number")
    return sigma


def _kernel_spec(xp, X, Y, kernel, bandwidth, degree, gamma, coef0):
    """The checked kernel as a KernelSpec (its parameters as mmd.h lays them out)."""
    kind = _KERNELS[check_choice("kernel", kernel, tuple(_KERNELS))]
    if kind == MmdKernel.POLYNOMIAL:
        degree = check_count("degree", degree)
        gamma = 1.0 / X.shape[1] if gamma is None else check_real("gamma", gamma, low=0.0, low_open=True)
        coef0 = check_real("coef0", coef0)
        return _loops.KernelSpec(kind, np.array([gamma, coef0, degree], dtype=np.float64))
    if isinstance(bandwidth, str):
        check_choice("bandwidth", bandwidth, ("median",))
        sigmas = np.array([_median(xp, X, Y, _MEDIAN_POINTS)])
    else:
        sigmas = np.atleast_1d(check_sigma_values("bandwidth", bandwidth))
    with np.errstate(over="ignore", divide="ignore"):  # checked below
        scales = 1.0 / (2.0 * sigmas * sigmas) if kind == MmdKernel.GAUSSIAN else 1.0 / sigmas
    if not np.isfinite(scales).all():
        raise ValueError(f"bandwidth holds values too small to use (1 / bandwidth^2 overflows): {sigmas.min():.3g}")
    return _loops.KernelSpec(kind, scales)


def _is_torch(a):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(a, torch.Tensor)


def _finite(value, what):
    if not np.isfinite(value):
        raise ValueError(f"{what} is not finite ({value}): the kernel values overflow float64; scale the data "
                         "or the kernel's parameters down")
    return value


def mmd2(X, Y, kernel="gaussian", *, bandwidth="median", degree=3, gamma=None, coef0=1.0, estimator="unbiased",
         backend=None):
    """The squared maximum mean discrepancy between the samples X (N, D) and Y (M, D).

    Parameters
    ----------
    X, Y : NumPy, CuPy or torch arrays of one float dtype (float32 or float64), same D
    kernel : "gaussian", "laplacian" or "polynomial"
    bandwidth : "median", a number > 0 or a sequence of them (gaussian and laplacian)
        sigma: the Gaussian kernel is exp(-‖x - y‖² / (2 sigma²)), the Laplacian one
        exp(-‖x - y‖ / sigma); several bandwidths sum their kernels. "median": sigma = the
        median distance between the points of the pooled sample (Gretton et al. 2012), taken
        on up to 1,000 of them spread evenly over X and Y (`median_bandwidth`).
    degree, gamma, coef0 : the polynomial kernel (gamma x.y + coef0)^degree; gamma None: 1 / D
    estimator : "unbiased" (the U-statistic, pairs (i, i) left out; N, M >= 2), "biased" (the
        V-statistic, all pairs), or "linear" (Gretton et al. 2012's linear-time estimator on the
        first 2 floor(min(N, M) / 2) rows: mean over p of k(x_2p, x_2p+1) + k(y_2p, y_2p+1)
        - k(x_2p, y_2p+1) - k(x_2p+1, y_2p))
    backend : "cpu", "numba", "cuda" or None (chosen by where the arrays live)

    Returns
    -------
    A float; for torch tensors a 0-d tensor of X's dtype and device, differentiable with
    respect to X and Y when they require grad (the bandwidth of "median" is then a constant).
    """
    estimator = check_choice("estimator", estimator, _loops.ESTIMATORS)
    call = Dispatch(backend, X=X, Y=Y)
    xp = call.kernels.xp
    Xb, Yb = check_sample_pair(xp, *call.arrays, _MIN_ROWS[estimator])
    spec = _kernel_spec(xp, Xb, Yb, kernel, bandwidth, degree, gamma, coef0)
    if _is_torch(X) or _is_torch(Y):
        from ._autograd import mmd2_tensor

        value = mmd2_tensor(X, Y, call.kernels, Xb, Yb, spec, estimator)
        _finite(float(value.detach()), "MMD^2")
        return value
    return _finite(_loops.mmd2(call.kernels, Xb, Yb, spec, estimator), "MMD^2")


def kid(X, Y, *, subsets=None, subset_size=1000, degree=3, gamma=None, coef0=1.0, seed=0, backend=None):
    """The Kernel Inception Distance of features X (N, D) and Y (M, D): the unbiased MMD^2 with the
    polynomial kernel (x.y / D + 1)^3 (Binkowski et al. 2018), as torchmetrics computes it.

    subsets None (the default): one estimate from all the data, every pair of points (a float).
    subsets = s: torchmetrics' subset averaging, s estimates on random subsets of `subset_size`
    rows of each sample (drawn without replacement: subset k takes the first subset_size entries
    of rng.permutation(N), then of rng.permutation(M), rng = numpy.random.default_rng(seed)),
    returned as (mean, standard deviation) with ddof 0, as torchmetrics' KernelInceptionDistance.
    degree, gamma, coef0: the polynomial kernel, as in mmd2.
    """
    if subsets is None:
        value = mmd2(X, Y, "polynomial", degree=degree, gamma=gamma, coef0=coef0, backend=backend)
        return float(value) if _is_torch(value) else value
    subsets = check_count("subsets", subsets)
    subset_size = check_count("subset_size", subset_size, minimum=2)
    seed = check_seed("seed", seed)
    call = Dispatch(backend, X=X, Y=Y)
    xp = call.kernels.xp
    Xb, Yb = check_sample_pair(xp, *call.arrays, 2)
    for name, a in (("X", Xb), ("Y", Yb)):
        if subset_size > a.shape[0]:
            raise ValueError(f"subset_size ({subset_size}) must be at most the rows of {name} ({a.shape[0]})")
    spec = _kernel_spec(xp, Xb, Yb, "polynomial", None, degree, gamma, coef0)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        rows_x = xp.asarray(rng.permutation(Xb.shape[0])[:subset_size])
        rows_y = xp.asarray(rng.permutation(Yb.shape[0])[:subset_size])
        values.append(_finite(_loops.mmd2(call.kernels, Xb[rows_x], Yb[rows_y], spec, "unbiased"), "KID"))
    return float(np.mean(values)), float(np.std(values))


def median_bandwidth(X, Y, *, max_points=_MEDIAN_POINTS, backend=None):
    """The median Euclidean distance between distinct points of the pooled sample of X and Y, on
    at most max_points // 2 rows of each spread evenly over it: bandwidth="median" of mmd2. Scale
    it for several bandwidths: bandwidth=[s / 2, s, 2 * s]."""
    max_points = check_count("max_points", max_points, minimum=2)
    call = Dispatch(backend, X=X, Y=Y)
    xp = call.kernels.xp
    Xb, Yb = check_sample_pair(xp, *call.arrays, 1)
    return _median(xp, Xb, Yb, max_points)
