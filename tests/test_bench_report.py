"""bench/report.py's share of floor: a loop's rate over the peak measured in the same run."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))

import report  # noqa: E402


def _bench(median, group="g", **extra):
    return {"name": "x", "group": group, "params": {}, "stats": {"median": median, "min": median, "rounds": 1}, "extra_info": extra}


def test_share_of_floor_uses_the_matching_peak_of_the_run():
    data = {
        "benchmarks": [
            _bench(0.1, "peak", impl="dgemm", peak="dgemm", flops=10e9),  # 100 GFLOP/s
            _bench(0.1, "peak", impl="sgemm", peak="sgemm", flops=20e9),  # 200 GFLOP/s
            _bench(0.5, "peak", impl="copy", peak="copy", bytes=10e9),  # 20 GB/s
            _bench(0.01, impl="fastgen-cpu", flops=0.4e9, dtype="float64"),  # 40 GFLOP/s
            _bench(0.01, impl="fastgen-numba", flops=0.4e9, dtype="float32"),  # 40 of 200
            _bench(0.001, impl="numpy", bytes=5e6),  # 5 GB/s
            _bench(0.001, impl="sklearn"),  # no declared work
        ]
    }
    rates = report.peaks(data)
    assert rates == {"dgemm": 100e9, "sgemm": 200e9, "copy": 20e9}
    shares = [report._share_of_floor(b, rates) for b in data["benchmarks"][3:]]
    assert shares == ["40% of dgemm (40.0 GFLOP/s)", "20% of sgemm (40.0 GFLOP/s)", "25% of copy (5.0 GB/s)", ""]
    table = "\n".join(report.tables(data))
    assert "| share of floor |" in table and "40% of dgemm" in table


def test_no_peak_in_the_run_means_no_share():
    data = {"benchmarks": [_bench(0.01, impl="fastgen-cpu", flops=1e9)]}
    assert report._share_of_floor(data["benchmarks"][0], report.peaks(data)) == ""
    assert "share of floor" not in "\n".join(report.tables(data))
