"""`fastgen bench`: runs the benchmark suite (pytest-benchmark) for some loops, with a bar that
ticks once per benchmark, then writes the report's Markdown tables and its PNG.

The suite is bench/ of the repository. A wheel ships it as fastgen/_bench_suite (CMakeLists.txt
installs bench/*.py there, without the results); in a checkout (an editable install), the
checkout's bench/ is used, so that edits to it count. The suite runs in a pytest process of
its own, as bench/run.sh runs it: its torch baseline needs a process whose OpenMP runtime
torch has not met, and pytest runs once per process.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path

# name: (pytest node ids in the suite, what it times)
LOOPS = {
    "cd1": (["test_rbm_epoch.py::test_cd1_epoch"], "one CD-1 epoch of a 784 x 500 binary RBM (fastgen, NumPy, "
            "scikit-learn, torch)"),
    "cd10": (["test_rbm_epoch.py::test_cd10_epoch"], "one CD-10 epoch of the same RBM"),
    "ais": (["test_rbm_ais.py"], "log Z of a 784 x 500 RBM by annealed importance sampling (fastgen, NumPy)"),
    "pt": (["test_rbm_pt.py"], "parallel tempering of binary RBMs (64 x 150 digits, 784 x 500) and their free "
           "energy (fastgen, NumPy)"),
    "dbm": (["test_dbm_mean_field.py"], "the mean-field pass of a deep Boltzmann machine"),
    "gbrbm": (["test_gbrbm_epoch.py"], "one CD-1 epoch of a Gaussian-Bernoulli RBM"),
    "gmm": (["test_gmm_em.py"], "Gaussian-mixture EM: one iteration, the whole fit, the k-means init "
            "(fastgen, scikit-learn)"),
    "diffusion": (["test_diffusion_step.py"], "one DDPM and one DDIM step (fastgen, diffusers)"),
    "mmd": (["test_mmd.py"], "MMD^2 with a Gaussian kernel (fastgen, NumPy, torch)"),
    "nade": (["test_nade.py"], "NADE log-likelihood and sampling (fastgen, NumPy)"),
}
# the machine's floor (dgemm, sgemm, copy), measured in every run for the share-of-floor column
PEAKS = "test_peaks.py"

# --quick: smaller problems through the suite's own knobs (a tenth of the GMM's rows, a quarter
# of the diffusion batch and of the MMD samples, 300 annealing steps, 50 tempering sweeps). The loops without a knob
# (cd1, cd10, dbm, gbrbm, nade) keep their sizes (10,000 rows: an epoch takes about a second on
# 2 cores), and every benchmark keeps its rounds (fixed in the suite's files). A knob already
# set in the environment wins.
QUICK = {
    "FASTGEN_BENCH_GMM_N": "20000",  # rows (200,000)
    "FASTGEN_BENCH_STEP_SHAPE": "16,3,32,32",  # the diffusion batch (64,3,32,32)
    "FASTGEN_BENCH_AIS_STEPS": "300",  # annealing steps (14,500)
    "FASTGEN_BENCH_PT_STEPS": "50",  # parallel tempering sweeps (200)
    "FASTGEN_BENCH_MMD_N": "1024",  # rows of each sample (4,096)
}

OUTPUTS = ("fastgen-bench.json", "fastgen-bench.md", "fastgen-bench.png", "fastgen-bench.log")


class Unavailable(RuntimeError):
    """What the benchmarks need is not installed (the message says what to install)."""


def suite_directory() -> Path:
    """The benchmark suite: the checkout's bench/ next to this package, else the installed copy."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "bench", here / "_bench_suite"):
        if (candidate / PEAKS).is_file() and (candidate / "report.py").is_file():
            return candidate
    raise Unavailable(f"the benchmark suite is not installed (neither {here.parent / 'bench'} nor "
                      f"{here / '_bench_suite'} holds it); reinstall fastgen: pip install 'fastgen[bench]'")


def check_requirements() -> None:
    """Unavailable unless pytest and pytest-benchmark can be imported."""
    missing = [name for name, module in (("pytest", "pytest"), ("pytest-benchmark", "pytest_benchmark"))
               if find_spec(module) is None]
    if missing:
        raise Unavailable(f"needs {' and '.join(missing)}, which the extra 'bench' installs: "
                          "pip install 'fastgen[bench]'")


