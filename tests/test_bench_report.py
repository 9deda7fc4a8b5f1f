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


# ---------------------------------------------------------------- the PNG (bench/plot.py)

import math  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

plot = pytest.importorskip("plot")  # bench/plot.py; needs Pillow
Image = pytest.importorskip("PIL.Image")


def _run(cpu_median=0.1, extra_impl=False):
    """A run with the peaks, one GMM table (fastgen-cpu, numpy and sklearn) and one table without a baseline."""
    benches = [
        _bench(0.1, "peak", impl="dgemm", peak="dgemm", flops=10e9),  # 100 GFLOP/s
        _bench(0.5, "peak", impl="copy", peak="copy", bytes=10e9),  # 20 GB/s
        _bench(cpu_median, "gmm", impl="fastgen-cpu", flops=4e9, dtype="float64"),
        _bench(0.5, "gmm", impl="numpy"),
        _bench(0.025, "gmm", impl="sklearn"),  # faster than fastgen here: a bar to the left of 1x
        _bench(0.002, "step", impl="fastgen-numba", bytes=10e6),  # 5 GB/s of 20, no baseline
    ]
    if extra_impl:
        benches.append(_bench(0.2, "gmm", impl="fastgen-numba"))
    return {"benchmarks": benches}


def test_plot_draws_the_reports_numbers(tmp_path):
    data = _run()
    path = tmp_path / "run.png"
    plan = plot.draw(data, path)
    drawn = {(b.table, b.impl, b.kind, b.reference): b.value for b in plan.bars}
    # the exact ratios of the medians above, and the shares of the peaks measured in the run
    assert drawn == {
        ("gmm - ?", "fastgen-cpu", "speedup", "numpy"): 5.0,
        ("gmm - ?", "fastgen-cpu", "speedup", "sklearn"): 0.25,
        ("gmm - ?", "fastgen-cpu", "floor", "dgemm"): 0.4,
        ("gmm - ?", "numpy", "speedup", "sklearn"): 0.05,
        ("gmm - ?", "sklearn", "speedup", "numpy"): 20.0,
        ("step - ?", "fastgen-numba", "floor", "copy"): 0.25,
    }
    assert plan.decades == 2  # 0.05x and 20x need 10^-2 .. 10^2
    assert [t for _, t in plan.titles] == ["gmm - ?", "step - ?"]  # the peak group is the floor, not a table

    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        assert image.size == (plot.WIDTH, plan.height)
        pixels = np.asarray(image)
    one = plot.speed_x(1.0, plan.decades)
    half = plot.SPEED_W // 2 - 1  # pixels from 1x to 100x
    for bar in plan.bars:
        x0, y0, x1, y1 = bar.box
        if bar.kind == "speedup":
            # the length on the log scale: log10(value) / decades of the half panel, from the 1x line
            assert (x1 - x0) == abs(round(half * math.log10(bar.value) / plan.decades))
            assert (x0 == one) == (bar.value >= 1) and (x1 == one) == (bar.value < 1)
        else:
            assert x1 - x0 == round((plot.FLOOR_W - 1) * bar.value / plan.floor_scale)
        # the box is filled with the bar's colour (away from the 1x line drawn over it)
        inner = pixels[y0 : y1 + 1, x0 + 2 : x1 - 1]
        assert inner.size and (inner == bar.color).all(), bar


def test_plot_grows_by_one_row_per_bar_and_changes_with_the_numbers(tmp_path):
    first, faster, more = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    base = plot.draw(_run(), first)
    plot.draw(_run(cpu_median=0.05), faster)
    grown = plot.draw(_run(extra_impl=True), more)
    # fastgen-numba in the gmm table: two speed-ups (numpy, sklearn), no declared work
    assert grown.height == base.height + 2 * plot.ROW_H
    with Image.open(first) as a, Image.open(faster) as b:
        assert a.size == b.size
        assert not np.array_equal(np.asarray(a), np.asarray(b))  # a longer bar, another label


def test_report_writes_the_plot_from_the_command_line(tmp_path, capsys):
    results, png = tmp_path / "r.json", tmp_path / "r.png"
    import json

    results.write_text(json.dumps(_run()))
    report.main(["report.py", str(results), "--plot", str(png)])
    assert "5.00× | 0.25×" in capsys.readouterr().out  # the table's numpy / this and sklearn / this
    with Image.open(png) as image:
        assert image.format == "PNG" and image.width == plot.WIDTH
