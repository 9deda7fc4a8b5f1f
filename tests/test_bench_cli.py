"""`fastgen bench` (fastgen/cli.py, fastgen/_benchmarks.py): its argument errors come before any
work, and a real run of a tiny suite (the runner, its pytest plugin, the report and the plot,
end to end) takes seconds. The real suite's loops take minutes each even with --quick (a GMM
loop took 3.4 min on this loaded 2-core machine), too long for the test run: the README's
`fastgen bench gmm --quick` is the check of those, run by hand."""
import shutil
import sys
from pathlib import Path

import pytest

from fastgen import _benchmarks, cli

Image = pytest.importorskip("PIL.Image")

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _usage_error(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err


@pytest.fixture
def no_run(monkeypatch):
    """Fails the test if a benchmark run starts."""

    def run(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(_benchmarks, "run", run)


@pytest.fixture
def requirements_met(monkeypatch):
    """As if pytest-benchmark were installed (the `test` extra does not install it)."""
    monkeypatch.setattr(_benchmarks, "check_requirements", lambda: None)


def test_unknown_loop_is_a_usage_error_listing_the_loops(tmp_path, capsys, no_run, requirements_met):
    err = _usage_error(["bench", "gmm", "nope", "--output", str(tmp_path)], capsys)
    assert "unknown loop 'nope'" in err
    assert all(name in err for name in _benchmarks.LOOPS)
    assert list(tmp_path.iterdir()) == []


def test_select_keeps_the_suite_order_and_all_means_every_loop():
    assert _benchmarks.select(["diffusion", "gmm"]) == ["gmm", "diffusion"]
    assert _benchmarks.select([]) == _benchmarks.select(["all"]) == list(_benchmarks.LOOPS)


def test_every_loop_names_nodes_of_the_suite():
    for name, (nodes, _) in _benchmarks.LOOPS.items():
        for node in nodes:
            path, _, function = node.partition("::")
            source = (BENCH / path).read_text()
            assert not function or f"def {function}(" in source, (name, node)


@pytest.mark.parametrize("case", ["file", "missing parent"])
def test_output_is_checked_before_any_work(tmp_path, capsys, no_run, requirements_met, case):
    if case == "file":
        output = tmp_path / "results.md"
        output.write_text("")
        expected = "is a file"
    else:
        output = tmp_path / "no" / "such"
        expected = "does not exist"
    err = _usage_error(["bench", "gmm", "--quick", "--output", str(output)], capsys)
    assert f"--output {output}" in err and expected in err


def test_a_new_output_directory_in_an_existing_one_is_accepted(tmp_path):
    assert _benchmarks.check_output_directory(str(tmp_path / "new")) == tmp_path / "new"
    assert not (tmp_path / "new").exists()  # made when the run starts


def test_missing_pytest_benchmark_names_the_extra(monkeypatch, tmp_path, capsys, no_run):
    real = _benchmarks.find_spec
    monkeypatch.setattr(_benchmarks, "find_spec", lambda name: None if name == "pytest_benchmark" else real(name))
    err = _usage_error(["bench", "gmm", "--output", str(tmp_path)], capsys)
    assert "pytest-benchmark" in err and "pip install 'fastgen[bench]'" in err


TINY_PEAKS = '''
import numpy as np


def test_peak_copy(benchmark):
    source, target = np.ones(1 << 16), np.empty(1 << 16)
    benchmark.group = "peak"
    benchmark.extra_info.update(impl="copy", peak="copy", bytes=2 * source.nbytes)
    benchmark.pedantic(np.copyto, args=(target, source), rounds=3)
'''

TINY_LOOP = '''
import time

import pytest


@pytest.mark.parametrize("impl", ["fastgen-cpu", "numpy", "fastgen-cuda"])
def test_tiny(benchmark, impl):
    if impl == "fastgen-cuda":
        pytest.skip("no GPU in the tiny suite")
    benchmark.group = "tiny"
    benchmark.extra_info.update(impl=impl, bytes=1000)
    benchmark.pedantic(time.sleep, args=(0.002 if impl == "numpy" else 0.001,), rounds=3)
'''


@pytest.fixture
def tiny_suite(tmp_path, monkeypatch):
    """A suite of two tiny benchmark files, with the real suite's conftest.py and modules."""
    pytest.importorskip("pytest_benchmark")
    suite = tmp_path / "suite"
    suite.mkdir()
    for name in ("conftest.py", "baselines.py", "datasets.py", "machine.py", "report.py", "plot.py"):
        shutil.copy(BENCH / name, suite / name)
    (suite / "test_peaks.py").write_text(TINY_PEAKS)
    (suite / "test_tiny.py").write_text(TINY_LOOP)
    monkeypatch.setattr(_benchmarks, "suite_directory", lambda: suite)
    monkeypatch.setattr(_benchmarks, "LOOPS", {"tiny": (["test_tiny.py::test_tiny"], "sleeps")})
    return suite


def test_a_run_writes_the_report_and_the_plot(tiny_suite, tmp_path, capsys):
    out = tmp_path / "results"  # made by the run
    assert cli.main(["bench", "tiny", "--quick", "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == sorted(_benchmarks.OUTPUTS)
    markdown = (out / "fastgen-bench.md").read_text()
    assert markdown in captured.out
    assert "fastgen bench tiny --quick --output" in markdown  # the command, in the report
    assert "| `fastgen-cpu` |" in markdown and "| `numpy` |" in markdown and "fastgen-cuda" not in markdown
    assert "skipped 1 (test_tiny[fastgen-cuda]): no GPU in the tiny suite" in captured.out
    # the bar: 3 benchmarks run and 1 skipped, on stderr
    assert "benchmarks: 100%" in captured.err and "4/4" in captured.err
    with Image.open(out / "fastgen-bench.png") as image:
        assert image.format == "PNG" and image.width == 1200


def test_a_failed_benchmark_fails_the_command(tiny_suite, tmp_path, capsys):
    (tiny_suite / "test_tiny.py").write_text(TINY_LOOP.replace("benchmark.pedantic", "1 / 0; benchmark.pedantic"))
    assert cli.main(["bench", "tiny", "--output", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED 2: test_tiny[fastgen-cpu], test_tiny[numpy]" in out and "fastgen-bench.log" in out
    assert "ZeroDivisionError" in (tmp_path / "fastgen-bench.log").read_text()


def test_the_progress_plugin_is_silent_outside_the_command(monkeypatch):
    from fastgen import _bench_progress

    monkeypatch.delenv("FASTGEN_BENCH_PROGRESS_FD", raising=False)
    monkeypatch.setattr(_bench_progress, "_stream", None)
    _bench_progress._send(event="collected", count=1)  # no descriptor: nothing written, no error
    assert _bench_progress._stream is None


def test_the_command_runs_the_interpreter_it_was_started_with(tiny_suite, tmp_path):
    command = _benchmarks.pytest_command(tiny_suite, ["tiny"], tmp_path / "r.json")
    assert command[:3] == [sys.executable, "-m", "pytest"]
    assert command[3:5] == [str(tiny_suite / "test_peaks.py"), str(tiny_suite / "test_tiny.py::test_tiny")]
