"""Log-likelihood of a binary RBM trained on MNIST, estimated by annealed importance sampling.

Trains fastgen.BernoulliRBM (500 hidden units, CD-25) on the first 9,000 images of the MNIST test set
(t10k-images-idx3-ubyte.gz, binarized at 0.5: pixel / 255 > 0.5), keeps the last 1,000 for testing,
estimates log Z by AIS (fastgen.rbm.log_partition_ais: 100 chains, the default 14,500-step schedule of
Salakhutdinov & Murray, base visible biases from the training data) and writes
<out>/mnist-rbm-ais-<date>.json and .md: the mean log-likelihood of the test and training images,
mean(-F(v)) - log Z, with the bounds from log Z's +-3 sigma interval, log Z, the settings, the times, the machine.

For orientation: Salakhutdinov & Murray (2008) report -86.34 nats on the MNIST test set for CD-25 with 500 hidden
units trained on the full 60,000-image training set; 9,000 training images give a lower figure.

Run from the repository root (a full run takes many minutes; see --help):

    python bench/mnist_loglik.py --epochs 100
    python bench/mnist_loglik.py --epochs 1 --chains 4 --ais-steps 1000 --out /tmp/mnist-test   # smoke test

The images come from --mnist, else $FASTGEN_MNIST (a directory or the file), else
../shared/data/mnist/t10k-images-idx3-ubyte.gz next to the repository.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import baselines  # noqa: E402  (after the sys.path entry)
import datasets  # noqa: E402
from machine import cpu_model  # noqa: E402

N_TRAIN = 9000
DEFAULT_MNIST = os.path.join(REPO, "..", "shared", "data", "mnist", datasets.MNIST_TEST_IMAGES)
REFERENCE = "Salakhutdinov & Murray (2008): -86.34 nats, CD-25, 500 hidden units, 60,000 training images"


def parse_common(p, argv, counts):
    """Add the AIS, seed, backend and file options that both MNIST scripts take to parser `p`, parse
    `argv`, and check that the options `counts` (dest names) and --chains are >= 1."""
    p.add_argument("--chains", type=int, default=100, help="AIS chains (default 100)")
    p.add_argument(
        "--ais-steps", type=int, default=None,
        help="AIS steps: the default schedule (14,500 steps) resampled to this many (for tests; default: the full one)",
    )
    p.add_argument("--seed", type=int, default=0, help="random_state of the training and seed of AIS (default 0)")
    p.add_argument("--backend", default="cpu", help="fastgen backend for training and AIS (default cpu)")
    p.add_argument("--mnist", default=None, help="t10k-images-idx3-ubyte.gz or its directory")
    p.add_argument("--out", default=os.path.join("bench", "results"), help="output directory (default bench/results/)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="progress bars of the long steps: AIS, and the DBM's training (default: shown)")
    args = p.parse_args(argv)
    for name in (*counts, "chains"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.ais_steps is not None and args.ais_steps < 1:
        p.error("--ais-steps must be >= 1")
    return args


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--epochs", type=int, default=100, help="training epochs (default 100)")
    p.add_argument("--cd-k", type=int, default=25, help="Gibbs sweeps per update (default 25)")
    p.add_argument("--persistent", action="store_true", help="PCD-k instead of CD-k")
    p.add_argument("--hidden", type=int, default=500, help="hidden units (default 500)")
    p.add_argument("--learning-rate", type=float, default=0.05, help="(default 0.05)")
    p.add_argument("--batch-size", type=int, default=100, help="(default 100)")
    p.add_argument("--momentum", type=float, default=0.9, help="momentum after --momentum-epochs epochs (default 0.9)")
    p.add_argument("--initial-momentum", type=float, default=0.5, help="momentum of the first epochs (default 0.5)")
    p.add_argument("--momentum-epochs", type=int, default=5, help="epochs at --initial-momentum (default 5)")
    p.add_argument("--weight-decay", type=float, default=2e-4, help="L2 weight decay (default 2e-4)")
    args = parse_common(p, argv, ("epochs", "cd_k", "hidden", "batch_size"))
    if 0 < args.momentum_epochs < args.epochs and args.initial_momentum != args.momentum and args.initial_momentum == 0:
        p.error("--initial-momentum 0 cannot be switched to --momentum (the estimator keeps no velocity without it)")
    return args


def mnist_path(option):
    """The image file: --mnist, else $FASTGEN_MNIST, else the shared data directory (each a file or directory)."""
    for candidate in (option, os.environ.get(datasets.MNIST_ENV_VAR), DEFAULT_MNIST):
        if not candidate:
            continue
        path = os.path.join(candidate, datasets.MNIST_TEST_IMAGES) if os.path.isdir(candidate) else candidate
        if os.path.isfile(path):
            return os.path.abspath(path)
        if candidate == option:
            sys.exit(f"--mnist {option}: no {datasets.MNIST_TEST_IMAGES} there")
    sys.exit(f"MNIST test images not found: pass --mnist or set {datasets.MNIST_ENV_VAR} (tried {DEFAULT_MNIST})")


def load_mnist(path):
    """(train, test) float32 of 0/1: the first 9,000 and the last 1,000 images, binarized at 0.5."""
    images = datasets.read_idx_images(path)
    X = (images.reshape(len(images), -1) / 255.0 > 0.5).astype(np.float32)
    if len(X) <= N_TRAIN:
        sys.exit(f"{path}: {len(X)} images, need more than {N_TRAIN}")
    return X[:N_TRAIN], X[N_TRAIN:]


def _set_momentum(epochs, model, value):
    """Switch the momentum of a running fit_iter: BernoulliRBM has no momentum schedule, so this sets it on the
    generator's trainer (fastgen internals, checked; the velocity carries over)."""
    frame = getattr(epochs, "gi_frame", None)
    trainer = frame.f_locals.get("trainer") if frame is not None else None
    if trainer is None or getattr(trainer, "velocity", None) is None or not hasattr(trainer, "momentum"):
        sys.exit(
            "cannot switch the momentum during training with this fastgen version; "
            "run with --initial-momentum equal to --momentum"
        )
    trainer.momentum = value
    model.momentum = value


