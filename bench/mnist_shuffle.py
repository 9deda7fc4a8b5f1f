"""Does reshuffling the mini-batches help? BernoulliRBM after 5 CD-1 epochs on MNIST, with the
fixed batch order (shuffle=False, scikit-learn's) against a fresh order each epoch (shuffle=True).

The recipe of the benchmarks (bench/README.md): the MNIST test set binarized at 0.5 (10,000 x 784
float32), 500 hidden units, batch 100, learning rate 0.05, plain CD-1 (persistent=False), 5 epochs,
backend cpu; one model per seed and order, the same seed giving both orders the same initial
weights. Two measures of each model on the training rows:

- score: BernoulliRBM.score_samples averaged over the 10,000 rows (scikit-learn's one-flip
  pseudo-likelihood: 784 x log sigmoid of one random unit's flip; the figure issue 15 quotes);
- full PL: the exact pseudo-likelihood, the sum over all 784 units of log p(v_i | v_-i), in
  float64 NumPy from the fitted weights, on the first 1,000 rows (no random unit: the one-flip
  score is an unbiased estimate of it).

Run from the repository root (about 10 s per model on 2 cores):

    python bench/mnist_shuffle.py --seeds 0 1 2 3 4

The images come from --mnist, else $FASTGEN_MNIST, else ../shared/data/mnist/ next to the repository.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import datasets  # noqa: E402  (after the sys.path entry)

FULL_PL_ROWS = 1000


def full_pseudo_likelihood(v, W, b, c):
    """Mean over the rows of v of sum_i log p(v_i | v_-i), float64. W is (n_visible, n_hidden).
    Flipping unit i changes the hidden pre-activations by (1 - 2 v_i) W_i and the visible term
    by (1 - 2 v_i) b_i; log p(v_i | v_-i) = -softplus(F(v) - F(v flipped i))."""
    v, W, b, c = (np.asarray(a, dtype=np.float64) for a in (v, W, b, c))
    total = 0.0
    for row in v:
        sign = 1.0 - 2.0 * row  # +1 where the unit is off (a flip turns it on), -1 where it is on
        pre = c + row @ W  # (n_hidden,)
        flipped = pre[None, :] + sign[:, None] * W  # (n_visible, n_hidden): one flip per row
        # -F(v) = v.b + sum softplus(pre); the difference -F(v') + F(v) per flipped unit:
        gain = sign * b + np.logaddexp(0, flipped).sum(axis=1) - np.logaddexp(0, pre).sum()
        total += -np.logaddexp(0, gain).sum()  # log sigmoid(F(v') - F(v)) = -softplus(-F(v') + F(v))
    return total / len(v)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--mnist", default=None, help="directory holding t10k-images-idx3-ubyte.gz")
    parser.add_argument("--backend", default="cpu")
    args = parser.parse_args(argv)

    import fastgen

    directory = args.mnist or datasets.mnist_directory() or os.path.join(HERE, "..", "..", "shared", "data", "mnist")
    X = datasets.mnist(directory)
    print(f"MNIST test set {X.shape}, density {X.mean():.3f}; 500 hidden, batch 100, lr 0.05, CD-1, "
          f"{args.epochs} epochs, backend {args.backend}")
    print("| seed | shuffle | score (one flip, 10,000 rows) | full PL (1,000 rows) | fit time |")
    print("| ---: | --- | ---: | ---: | ---: |")
    results = {False: [], True: []}
    for seed in args.seeds:
        for shuffle in (False, True):
            model = fastgen.BernoulliRBM(n_components=500, learning_rate=0.05, batch_size=100, n_iter=args.epochs,
                                         cd_k=1, persistent=False, shuffle=shuffle, random_state=seed,
                                         backend=args.backend)
            start = time.perf_counter()
            model.fit(X)
            elapsed = time.perf_counter() - start
            score = float(model.score_samples(X).mean())
            full = full_pseudo_likelihood(X[:FULL_PL_ROWS], model.components_.T, model.intercept_visible_,
                                          model.intercept_hidden_)
            results[shuffle].append((score, full))
            print(f"| {seed} | {shuffle} | {score:.2f} | {full:.2f} | {elapsed:.1f} s |", flush=True)
    for shuffle, rows in results.items():
        scores, fulls = np.array(rows).T
        print(f"shuffle={shuffle}: score mean {scores.mean():.2f} (min {scores.min():.2f}, max {scores.max():.2f}); "
              f"full PL mean {fulls.mean():.2f} (min {fulls.min():.2f}, max {fulls.max():.2f})")
    gaps = np.array([t[1] - f[1] for f, t in zip(results[False], results[True])])
    print(f"full PL, shuffled minus fixed, per seed: {', '.join(f'{g:+.2f}' for g in gaps)}")


if __name__ == "__main__":
    main()
