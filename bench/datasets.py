"""Benchmark datasets: binary float32 matrices of shape (n_samples, 784).

`synthetic()` is generated deterministically (no download, same bytes everywhere):
10 prototype probability images of 28x28, each 2-4 smooth pen strokes (quadratic
Bezier curves) drawn with a soft-edged pen whose width is set so that the mean pixel
probability is 13% (the density of MNIST binarized at 0.5); every row is drawn from one prototype, shifted by up to one
pixel, as independent Bernoulli pixels.

`mnist(directory)` reads the MNIST test set (t10k-images-idx3-ubyte.gz, IDX format)
and binarizes it at 0.5 after dividing by 255.
"""
from __future__ import annotations

import gzip
import os

import numpy as np

SIDE = 28
N_PIXELS = SIDE * SIDE
N_SAMPLES = 10_000  # rows of `synthetic()` in the benchmarks, and of the MNIST test set
DENSITY = 0.13
MNIST_ENV_VAR = "FASTGEN_MNIST"
MNIST_TEST_IMAGES = "t10k-images-idx3-ubyte.gz"


def _stroke_distance(rng, n_strokes):
    """(28, 28) distance of each pixel centre to the nearest of `n_strokes` random
    quadratic Bezier strokes."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    pixels = np.stack([yy.ravel(), xx.ravel()], axis=1)  # (784, 2)
    t = np.linspace(0.0, 1.0, 64)[:, None]
    dist2 = np.full(N_PIXELS, np.inf)
    for _ in range(n_strokes):
        p0, p1, p2 = rng.uniform(6.0, 21.0, size=(3, 2))
        curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2  # (64, 2)
        dist2 = np.minimum(dist2, ((pixels[:, None, :] - curve[None, :, :]) ** 2).sum(axis=2).min(axis=1))
    return np.sqrt(dist2).reshape(SIDE, SIDE)


def _pen(distance, radius, p_max=0.95, background=0.003, softness=0.5):
    """Pixel probability for a pen of `radius` with a soft edge."""
    return background + (p_max - background) / (1.0 + np.exp((distance - radius) / softness))


def _calibrate(distance, density):
    """The pen image whose mean pixel probability is `density` (radius by bisection)."""
    lo, hi = 0.0, 10.0
    for _ in range(60):
        radius = 0.5 * (lo + hi)
        if _pen(distance, radius).mean() < density:
            lo = radius
        else:
            hi = radius
    return _pen(distance, 0.5 * (lo + hi))


def prototypes(n_prototypes=10, density=DENSITY, seed=1234):
    """(n_prototypes, 28, 28) float64 pixel probabilities, each with mean `density`."""
    rng = np.random.default_rng(seed)
    return np.stack([_calibrate(_stroke_distance(rng, int(rng.integers(2, 5))), density) for _ in range(n_prototypes)])


def synthetic(n_samples=10_000, n_prototypes=10, density=DENSITY, seed=0):
    """(n_samples, 784) float32 of 0/1: each row a Bernoulli draw from a (shifted) prototype."""
    protos = prototypes(n_prototypes, density)
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    # all 10 x 9 shifted prototypes; strokes stay >= 6 px from the border, so roll does not wrap ink
    table = np.stack([np.roll(p, s, axis=(0, 1)).ravel() for p in protos for s in shifts]).astype(np.float32)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(table), size=n_samples)
    X = rng.random((n_samples, N_PIXELS), dtype=np.float32) < table[rows]
    return X.astype(np.float32)


def read_idx_images(path):
    """uint8 array (n, rows, cols) from a gzipped IDX3 file (16-byte big-endian header)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = np.frombuffer(raw, dtype=">u4", count=4)
    if magic != 2051:
        raise ValueError(f"{path}: not an IDX3 image file (magic {magic})")
    return np.frombuffer(raw, dtype=np.uint8, offset=16, count=int(n * rows * cols)).reshape(int(n), int(rows), int(cols))


def mnist(directory):
    """MNIST test images as (10000, 784) float32, binarized at 0.5 after /255."""
    images = read_idx_images(os.path.join(directory, MNIST_TEST_IMAGES))
    return (images.reshape(len(images), -1) / 255.0 > 0.5).astype(np.float32)


def mnist_directory():
    """The directory named by FASTGEN_MNIST if it holds the test images, else None."""
    directory = os.environ.get(MNIST_ENV_VAR)
    if directory and os.path.isfile(os.path.join(directory, MNIST_TEST_IMAGES)):
        return directory
    return None


def dataset_names():
    """"synthetic", plus "mnist" where FASTGEN_MNIST names a directory with the test images."""
    return ["synthetic"] + (["mnist"] if mnist_directory() else [])


if __name__ == "__main__":  # quick look: density and a few prototype-sampled rows as ASCII
    X = synthetic()
    print(X.shape, X.dtype, f"density {X.mean():.4f}")
    for row in X[:3]:
        print("\n".join("".join("#" if v else "." for v in line) for line in row.reshape(SIDE, SIDE)), "\n")
