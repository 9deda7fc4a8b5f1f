"""The `fastgen` console command.

    fastgen demo     train a BernoulliRBM on scikit-learn's digits and draw samples
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def _grid_image(rows_of_images, scale):
    """A PNG-ready grayscale image: each row of `rows_of_images` is a list of 2-D arrays in [0, 1]."""
    from PIL import Image

    tile_h, tile_w = rows_of_images[0][0].shape
    pad = 1
    n_cols = max(len(row) for row in rows_of_images)
    canvas = np.full(
        (len(rows_of_images) * (tile_h + pad) + pad, n_cols * (tile_w + pad) + pad), 0.25, dtype=np.float64
    )
    for r, row in enumerate(rows_of_images):
        for col, tile in enumerate(row):
            y, x = pad + r * (tile_h + pad), pad + col * (tile_w + pad)
            canvas[y : y + tile_h, x : x + tile_w] = tile
    image = Image.fromarray((canvas * 255).astype(np.uint8), mode="L")
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST)


def demo(args) -> int:
    from sklearn.datasets import load_digits
    from tqdm import tqdm

    from . import BernoulliRBM, available_backends
    from ._backend import resolve

    backend, _ = resolve(args.backend, on_device=False)
    X = (load_digits().data > 7).astype(np.float32)  # 1,797 8x8 digits, binarized
    rbm = BernoulliRBM(
        n_components=args.hidden,
        learning_rate=0.05,
        batch_size=10,
        n_iter=args.epochs,
        cd_k=1,
        persistent=True,
        momentum=0.5,
        random_state=args.seed,
        backend=backend,
    )
    print(f"fastgen demo: BernoulliRBM({args.hidden} hidden) on {X.shape[0]} binarized 8x8 digits, "
          f"PCD-1, {args.epochs} epochs, backend '{backend}' (available: {', '.join(available_backends())})")
    start = time.perf_counter()
    with tqdm(total=args.epochs, unit="epoch", file=sys.stdout, dynamic_ncols=True) as bar:
        for _ in rbm.fit_iter(X):
            bar.set_postfix(pseudo_ll=f"{rbm.score_samples(X).mean():.2f}", time=f"{time.perf_counter() - start:.1f}s")
            bar.update()
    samples = rbm.sample(args.samples, n_steps=args.steps, random_state=args.seed)
    rng = np.random.default_rng(args.seed)
    shown = X[rng.choice(X.shape[0], args.samples, replace=False)]
    per_row = 10
    rows = [[img.reshape(8, 8) for img in block[i : i + per_row]] for block in (shown, samples)
            for i in range(0, args.samples, per_row)]
    image = _grid_image(rows, scale=6)
    out = Path(args.output).resolve()
    image.save(out)
    print(f"trained in {time.perf_counter() - start:.1f}s; final pseudo-log-likelihood "
          f"{rbm.score_samples(X).mean():.2f} nats per image")
    print(f"wrote {out}: top {args.samples // per_row} rows training digits, "
          f"bottom rows model samples ({args.steps} Gibbs steps each)")
    print(f"backend: {backend}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fastgen", description="fastgen: fast inner loops of generative models")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("demo", help="train an RBM on scikit-learn's digits and write a PNG of samples")
    p.add_argument("--backend", default=None, help="cpu, numba or cuda (default: the best for host data)")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--hidden", type=int, default=150)
    p.add_argument("--samples", type=int, default=30, help="number of digits and of samples shown")
    p.add_argument("--steps", type=int, default=1000, help="Gibbs steps per sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="fastgen-demo.png", help="where to write the PNG")
    args = parser.parse_args(argv)
    try:
        return demo(args)
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    raise SystemExit(main())