def train(args, X_train, X_test):
    """The fitted model, its training time (the per-epoch free energies left out) and the per-epoch history."""
    import fastgen

    switch = 0 < args.momentum_epochs < args.epochs and args.initial_momentum != args.momentum
    model = fastgen.BernoulliRBM(
        n_components=args.hidden,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        n_iter=args.epochs,
        cd_k=args.cd_k,
        persistent=args.persistent,
        momentum=args.initial_momentum if args.momentum_epochs > 0 else args.momentum,
        weight_decay=args.weight_decay,
        random_state=args.seed,
        backend=args.backend,
    )
    history = []
    train_seconds = 0.0
    epochs = model.fit_iter(X_train)
    start = time.perf_counter()
    for epoch in epochs:
        train_seconds += time.perf_counter() - start
        # progress: mean -F on train and test (a growing gap shows overfitting), not timed
        neg_f_train = float(-model.free_energy(X_train).mean())
        neg_f_test = float(-model.free_energy(X_test).mean())
        history.append({"epoch": epoch, "seconds": round(train_seconds, 2), "mean_neg_F_train": round(neg_f_train, 3),
                        "mean_neg_F_test": round(neg_f_test, 3)})
        print(f"epoch {epoch:4d}  {train_seconds:8.1f} s  mean -F: train {neg_f_train:9.3f}  test {neg_f_test:9.3f}",
              flush=True)
        if switch and epoch == args.momentum_epochs:
            _set_momentum(epochs, model, args.momentum)
        start = time.perf_counter()
    return model, train_seconds, history


def _finite(x):
    return float(x) if math.isfinite(x) else None


