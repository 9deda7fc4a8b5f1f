"""MMD^2 (unbiased, Gaussian kernel) of two float32 samples of N = M rows: fastgen `cpu` and
`numba` (tiled, never storing the N x M kernel matrices) against the straightforward torch
(cdist + kernel + means, in its own process: baselines.TorchWorker) and NumPy implementations,
which materialise the three matrices.

Sizes (group mmd2-<N>x<D>): D = 2,048 (feature vectors as in KID: the GEMM tiles dominate) and
D = 16 (the kernel-and-reduce pass dominates). FASTGEN_BENCH_MMD_N sets N (default 4,096).
extra_info "flops": the dot products one call must do, counting each unordered pair of a sample
with itself once: 2 D (N(N+1)/2 + M(M+1)/2 + NM), about D (N + M)^2; report.py divides by the
sgemm peak of the same run (bench/test_peaks.py).
Run with: python -m pytest bench/test_mmd.py --benchmark-only
"""
from __future__ import annotations

import functools
import os

import numpy as np
import pytest

import baselines

N = int(os.environ.get("FASTGEN_BENCH_MMD_N", "4096"))
SIGMA = 1.0
IMPLS = ["fastgen-cpu", "fastgen-numba", "torch-cpu", "numpy"]


@functools.lru_cache(maxsize=None)
def _expected(D):
    """The NumPy baseline's value in float64 (computed once per size): every implementation must give it."""
    X, Y = _samples(D)
    return baselines.numpy_mmd2(X.astype(np.float64), Y.astype(np.float64), SIGMA)


@functools.lru_cache(maxsize=None)
def _samples(D):
    """Rows ~ N(0, I / D) and N(delta, I / D), |delta|^2 = 0.09: |x - y|^2 is about 2, so the kernel of
    bandwidth 1 is about e^-1 and MMD^2 a few hundredths."""
    rng = np.random.default_rng(0)
    scale = np.float32(1 / np.sqrt(D))
    X = rng.standard_normal((N, D), dtype=np.float32) * scale
    Y = rng.standard_normal((N, D), dtype=np.float32) * scale + np.float32(0.3) * scale
    return X, Y


@pytest.mark.parametrize("D", [2048, 16])
@pytest.mark.parametrize("impl", IMPLS)
def test_mmd2(benchmark, request, impl, D):
    X, Y = _samples(D)
    if impl == "numpy":
        run = lambda: baselines.numpy_mmd2(X, Y, SIGMA)  # noqa: E731
    elif impl == "torch-cpu":
        worker = request.getfixturevalue("torch_worker")
        worker.mmd_data(X, Y)
        run = lambda: worker.mmd2(SIGMA)  # noqa: E731
    else:
        import fastgen
        from fastgen import mmd

        backend = impl.split("-", 1)[1]
        if backend not in fastgen.available_backends():
            pytest.skip(f"fastgen backend {backend!r} not available here")
        mmd.mmd2(X[:300], Y[:300], bandwidth=SIGMA, backend=backend)  # warm-up: Numba JIT, thread pools
        run = lambda: mmd.mmd2(X, Y, bandwidth=SIGMA, backend=backend)  # noqa: E731
    benchmark.group = f"mmd2-{N}x{D}"
    value = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    assert value == pytest.approx(_expected(D), rel=1e-3)
    flops = 2 * D * (N * (N + 1) // 2 + N * (N + 1) // 2 + N * N)
    benchmark.extra_info.update(impl=impl, dtype="float32", n_samples=N, n_features=D, mmd2=value, flops=flops)
