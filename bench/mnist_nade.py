"""Exact test log-likelihood of NADE trained on binarized MNIST, beside the literature and beside
fastgen's RBM AIS estimate on the same images.

Splits the MNIST test set (t10k-images-idx3-ubyte.gz, binarized at 0.5: pixel / 255 > 0.5) as
bench/mnist_loglik.py does, first 9,000 images for training and the last 1,000 for testing, and
holds the last --validation (1,000) of the 9,000 out for early stopping: fastgen.NADE (500 hidden
units, Adam, minibatches of 100) trains on the other 8,000 for --epochs epochs, and the epoch of
the best validation log-likelihood is kept (the test images choose nothing). Writes
<out>/mnist-nade-<date>.json and .md (the mean exact log-likelihood of the test, validation and
training images, the per-epoch history, settings, times, machine) and a PNG of samples (--png).

For orientation: Larochelle & Murray (2011) report -88.86 nats for NADE (500 hidden units) on
the binarized MNIST test set, trained on the 50,000-image training set with early stopping on
the 10,000 validation images. The figures differ in both directions: here the model sees only
8,000 images for a few minutes on two cores (lower), but the images are thresholded at 0.5
rather than sampled (Salakhutdinov & Murray's stochastic binarization, which adds pixel noise
and so entropy): thresholded digits are far more predictable (higher). NADE's log-likelihood is
exact; the RBM's beside it (bench/mnist_loglik.py's result file, the same 1,000 test images) is
an AIS estimate of log Z, hence an estimate.

    python bench/mnist_nade.py --epochs 20
    python bench/mnist_nade.py --epochs 1 --hidden 50 --out /tmp/mnist-nade   # smoke test
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shlex
import sys
import time
from datetime import datetime, timezone

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from mnist_loglik import _git_commit, _version, load_mnist, machine_info, mnist_path  # noqa: E402

REFERENCE = ("Larochelle & Murray (2011): -88.86 nats, NADE with 500 hidden units, 50,000 training images, "
             "early stopping on 10,000 validation images")
RBM_RESULT = os.path.join(HERE, "results", "mnist-rbm-ais-2026-11-22.json")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    p.add_argument("--hidden", type=int, default=500, help="hidden units (default 500)")
    p.add_argument("--learning-rate", type=float, default=5e-3, help="Adam's step size (default 5e-3)")
    p.add_argument("--validation", type=int, default=1000, help="training images held out for early stopping "
                   "(default 1000)")
    p.add_argument("--batch-size", type=int, default=100, help="(default 100)")
    p.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    p.add_argument("--backend", default="cpu", help="fastgen backend (default cpu)")
    p.add_argument("--mnist", default=None, help="t10k-images-idx3-ubyte.gz or its directory")
    p.add_argument("--rbm-result", default=RBM_RESULT,
                   help="the RBM AIS result to compare with (a mnist_loglik.py JSON)")
    p.add_argument("--png", default=None, help="write 100 samples as a PNG here (default: none)")
    p.add_argument("--out", default=os.path.join("bench", "results"), help="output directory (default bench/results/)")
    args = p.parse_args(argv)
    for name in ("epochs", "hidden", "batch_size", "validation"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if not args.learning_rate > 0:
        p.error("--learning-rate must be > 0")
    return args


def rbm_estimate(path):
    """(test log-likelihood, its lower bound or None, the command) of a mnist_loglik.py result, or None."""
    try:
        with open(path) as f:
            result = json.load(f)
        test = result["log_likelihood"]["test"]
        return test["mean_log_likelihood"], test["lower"], result["command"]
    except (OSError, KeyError, ValueError):
        return None


def train(args, X_train, X_valid):
    """The model of the best validation epoch, the training time (scoring left out), that epoch and
    the per-epoch history: one partial_fit per epoch (an epoch of shuffled minibatches, Adam's
    moments carried over)."""
    import fastgen

    model = fastgen.NADE(n_components=args.hidden, learning_rate=args.learning_rate, batch_size=args.batch_size,
                         random_state=args.seed, backend=args.backend)
    rng = np.random.default_rng(args.seed)
    history, seconds, best, best_epoch = [], 0.0, None, 0
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(X_train))  # partial_fit's own shuffle would repeat with a fixed random_state
        start = time.perf_counter()
        model.partial_fit(X_train[order])
        seconds += time.perf_counter() - start
        valid = model.score(X_valid)
        train_ll = model.score(X_train[:1000])
        history.append({"epoch": epoch, "seconds": round(seconds, 2), "validation": round(valid, 3),
                        "train_first_1000": round(train_ll, 3)})
        if best is None or valid > history[best_epoch - 1]["validation"]:
            best, best_epoch = copy.deepcopy(model), epoch
        print(f"epoch {epoch:3d}  {seconds:7.1f} s  log p: validation {valid:8.3f}  train (first 1,000) "
              f"{train_ll:8.3f}", flush=True)
    return best, seconds, best_epoch, history


def write_png(model, path, seed):
    from fastgen.cli import _grid_image

    samples = model.sample(100, random_state=seed).reshape(10, 10, 28, 28)
    _grid_image([list(row) for row in samples], scale=2).save(path, optimize=True)


def main(argv=None):
    import fastgen

    args = parse_args(argv)
    command = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(["mnist_nade.py", *argv])
    path = mnist_path(args.mnist)
    X_train, X_test = load_mnist(path)
    if args.validation >= len(X_train):
        sys.exit(f"--validation {args.validation}: only {len(X_train)} training images")
    X_train, X_valid = X_train[:-args.validation], X_train[-args.validation:]
    print(f"MNIST {path}: train {X_train.shape}, validation {X_valid.shape}, test {X_test.shape}, "
          f"density {X_train.mean():.4f}", flush=True)
    load_start = machine_info()["loadavg"]
    model, seconds, best_epoch, history = train(args, X_train, X_valid)
    start = time.perf_counter()
    test = model.score_samples(X_test)
    score_seconds = time.perf_counter() - start
    train_ll = model.score(X_train)
    rbm = rbm_estimate(args.rbm_result)
    start = time.perf_counter()
    model.sample(1000, random_state=args.seed)
    sample_seconds = time.perf_counter() - start
    if args.png:
        os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
        write_png(model, args.png, args.seed)
    date = datetime.now(timezone.utc)
    record = {
        "date": date.isoformat(timespec="seconds"),
        "command": command,
        "data": {"file": path, "train": f"first {len(X_train)} images",
                 "validation": f"the next {len(X_valid)} images (early stopping)", "test": f"last {len(X_test)} images",
                 "binarized": "pixel / 255 > 0.5", "train_density": float(X_train.mean())},
        "training": {"estimator": "fastgen.NADE", "optimizer": "adam", "n_hidden": args.hidden, "epochs": args.epochs,
                     "learning_rate": args.learning_rate, "batch_size": args.batch_size, "random_state": args.seed,
                     "backend": args.backend, "seconds": round(seconds, 2), "best_epoch": best_epoch,
                     "history": history},
        "log_likelihood": {"test": {"n_images": len(X_test), "mean": float(test.mean()),
                                    "standard_error": float(test.std(ddof=1) / np.sqrt(len(test))),
                                    "seconds": round(score_seconds, 3)},
                           "validation": {"n_images": len(X_valid), "mean": model.score(X_valid)},
                           "train": {"n_images": len(X_train), "mean": train_ll}},
        "sampling_1000_seconds": round(sample_seconds, 3),
        "reference": REFERENCE,
        "rbm_ais": None if rbm is None else {"file": os.path.relpath(args.rbm_result, REPO), "test": rbm[0],
                                              "lower": rbm[1], "command": rbm[2]},
        "machine": {**machine_info(), "loadavg_start": load_start},
        "versions": {"fastgen": fastgen.__version__, "numpy": np.__version__, "numba": _version("numba"),
                     "scikit-learn": _version("scikit-learn")},
        "commit": _git_commit(),
    }
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"mnist-nade-{date:%Y-%m-%d}")
    with open(stem + ".json", "w") as f:
        json.dump(record, f, indent=1)
    rbm_line = ("(no RBM result found)" if rbm is None else
                f"fastgen's BernoulliRBM on the same 1,000 test images (trained on all 9,000), AIS estimate: "
                f"**{rbm[0]:.2f} nats** (`{os.path.relpath(args.rbm_result, REPO)}`)")
    lines = [
        f"# NADE on binarized MNIST, {date:%Y-%m-%d}", "",
        f"`{command}`", "",
        f"- data: {record['data']['train']} for training, {record['data']['validation']}, "
        f"{record['data']['test']} for testing, of `{os.path.basename(path)}`, binarized at 0.5",
        f"- model: {args.hidden} hidden units, Adam (learning rate {args.learning_rate}), batches of "
        f"{args.batch_size}, {args.epochs} epochs in {seconds:.1f} s on `{args.backend}`; the best validation epoch, "
        f"{best_epoch}, kept",
        f"- exact test log-likelihood: **{test.mean():.2f} ± {record['log_likelihood']['test']['standard_error']:.2f}"
        f" nats** (train {train_ll:.2f}); scoring 1,000 images took {score_seconds:.2f} s, "
        f"sampling 1,000 took {sample_seconds:.2f} s",
        f"- literature: {REFERENCE}. Not comparable: that figure is on the stochastically binarized MNIST "
        "(pixels drawn with their intensity as probability), whose images are noisier, hence of higher "
        "entropy, than these thresholded ones; and it was trained on 50,000 images, not 8,000",
        f"- {rbm_line}",
        f"- machine: {record['machine']['cpu_model']}, {record['machine']['cpu_count']} cores, load average "
        f"{load_start} at the start, {record['machine']['loadavg']} at the end", "",
        "| epoch | seconds | validation | train (first 1,000) |", "| ---: | ---: | ---: | ---: |",
        *(f"| {h['epoch']} | {h['seconds']} | {h['validation']} | {h['train_first_1000']} |" for h in history),
    ]
    with open(stem + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[:10]))
    print(f"wrote {stem}.json and .md" + (f", {args.png}" if args.png else ""))


if __name__ == "__main__":
    main()