def _version(distribution):
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit():
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True)
        return commit.stdout.strip() + (" (dirty)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def machine_info():
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "loadavg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "thread_env": {k: os.environ[k] for k in sorted(os.environ) if k.endswith("_NUM_THREADS")},
    }


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(["mnist_loglik.py", *argv])
    path = mnist_path(args.mnist)
    X_train, X_test = load_mnist(path)
    print(f"MNIST {path}: train {X_train.shape}, test {X_test.shape}, density {X_train.mean():.4f}", flush=True)
    load_start = machine_info()["loadavg"]
    import fastgen.rbm as partition
    model, train_seconds, history = train(args, X_train, X_test)

    W = np.ascontiguousarray(model.components_.T)
    b = np.ascontiguousarray(model.intercept_visible_)
    c = np.ascontiguousarray(model.intercept_hidden_)
    base = partition.base_visible_bias(X_train).astype(W.dtype)
    betas = baselines.ais_betas(args.ais_steps)
    start = time.perf_counter()
    ais = partition.log_partition_ais(
        W, b, c, n_chains=args.chains, betas=betas, base_visible_bias=base, seed=args.seed, backend=args.backend,
        progress=args.progress,
    )
    ais_seconds = time.perf_counter() - start
    print(f"AIS: log Z = {ais.log_z:.3f} +- {ais.log_z_std:.3f} [{ais.log_z_lower:.3f}, {ais.log_z_upper:.3f}], "
          f"{ais_seconds:.1f} s", flush=True)

    loglik = {}
    for name, X in (("test", X_test), ("train", X_train)):
        neg_f = float(-model.free_energy(X).mean())
        loglik[name] = {
            "n_images": len(X),
            "mean_neg_free_energy": neg_f,
            "mean_log_likelihood": neg_f - ais.log_z,
            "lower": _finite(neg_f - ais.log_z_upper),
            "upper": _finite(neg_f - ais.log_z_lower),
        }
        print(f"{name}: mean log p(v) = {neg_f - ais.log_z:.3f} nats "
              f"[{neg_f - ais.log_z_upper:.3f}, {neg_f - ais.log_z_lower:.3f}]", flush=True)

    now = datetime.now(timezone.utc)
    result = {
        "date": now.isoformat(timespec="seconds"),
        "command": command,
        "data": {"file": path, "train": f"first {N_TRAIN} images", "test": f"last {len(X_test)} images",
                 "binarized": "pixel / 255 > 0.5", "train_density": float(X_train.mean())},
        "training": {
            "estimator": "fastgen.BernoulliRBM",
            "algorithm": f"{'PCD' if args.persistent else 'CD'}-{args.cd_k}",
            "n_hidden": args.hidden, "epochs": args.epochs, "learning_rate": args.learning_rate,
            "batch_size": args.batch_size, "initial_momentum": args.initial_momentum,
            "momentum_epochs": args.momentum_epochs, "momentum": args.momentum, "weight_decay": args.weight_decay,
            "random_state": args.seed, "backend": args.backend, "seconds": round(train_seconds, 2),
            "history": history,
        },
        "ais": ais_record(ais, args, betas, ais_seconds, len(partition.default_ais_betas())),
        "log_likelihood": loglik,
        "reference": REFERENCE,
        **environment_record(load_start),
    }
    save(result, args.out, f"mnist-rbm-ais-{now:%Y-%m-%d}", markdown)
    return result


def ais_record(ais, args, betas, seconds, n_default_betas):
    """The "ais" entry of a result: the AIS settings of `args` (chains, seed) and the AISResult."""
    return {
        "n_chains": args.chains, "n_steps": len(betas) - 1,
        "schedule": "default" if len(betas) == n_default_betas else "default, resampled",
        "base_visible_bias": "base_visible_bias(training images)", "seed": args.seed,
        "log_z": ais.log_z, "log_z_std": ais.log_z_std, "log_z_lower": _finite(ais.log_z_lower),
        "log_z_upper": _finite(ais.log_z_upper), "log_z_base": ais.log_z_base,
        "log_weights": [float(x) for x in np.asarray(ais.log_weights)], "seconds": round(seconds, 2),
    }


def environment_record(load_start):
    """The "machine", "versions" and "commit" entries of a result."""
    import fastgen

    return {
        "machine": {**machine_info(), "loadavg_start": load_start},
        "versions": {"fastgen": _version("fastgen"), "numpy": np.__version__, "numba": _version("numba"),
                     "scikit-learn": _version("scikit-learn"), "fastgen_backends": list(fastgen.available_backends())},
        "commit": _git_commit(),
    }