def select(names: list[str]) -> list[str]:
    """The loops named (all of them for none or 'all'), in LOOPS order; ValueError naming the
    unknown ones and listing the known."""
    if not names or "all" in names:
        return list(LOOPS)
    unknown = [name for name in names if name not in LOOPS]
    if unknown:
        raise ValueError(f"unknown loop {', '.join(map(repr, unknown))}; the loops are: {', '.join(LOOPS)} "
                         "(or all)")
    return [name for name in LOOPS if name in names]


def check_output_directory(path: str) -> Path:
    """The directory for the results, resolved: an existing writable directory, or a new one in
    an existing writable directory (made when the run starts); ValueError otherwise, before any
    work. The files written there (OUTPUTS) must be writable if they exist."""
    out = Path(path).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise ValueError(f"--output {path} is a file; give a directory for the results")
    parent = out if out.is_dir() else out.parent
    if not parent.is_dir():
        raise ValueError(f"--output {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--output {path}: no permission to write in {parent}")
    for name in OUTPUTS:
        if (out / name).exists() and not os.access(out / name, os.W_OK):
            raise ValueError(f"--output {path}: no permission to overwrite {out / name}")
    return out


def pytest_command(suite: Path, loops: list[str], json_path: Path) -> list[str]:
    nodes = [str(suite / PEAKS)] + [str(suite / node) for name in loops for node in LOOPS[name][0]]
    return [sys.executable, "-m", "pytest", *nodes, "-q", "-p", "no:cacheprovider", "-p", "fastgen._bench_progress",
            "--benchmark-only", f"--benchmark-json={json_path}"]


def run(loops: list[str], out: Path, quick: bool, command_line: str) -> int:
    """Runs the suite for `loops` into `out` (checked by check_output_directory), writes the
    report and prints it; pytest's exit status (0: every benchmark ran or was skipped)."""
    from . import _progress

    suite = suite_directory()
    out.mkdir(exist_ok=True)
    json_path, md_path, png_path, log_path = (out / name for name in OUTPUTS)
    # its own pytest session: a pytest-xdist worker's variables (a `fastgen bench` run from a test
    # under `pytest -n`) would make pytest-benchmark disable the benchmarks
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_XDIST")}
    env["FASTGEN_BENCH_COMMAND"] = command_line
    if quick:
        for knob, value in QUICK.items():
            env.setdefault(knob, value)
    if json_path.exists():
        json_path.unlink()  # a failed run must not leave the last run's numbers to report
    read_end, write_end = os.pipe()
    env["FASTGEN_BENCH_PROGRESS_FD"] = str(write_end)
    skipped: dict[str, list[str]] = {}
    failed: list[str] = []
    with open(log_path, "w") as log, tempfile.TemporaryDirectory(prefix="fastgen-bench-") as scratch:
        # a working directory of its own: from a checkout's root, `import fastgen` would find
        # the source folder instead of the installed package, and pytest-benchmark leaves a
        # .benchmarks folder where it runs
        process = subprocess.Popen(pytest_command(suite, loops, json_path), cwd=scratch, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, pass_fds=(write_end,))
        os.close(write_end)
        with os.fdopen(read_end) as messages, _progress.bar(True, 0, "benchmarks", unit="benchmark") as bar:
            for line in messages:
                message = json.loads(line)
                if message["event"] == "collected":
                    bar.total = message["count"]
                    bar.refresh()
                    continue
                bar.update()
                name = message["nodeid"].rsplit("::", 1)[-1]
                bar.set_postfix_str(f"last: {name[:40]}")
                if message["outcome"] == "skipped":
                    skipped.setdefault(message["reason"], []).append(name)
                elif message["outcome"] == "failed":
                    failed.append(name)
        status = process.wait()
    for reason, names in skipped.items():
        print(f"skipped {len(names)} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}): {reason}")
    if failed:
        print(f"FAILED {len(failed)}: {', '.join(failed)}; pytest's output is in {log_path}")
    if not json_path.exists():
        print(f"no results (pytest exit status {status}); pytest's output is in {log_path}", file=sys.stderr)
        return status or 1
    with open(md_path, "w") as md:
        subprocess.run([sys.executable, str(suite / "report.py"), str(json_path), "--plot", str(png_path)],
                       stdout=md, check=True)
    print(md_path.read_text())
    print(f"wrote {md_path}, {png_path} (the plot), {json_path} (pytest-benchmark's) and {log_path}")
    return status


def command_line(argv: list[str]) -> str:
    return shlex.join(["fastgen", *argv])
