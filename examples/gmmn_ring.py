"""Train a generative moment matching network (GMMN, Li et al. 2015; Deep Learning §20.10.5) on
the 8-blob ring with fastgen.mmd as its loss, and write a PNG of its samples beside the data.

The generator is a small torch MLP from 8-D standard normal noise to the plane; each step
draws a batch of noise and a batch of data and descends the unbiased MMD^2 between them
(Gaussian kernels of several bandwidths, summed), whose gradient with respect to the
generated points is fastgen's tiled backward pass. CPU only, about a minute on 2 cores.

    python examples/gmmn_ring.py                     # writes examples/gmmn-ring.png
    python examples/gmmn_ring.py --steps 3000 --out samples.png
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from PIL import Image, ImageDraw

from fastgen import mmd

BANDWIDTHS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)  # summed kernels: fine ones place the blobs, wide ones pull from afar


def ring(n, rng, n_blobs=8, radius=2.0, std=0.05):
    """n points of the 8-blob ring: a Gaussian mixture of equal weights on a circle."""
    angle = 2 * math.pi * rng.integers(n_blobs, size=n) / n_blobs
    centres = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return (centres + std * rng.normal(size=(n, 2))).astype(np.float32)


def generator(noise_dim=8, hidden=128):
    return torch.nn.Sequential(torch.nn.Linear(noise_dim, hidden), torch.nn.ReLU(),
                               torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                               torch.nn.Linear(hidden, 2))


def train(steps=1500, batch=256, learning_rate=2e-3, seed=0, log_every=0):
    """The trained generator and the MMD^2 of each step."""
    # The MLP is tiny: torch's own threads would only spin against fastgen's (both use a
    # runtime named libgomp.so.1 in one process; measured: 0.9 s a step against 0.19 s)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(steps, batch, learning_rate, seed, log_every)
    finally:
        torch.set_num_threads(threads)


def _train(steps, batch, learning_rate, seed, log_every):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = generator()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    losses = []
    for step in range(steps):
        data = torch.from_numpy(ring(batch, rng))
        samples = model(torch.randn(batch, model[0].in_features))
        loss = mmd.mmd2(samples, data, bandwidth=BANDWIDTHS)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if log_every and step % log_every == 0:
            print(f"step {step:5d}  MMD^2 {losses[-1]:.5f}")
    return model, losses


def scatter_png(path, panels, size=360, extent=2.8):
    """One square panel per (title, points, colour) side by side, points as 2x2-pixel dots."""
    image = Image.new("RGB", (size * len(panels), size + 20), "white")
    draw = ImageDraw.Draw(image)
    for p, (title, points, colour) in enumerate(panels):
        pixels = (points + extent) / (2 * extent) * size
        for x, y in pixels:
            if 0 <= x < size and 0 <= y < size:
                draw.rectangle([p * size + x, 20 + size - y, p * size + x + 1, 20 + size - y + 1], fill=colour)
        draw.text((p * size + 8, 4), title, fill="black")
        draw.line([p * size, 0, p * size, size + 20], fill="grey")
    image.save(path, optimize=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="examples/gmmn-ring.png")
    args = parser.parse_args()
    start = time.perf_counter()
    model, losses = train(args.steps, args.batch, seed=args.seed, log_every=max(1, args.steps // 10))
    seconds = time.perf_counter() - start
    rng = np.random.default_rng(args.seed + 1)
    data = ring(2000, rng)
    with torch.no_grad():
        samples = model(torch.randn(2000, model[0].in_features)).numpy()
    final = mmd.mmd2(samples, data, bandwidth=BANDWIDTHS)
    print(f"{args.steps} steps in {seconds:.1f} s ({1000 * seconds / args.steps:.1f} ms a step); "
          f"MMD^2 of 2,000 samples to 2,000 fresh data points: {final:.5f}")
    scatter_png(args.out, [("data: 8-blob ring", data, (90, 90, 90)),
                           (f"GMMN samples after {args.steps} steps", samples, (200, 40, 40))])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
