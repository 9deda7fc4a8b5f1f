"""This machine's floor, measured in the same run as the loops: dgemm and sgemm throughput
(NumPy's BLAS) and copy bandwidth (np.copyto over arrays far larger than the caches).

report.py divides each benchmark's declared work (extra_info "flops" or "bytes": what one
call must at least do) by its median time and by the matching peak of the same run, and
prints that as the loop's share of the floor. A loop's floor is an upper bound on its
speed on this machine: GEMM-bound loops cannot beat the BLAS, memory-bound ones the copy.

Run with: python -m pytest bench/test_peaks.py --benchmark-only  (bench/run.sh runs it with the rest)
"""
from __future__ import annotations

import numpy as np
import pytest

GEMM_SIZE = 2048  # square: 2 n^3 flops, ~17 GFLOP; large enough to reach the BLAS's plateau
COPY_BYTES = 256 * 2**20  # per array: far past the last-level cache, so the copy streams from DRAM


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_peak_gemm(benchmark, dtype):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((GEMM_SIZE, GEMM_SIZE)).astype(dtype) for _ in range(2))
    out = np.empty_like(a)
    name = "dgemm" if dtype == "float64" else "sgemm"
    benchmark.group = "peak"
    benchmark.extra_info.update(impl=name, peak=name, flops=2 * GEMM_SIZE**3, dataset=f"{GEMM_SIZE}^2 {dtype}")
    benchmark.pedantic(np.matmul, args=(a, b), kwargs={"out": out}, rounds=5, warmup_rounds=1)
    np.testing.assert_allclose(out[:2, :2], a[:2] @ b[:, :2], rtol=1e-3)


def test_peak_copy(benchmark):
    source = np.ones(COPY_BYTES // 8)
    target = np.empty_like(source)
    benchmark.group = "peak"
    # one read and one write of each byte (stores that miss the cache may also cost a read
    # for ownership; not counted, as for the loops measured against this floor)
    benchmark.extra_info.update(impl="copy", peak="copy", bytes=2 * COPY_BYTES, dataset=f"{COPY_BYTES >> 20} MiB float64")
    benchmark.pedantic(np.copyto, args=(target, source), rounds=10, warmup_rounds=1)
    assert target[-1] == 1.0
