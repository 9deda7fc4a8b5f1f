"""Markdown table from a pytest-benchmark JSON file of the benchmark suite.

Usage: python bench/report.py results.json [--plot results.png] > results.md

Per benchmark group (cd1-epoch, cd10-epoch, rbm-ais, ...) and dataset: each implementation's
median time over the timed rounds, and the speed-ups `numpy time / this time` and
(CD-1) `sklearn time / this time`: above 1 means faster than that baseline. The AIS group
also shows each implementation's log Z estimate with its standard error.
"""
from __future__ import annotations

import json
import os
import platform
import re
import sys
from datetime import datetime

from machine import cpu_model

# the peaks of bench/test_peaks.py, and which one bounds a benchmark that declares its work
PEAK_UNITS = {"dgemm": ("GFLOP/s", 1e9), "sgemm": ("GFLOP/s", 1e9), "copy": ("GB/s", 1e9)}

IMPL_ORDER = ["dgemm", "sgemm", "copy", "fastgen-cpu", "fastgen-numba", "fastgen-cuda", "numpy", "sklearn", "torch-cpu", "torch-cuda"]


def _version_now(name):
    try:
        return getattr(__import__(name), "__version__", "?")
    except Exception:
        return "not importable"


def _impl(bench):
    return (bench.get("extra_info") or {}).get("impl") or (bench.get("params") or {}).get("impl") or bench["name"]


def _dataset(bench):
    extra = bench.get("extra_info") or {}
    if "dataset" in extra and "n_samples" in extra:
        density = f", density {extra['density']:.3f}" if "density" in extra else ""
        return f"{extra['dataset']} ({extra['n_samples']} x {extra.get('n_visible', '?')}{density})"
    if "dataset" in extra:
        return extra["dataset"]
    match = re.search(r"\[(?:[^-\]]+-)*?([a-z]+-\d+x\d+)\]$", bench["name"])
    return match.group(1) if match else "?"


def _table_key(bench):
    """The rows of one table: the dataset, and the benchmark's other parameters (e.g. a GMM's
    covariance type and dtype) apart from the implementation."""
    params = {k: v for k, v in (bench.get("params") or {}).items() if k not in ("impl", "dataset")}
    settings = ", ".join(f"{k} {v}" for k, v in sorted(params.items()))
    dataset = _dataset(bench)
    return ", ".join(part for part in (None if dataset == "?" and settings else dataset, settings) if part)


def _group_key(group):
    # the epoch groups first, by k (cd1 before cd10), then the others by name
    match = re.fullmatch(r"cd(\d+)-epoch", group or "")
    return (0, int(match.group(1)), "") if match else (1, 0, group or "")


def peaks(data):
    """{peak name: rate} measured in this run (flop/s or byte/s), from bench/test_peaks.py."""
    rates = {}
    for bench in data.get("benchmarks", []):
        extra = bench.get("extra_info") or {}
        if "peak" in extra:
            rates[extra["peak"]] = (extra.get("flops") or extra["bytes"]) / bench["stats"]["median"]
    return rates


def _floor(bench):
    """(name of the peak that bounds this benchmark, its work per call) or None: extra_info
    "floor" names it; otherwise "bytes" means copy, and "flops" means sgemm for float32
    work and dgemm for anything else."""
    extra = bench.get("extra_info") or {}
    if "peak" in extra:
        return extra["peak"], extra.get("flops") or extra["bytes"]
    if "bytes" in extra:
        return extra.get("floor", "copy"), extra["bytes"]
    if "flops" in extra:
        dtypes = " ".join(str(v) for v in [extra.get("dtype"), *(bench.get("params") or {}).values()])
        return extra.get("floor", "sgemm" if "float32" in dtypes or "f32" in dtypes else "dgemm"), extra["flops"]
    return None


def share_of_floor(bench, rates):
    """(name of the bounding peak, achieved rate / that peak's rate, achieved rate in flop/s or
    byte/s) for a benchmark that declares its work, measured against the peaks of the same run;
    None otherwise. The table and the plot both show it."""
    floor = _floor(bench)
    if floor is None or floor[0] not in rates:
        return None
    name, work = floor
    rate = work / bench["stats"]["median"]
    return name, rate / rates[name], rate


def _share_of_floor(bench, rates):
    """This benchmark's achieved rate as a share of its floor measured in the same run, as text."""
    share = share_of_floor(bench, rates)
    if share is None:
        return ""
    name, fraction, rate = share
    unit, scale = PEAK_UNITS[name]
    return f"{100 * fraction:.0f}% of {name} ({rate / scale:.1f} {unit})"


def speedup(baseline, bench):
    """How many times faster `bench` is than `baseline` (two benchmarks of one table): the ratio
    of their median times, above 1 when faster."""
    return baseline["stats"]["median"] / bench["stats"]["median"]