def save(result, out, stem, markdown):
    """Write <out>/<stem>.json and, from markdown(result), <out>/<stem>.md."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, stem)
    with open(path + ".json", "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    with open(path + ".md", "w") as f:
        f.write(markdown(result))
    print(f"wrote {path}.json and {path}.md")


def markdown_header(r, title):
    """The Markdown lines of a result down to its command: title, date, machine, versions, commit."""
    m = r["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in r["versions"].items() if k != "fastgen_backends")
    return [
        f"# {title}",
        "",
        f"- date: {r['date']}",
        (
            f"- machine: {m['cpu_model']}, {m['cpu_count']} cores, {m['system']}; load average (1/5/15 min) at "
            f"start {m['loadavg_start']}, at end {m['loadavg']}"
        ),
        f"- python {m['python']}; {versions}; fastgen backends: {', '.join(r['versions']['fastgen_backends'])}",
        f"- commit: {r['commit']}",
        "",
        "Command:",
        "",
        "```",
        r["command"],
        "```",
        "",
    ]


def log_z_interval(a):
    """(lower, upper) of the "ais" entry's log Z interval as text, -∞ / ∞ where unbounded."""
    return ("-∞" if a["log_z_lower"] is None else f"{a['log_z_lower']:.3f}",
            "∞" if a["log_z_upper"] is None else f"{a['log_z_upper']:.3f}")


def _bounds(entry):
    lower = "-∞" if entry["lower"] is None else f"{entry['lower']:.2f}"
    upper = "∞" if entry["upper"] is None else f"{entry['upper']:.2f}"
    return f"[{lower}, {upper}]"


def _momentum_text(t):
    if 0 < t["momentum_epochs"] < t["epochs"] and t["initial_momentum"] != t["momentum"]:
        return f"momentum {t['initial_momentum']} for {t['momentum_epochs']} epochs, then {t['momentum']}"
    return f"momentum {t['initial_momentum'] if t['momentum_epochs'] > 0 else t['momentum']}"


def markdown(r):
    t, a = r["training"], r["ais"]
    ll = r["log_likelihood"]
    lower_z, upper_z = log_z_interval(a)
    lines = markdown_header(r, "Binary RBM on MNIST: AIS log-likelihood") + [
        "| images | mean log p(v) (nats) | ±3σ̂ bounds | mean −F(v) |",
        "|---|---:|---:|---:|",
    ]
    for name in ("test", "train"):
        e = ll[name]
        lines.append(
            f"| {name} ({e['n_images']}) | {e['mean_log_likelihood']:.2f} | {_bounds(e)} | "
            f"{e['mean_neg_free_energy']:.2f} |"
        )
    lines += [
        "",
        (
            f"- log Ẑ = {a['log_z']:.3f} ± {a['log_z_std']:.3f} (σ̂, standard error), ±3σ̂ interval "
            f"[{lower_z}, {upper_z}]; AIS: {a['n_chains']} chains, {a['n_steps']} steps ({a['schedule']} schedule "
            f"of Salakhutdinov & Murray), base visible biases from the training images, {a['seconds']:.1f} s on "
            f"backend `{t['backend']}`"
        ),
        (
            f"- model: {t['n_hidden']} hidden units, {t['estimator']} {t['algorithm']}, {t['epochs']} epochs, "
            f"learning rate {t['learning_rate']}, batch {t['batch_size']}, {_momentum_text(t)}, weight decay "
            f"{t['weight_decay']}, random_state {t['random_state']}; training {t['seconds']:.1f} s"
        ),
        (
            f"- data: {r['data']['file']}, train = {r['data']['train']}, test = {r['data']['test']}, binarized "
            f"{r['data']['binarized']}"
        ),
        f"- bounds: mean(−F) − log(Ẑ ± 3σ̂_Z) (Ẑ's ±3σ̂ interval); for orientation: {r['reference']}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
