"""Log-likelihood of a two-layer deep Boltzmann machine trained on MNIST, estimated with AIS.

Trains fastgen.DBM (hidden layers 500 and 1000: greedy pretraining, then stochastic maximum likelihood) on the
first 9,000 images of the MNIST test set (binarized at 0.5), keeps the last 1,000 for testing, estimates log Z by
AIS (fastgen.dbm.log_partition_ais: the odd layer annealed, the even layers summed out; the default 14,500-step
schedule, base visible biases from the training data) and writes <out>/mnist-dbm-ais-<date>.json and .md: the
mean over the test and training images of the mean-field variational lower bound of log p*(v) minus log Z, with
the range from log Z's +-3 sigma interval.

For orientation: Salakhutdinov & Hinton (2009) report -84.62 nats on the MNIST test set for a 500-1000 DBM trained
on the full 60,000-image training set (with far longer training); 9,000 training images give a lower figure.

Run from the repository root (a full run takes many minutes; see --help):

    python bench/mnist_dbm.py
    python bench/mnist_dbm.py --epochs 1 --pretrain-epochs 1 --chains 4 --ais-steps 500 --out /tmp/t   # smoke test
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from datetime import datetime, timezone


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import baselines  # noqa: E402  (after the sys.path entry)
from mnist_loglik import (  # noqa: E402
    _bounds,
    _finite,
    ais_record,
    environment_record,
    load_mnist,
    log_z_interval,
    machine_info,
    markdown_header,
    mnist_path,
    parse_common,
    save,
)

REFERENCE = "Salakhutdinov & Hinton (2009): -84.62 nats, 500-1000 DBM, 60,000 training images"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--hidden", type=int, nargs="+", default=[500, 1000], help="hidden layer sizes (default 500 1000)")
    p.add_argument("--pretrain-epochs", type=int, default=20, help="CD-1 epochs per pretraining RBM (default 20)")
    p.add_argument("--pretrain-learning-rate", type=float, default=0.05, help="(default 0.05)")
    p.add_argument("--epochs", type=int, default=100, help="SML epochs (default 100)")
    p.add_argument("--learning-rate", type=float, default=0.005, help="SML learning rate (default 0.005)")
    p.add_argument("--batch-size", type=int, default=100, help="(default 100)")
    p.add_argument("--persistent-chains", type=int, default=100, help="SML persistent chains (default 100)")
    p.add_argument("--gibbs-steps", type=int, default=5, help="Gibbs sweeps of the chains per update (default 5)")
    p.add_argument("--mean-field-steps", type=int, default=10, help="mean-field sweeps (default 10)")
    p.add_argument("--momentum", type=float, default=0.5, help="(default 0.5)")
    p.add_argument("--weight-decay", type=float, default=2e-4, help="(default 2e-4)")
    return parse_common(p, argv, ("pretrain_epochs", "epochs", "batch_size", "persistent_chains", "gibbs_steps"))


def main(argv=None):
    args = parse_args(argv)
    command = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(["mnist_dbm.py", *argv])
    path = mnist_path(args.mnist)
    X_train, X_test = load_mnist(path)
    print(f"MNIST {path}: train {X_train.shape}, test {X_test.shape}, density {X_train.mean():.4f}", flush=True)
    load_start = machine_info()["loadavg"]

    import fastgen
    import fastgen.dbm

    model = fastgen.DBM(
        args.hidden, learning_rate=args.learning_rate, batch_size=args.batch_size, n_iter=args.epochs,
        n_chains=args.persistent_chains, n_gibbs_steps=args.gibbs_steps, mean_field_steps=args.mean_field_steps,
        pretrain=True, pretrain_n_iter=args.pretrain_epochs, pretrain_learning_rate=args.pretrain_learning_rate,
        momentum=args.momentum, weight_decay=args.weight_decay, random_state=args.seed, backend=args.backend,
        verbose=1,
    )
    start = time.perf_counter()
    model.fit(X_train, progress=args.progress)
    train_seconds = time.perf_counter() - start
    print(f"trained in {train_seconds:.1f} s", flush=True)

    base = fastgen.rbm.base_visible_bias(X_train).astype(X_train.dtype)
    betas = baselines.ais_betas(args.ais_steps)
    options = dict(n_chains=args.chains, betas=betas, base_visible_bias=base, seed=args.seed)
    start = time.perf_counter()
    ais = model.log_partition("ais", progress=args.progress, **options)
    ais_seconds = time.perf_counter() - start
    print(f"AIS: log Z = {ais.log_z:.3f} +- {ais.log_z_std:.3f} [{ais.log_z_lower:.3f}, {ais.log_z_upper:.3f}], "
          f"{ais_seconds:.1f} s", flush=True)

    loglik = {}
    for name, X in (("test", X_test), ("train", X_train)):
        estimate, lower, upper = model.log_likelihood(X, "ais", return_bounds=True, **options)
        loglik[name] = {"n_images": len(X), "mean_variational_bound": estimate + ais.log_z,
                        "mean_log_likelihood": estimate, "lower": _finite(lower), "upper": _finite(upper)}
        print(f"{name}: mean log p(v) >= {estimate:.3f} nats [{lower:.3f}, {upper:.3f}]", flush=True)

    now = datetime.now(timezone.utc)
    result = {
        "date": now.isoformat(timespec="seconds"),
        "command": command,
        "data": {"file": path, "train": f"first {len(X_train)} images", "test": f"last {len(X_test)} images",
                 "binarized": "pixel / 255 > 0.5", "train_density": float(X_train.mean())},
        "training": {
            "estimator": "fastgen.DBM", "layers": [X_train.shape[1], *args.hidden],
            "pretrain_epochs": args.pretrain_epochs, "pretrain_learning_rate": args.pretrain_learning_rate,
            "sml_epochs": args.epochs, "learning_rate": args.learning_rate, "batch_size": args.batch_size,
            "persistent_chains": args.persistent_chains, "gibbs_steps": args.gibbs_steps,
            "mean_field_steps": args.mean_field_steps, "momentum": args.momentum, "weight_decay": args.weight_decay,
            "random_state": args.seed, "backend": args.backend, "seconds": round(train_seconds, 2),
        },
        "ais": ais_record(ais, args, betas, ais_seconds, len(fastgen.rbm.default_ais_betas())),
        "log_likelihood": loglik,
        "reference": REFERENCE,
        **environment_record(load_start),
    }
    save(result, args.out, f"mnist-dbm-ais-{now:%Y-%m-%d}", markdown)
    return result


def markdown(r):
    t, a = r["training"], r["ais"]
    lower_z, upper_z = log_z_interval(a)
    lines = markdown_header(r, "Deep Boltzmann machine on MNIST: AIS log-likelihood") + [
        "| images | mean log p(v) estimate (nats) | range from log Ẑ ± 3σ̂ | mean variational bound of log p*(v) |",
        "|---|---:|---:|---:|",
    ]
    for name in ("test", "train"):
        e = r["log_likelihood"][name]
        lines.append(f"| {name} ({e['n_images']}) | {e['mean_log_likelihood']:.2f} | {_bounds(e)} | "
                     f"{e['mean_variational_bound']:.2f} |")
    lines += [
        "",
        f"- log Ẑ = {a['log_z']:.3f} ± {a['log_z_std']:.3f} (σ̂, standard error), ±3σ̂ interval [{lower_z}, {upper_z}]; "
        f"AIS: {a['n_chains']} chains, {a['n_steps']} steps ({a['schedule']} schedule), the odd layer annealed and "
        f"the even layers summed out, base visible biases from the training images, {a['seconds']:.1f} s on backend "
        f"`{t['backend']}`",
        f"- model: {'-'.join(map(str, t['layers']))}, {t['estimator']}: greedy pretraining ({t['pretrain_epochs']} "
        f"CD-1 epochs per RBM, learning rate {t['pretrain_learning_rate']}), then {t['sml_epochs']} SML epochs "
        f"(learning rate {t['learning_rate']}, batch {t['batch_size']}, {t['persistent_chains']} persistent chains, "
        f"{t['gibbs_steps']} Gibbs sweeps per update, {t['mean_field_steps']} mean-field sweeps, momentum "
        f"{t['momentum']}, weight decay {t['weight_decay']}), random_state {t['random_state']}; training "
        f"{t['seconds']:.1f} s",
        f"- data: {r['data']['file']}, train = {r['data']['train']}, test = {r['data']['test']}, binarized "
        f"{r['data']['binarized']}",
        "- the estimate is the mean-field lower bound of each log p*(v) minus log Ẑ: a lower bound of the mean log "
        "p(v) up to the AIS error of log Z; for orientation: " + r["reference"],
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