BASELINES = ("numpy", "sklearn", "diffusers", "torch-cuda")


def grouped(data):
    """The tables of a run, in report order: (group, dataset, {implementation: benchmark} in
    IMPL_ORDER, the baselines present in that table)."""
    groups = {}
    for bench in data.get("benchmarks", []):
        groups.setdefault(bench.get("group") or "(no group)", {}).setdefault(_table_key(bench), []).append(bench)
    for group in sorted(groups, key=_group_key):
        for dataset, benches in groups[group].items():
            by_impl = {_impl(b): b for b in benches}
            order = sorted(by_impl, key=lambda i: (IMPL_ORDER.index(i) if i in IMPL_ORDER else len(IMPL_ORDER), i))
            yield group, dataset, {i: by_impl[i] for i in order}, [r for r in BASELINES if r in by_impl]


def _fmt_time(seconds):
    if seconds >= 0.1:
        return f"{seconds:.3f} s"
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.0f} µs"


def header(data):
    machine = data.get("machine_info", {})
    env = machine.get("fastgen_bench", {})
    measured_now = []

    cpu = env.get("cpu_model") or (machine.get("cpu") or {}).get("brand_raw")
    if not cpu:
        cpu, _ = cpu_model(), measured_now.append("CPU model")
    cores = env.get("cpu_count") or (machine.get("cpu") or {}).get("count")
    if not cores:
        cores, _ = os.cpu_count(), measured_now.append("cores")
    versions = dict(env.get("versions") or {})
    for name in ("numpy", "numba", "sklearn", "torch", "fastgen"):
        if name not in versions:
            versions[name] = _version_now(name)
            measured_now.append(name)
    python = env.get("python") or machine.get("python_version") or platform.python_version()

    when = data.get("datetime", "")
    try:
        when = datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M %Z")
    except ValueError:
        pass
    commit = data.get("commit_info") or {}
    commit_text = commit.get("id", "?")[:12] + (" (dirty)" if commit.get("dirty") else "") if commit.get("id") else "?"

    lines = [
        "# fastgen benchmarks",
        "",
        f"- date: {when}",
        f"- machine: {cpu}, {cores} cores"
        + (f" ({env['cpu_affinity']} usable)" if env.get("cpu_affinity") not in (None, cores) else "")
        + f", {machine.get('system', '')} {machine.get('release', '')}".rstrip(),
        f"- python {python}; " + ", ".join(f"{k} {v}" for k, v in versions.items()),
    ]
    if env.get("fastgen_backends") is not None:
        lines.append(f"- fastgen backends available: {', '.join(env['fastgen_backends'])}")
    threads = [
        " ".join(filter(None, [p.get("internal_api"), p.get("version")]))
        + f" ({os.path.basename(p.get('filepath') or '?')}): {p.get('num_threads')} threads"
        for p in env.get("threadpools", [])
    ]
    worker = next(
        (b["extra_info"] for b in data.get("benchmarks", []) if "worker_torch_threads" in (b.get("extra_info") or {})), None
    )
    if worker:
        threads.append(
            f"torch-cpu in its own process: {worker['worker_torch_threads']} intra-op threads, "
            f"OMP_WAIT_POLICY {worker.get('worker_OMP_WAIT_POLICY')}"
        )
    if env.get("torch_in_main_process"):
        threads.append("WARNING: torch was imported in the benchmark process")
    if threads:
        lines.append(f"- thread pools: {'; '.join(threads)}")
    if env.get("loadavg_start") or env.get("loadavg_end"):
        lines.append(
            f"- load average (1/5/15 min) at start: {env.get('loadavg_start')}, at end: {env.get('loadavg_end')} "
            "(well above 0 at start means other work shared the CPUs)"
        )
    if env.get("thread_env"):
        lines.append(f"- environment: {' '.join(f'{k}={v}' for k, v in env['thread_env'].items())}")
    lines.append(f"- commit: {commit_text}" + (f" on {commit['branch']}" if commit.get("branch") else ""))
    if measured_now:
        lines.append(f"- (not in the JSON, measured when writing the report: {', '.join(measured_now)})")
    lines += ["", "Command:", "", "```", data.get("command", "(not recorded)"), "```", ""]

    benches = data.get("benchmarks", [])
    epoch_benches = [b for b in benches if re.fullmatch(r"cd\d+-epoch", b.get("group") or "")]
    extra = next((b.get("extra_info") for b in epoch_benches if b.get("extra_info")), {})
    if extra:
        lines += [
            f"Problem: one epoch (n_iter={extra.get('n_iter')}) over {extra.get('n_samples')} binary float32 rows of "
            f"{extra.get('n_visible')} visible units, {extra.get('n_hidden')} hidden units, batch size "
            f"{extra.get('batch_size')}, learning rate {extra.get('learning_rate')}. fastgen, numpy and torch run "
            "plain CD-k (persistent=False); scikit-learn's BernoulliRBM runs PCD-1 and is in the CD-1 group only.",
            "",
        ]
    ais = next((b.get("extra_info") for b in benches if "log_z" in (b.get("extra_info") or {})), {})
    if ais:
        lines += [
            f"Problem (rbm-ais): log Z of a {ais.get('n_visible')} x {ais.get('n_hidden')} binary float32 RBM (trained "
            f"for {ais.get('train_epochs')} CD-1 epochs on the dataset) by annealed importance sampling: "
            f"{ais.get('n_chains')} chains, {ais.get('n_steps')} annealing steps"
            + (" (the default schedule)" if ais.get("n_steps") == 14500 else " (NOT the default 14,500)")
            + ", base visible biases from the data; the same algorithm in fastgen (one fused chain walker) and in "
            "plain NumPy (one Python iteration per step, BLAS products), one timed run each.",
            "",
        ]
    return lines


