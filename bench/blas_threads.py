"""The README's "Threads of BLAS" measurement: the RBM demo's training (BernoulliRBM, 150 hidden
units, batches of 10 rows, 100 persistent chains, the binarized 8x8 digits) for a few epochs,
with fastgen's rule (BLAS on one thread around loops of small products, fastgen/_blas.py) and
without it (BLAS's own threads on every call), alternated. Run it on a busy machine to see the
collapse the rule avoids (e.g. with another job on every core):

    python bench/blas_threads.py --epochs 10 --repeats 2
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits

import fastgen
from fastgen import _blas


def train_seconds(epochs: int) -> float:
    X = (load_digits().data > 7).astype(np.float32)
    model = fastgen.BernoulliRBM(n_components=150, learning_rate=0.05, learning_rate_schedule="linear", batch_size=10,
                                 n_iter=epochs, n_chains=100, momentum=0.5, shuffle=True, random_state=0)
    start = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rule = _blas.SMALL_BLAS_WORK
    for _ in range(args.repeats):
        for name, threshold in (("one BLAS thread (fastgen's rule)", rule), ("BLAS's own threads", 0)):
            _blas.SMALL_BLAS_WORK = threshold
            print(f"{name}: {args.epochs} epochs in {train_seconds(args.epochs):.2f} s", flush=True)
    _blas.SMALL_BLAS_WORK = rule


if __name__ == "__main__":
    main()