def tables(data):
    rates = peaks(data)
    lines = []
    for group, dataset, by_impl, refs in grouped(data):
        benches = list(by_impl.values())
        extras = [b.get("extra_info") or {} for b in benches]
        optional = [
            (label, key, fmt)
            for label, key, fmt in (
                ("‖W‖_F", "weight_norm", "{:.2f}"),
                ("log Ẑ ± σ̂", "log_z", None),
                ("cores used", "own_cores", "{:.2f}"),
                ("other load", "other_cores", "{:.2f}"),
            )
            if any(key in e for e in extras)
        ]
        lines += [f"## {group} — {dataset}", ""]
        cols = ["implementation", "algorithm", "median", "min", "rounds"] + [f"{r} / this" for r in refs]
        cols += [label for label, _, _ in optional]
        floors = [_share_of_floor(b, rates) for b in by_impl.values()]
        if any(floors):
            cols.append("share of floor")
        lines += ["| " + " | ".join(cols) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(cols) - 2)) + "|"]
        for impl, b in by_impl.items():
            extra = b.get("extra_info") or {}
            row = [
                f"`{impl}`",
                extra.get("algorithm", ""),
                _fmt_time(b["stats"]["median"]),
                _fmt_time(b["stats"]["min"]),
                str(b["stats"]["rounds"]),
            ]
            row += [f"{speedup(by_impl[r], b):.2f}×" for r in refs]
            for _, key, fmt in optional:
                if key not in extra:
                    row.append("")
                elif key == "log_z":
                    row.append(f"{extra['log_z']:.3f} ± {extra.get('log_z_std', float('nan')):.3f}")
                else:
                    row.append(fmt.format(extra[key]))
            if any(floors):
                row.append(_share_of_floor(b, rates))
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    lines += [
        "`X / this` = median time of X divided by this implementation's median (above 1: faster than X). "
        + (
            "‖W‖_F: Frobenius norm of the weights after the epoch (the same algorithm should give similar values; "
            "random streams differ between implementations). "
            if any("weight_norm" in (b.get("extra_info") or {}) for b in data.get("benchmarks", []))
            else ""
        )
        + (
            "log Ẑ ± σ̂ (AIS): the estimate of log Z and its standard error std(w) / (sqrt(n) mean(w)); the "
            "benchmark checks that the implementations agree within 3 combined σ̂ (fastgen cpu and numba draw the "
            "same numbers). "
            if any("log_z" in (b.get("extra_info") or {}) for b in data.get("benchmarks", []))
            else ""
        )
        + (
            "share of floor: the work one call must do (extra_info flops or bytes, counted in the benchmark) per "
            "median time, as a share of this machine's peak measured in the same run (group peak: dgemm and sgemm "
            "through NumPy's BLAS, copy bandwidth counting one read and one write per byte). "
            if rates
            else ""
        )
        + "cores used: CPU time of the benchmark process (plus the torch worker's) / wall time; other load: CPU time "
        "of everything else on the machine (incl. hypervisor steal) / wall time, about 0 when the timings are clean.",
        "",
    ]
    return lines


def main(argv):
    import argparse

    parser = argparse.ArgumentParser(prog=os.path.basename(argv[0]), description="Markdown tables (on stdout) and, "
                                     "with --plot, a PNG of a pytest-benchmark JSON file of the benchmark suite")
    parser.add_argument("results", help="the --benchmark-json file")
    parser.add_argument("--plot", metavar="PNG", help="also draw the speed-ups and shares of floor into this PNG")
    args = parser.parse_args(argv[1:])
    with open(args.results) as f:
        data = json.load(f)
    print("\n".join(header(data) + tables(data)))
    if args.plot:
        import plot

        plot.draw(data, args.plot)


if __name__ == "__main__":
    main(sys.argv)
