"""The `fastgen` console command.

    fastgen --version        print fastgen's version
    fastgen demo             train a BernoulliRBM on scikit-learn's digits and draw samples
    fastgen demo diffusion   sample a 2-D Gaussian mixture with DDPM and its exact denoiser
    fastgen demo gmm         fit a 2-D Gaussian mixture by EM and draw its ellipses
    fastgen bench [LOOP ...] run the benchmark suite, write its Markdown tables and PNG

Every output path is checked before any work starts.
"""
from __future__ import annotations

import argparse
import os
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


# The demo's hottest replica: the acceptance of swaps from beta = 0 (uniform noise) to the next
# temperature was 0.00 on the demo's model, while evenly spaced temperatures from beta = 0.2
# accepted 0.46 to 0.73 of the swaps between every pair (10 temperatures).
HOTTEST_BETA = 0.2


def demo(args) -> int:
    from sklearn.datasets import load_digits

    from . import BernoulliRBM, _progress, available_backends
    from ._backend import resolve

    backend = resolve(args.backend, on_device=False).name
    digits = load_digits()
    X = (digits.data > 7).astype(np.float32)  # 1,797 8x8 digits, binarized
    # A constant step leaves PCD's model wherever its last updates pushed it, and that model
    # put most of its mass on two or three digits (the samples were nearly all 4s, 5s and
    # 7s); steps falling to zero let it settle, and 100 persistent chains instead of the
    # batch's 10 give the updates a negative phase that spans the classes.
    rbm = BernoulliRBM(
        n_components=args.hidden,
        learning_rate=0.05,
        learning_rate_schedule="linear",
        batch_size=10,
        n_iter=args.epochs,
        cd_k=1,
        persistent=True,
        n_chains=100,
        momentum=0.5,
        shuffle=True,
        random_state=args.seed,
        backend=backend,
    )
    print(f"fastgen demo: BernoulliRBM({args.hidden} hidden) on {X.shape[0]} binarized 8x8 digits, "
          f"PCD-1 with 100 chains, {args.epochs} epochs, backend '{backend}' "
          f"(available: {', '.join(available_backends())})")
    start = time.perf_counter()
    with _progress.bar(True, args.epochs, "training", unit="epoch") as bar:
        for epoch in rbm.fit_iter(X):
            if epoch % 10 == 0 or epoch == args.epochs:  # scoring every epoch took half the training's time
                bar.set_postfix(pseudo_ll=f"{rbm.score_samples(X).mean():.2f}", time=f"{time.perf_counter() - start:.1f}s")
            bar.update()
    trained = time.perf_counter() - start
    # Block Gibbs chains from random states stay in the basin they fall into first; parallel
    # tempering lets them cross between modes through the hotter replicas.
    sampled = time.perf_counter()
    if args.sampler == "pt":
        betas = np.linspace(HOTTEST_BETA, 1.0, args.temperatures)
        samples, acceptance = rbm.sample(args.samples, n_steps=args.steps, random_state=args.seed, method="pt",
                                         betas=betas, return_acceptance=True, progress=True)
        how = (f"parallel tempering, {args.temperatures} temperatures (beta {HOTTEST_BETA} to 1), "
               f"{args.steps} sweeps")
    else:
        samples = rbm.sample(args.samples, n_steps=args.steps, random_state=args.seed, progress=True)
        how = f"{args.steps} Gibbs sweeps each"
    sampled = time.perf_counter() - sampled
    classes = _nearest_neighbour_classes(samples, X, digits.target)
    rng = np.random.default_rng(args.seed)
    shown = X[[rng.choice(np.flatnonzero(digits.target == digit)) for digit in range(10)]]  # one of each
    per_row = 10
    in_class_order = samples[np.argsort(classes, kind="stable")]
    rows = [[img.reshape(8, 8) for img in shown]]
    rows += [[img.reshape(8, 8) for img in in_class_order[i : i + per_row]] for i in range(0, args.samples, per_row)]
    out = args.output
    _grid_image(rows, scale=6).save(out)
    print(f"trained in {trained:.1f}s; final pseudo-log-likelihood {rbm.score_samples(X).mean():.2f} nats per image")
    print(f"wrote {out}: top row a training digit of each class, below it {args.samples} model samples "
          f"in the order of their classes ({how}, {sampled:.1f}s)")
    if args.sampler == "pt":
        print("swap acceptance between neighbouring temperatures: "
              f"min {np.nanmin(acceptance):.2f}, mean {np.nanmean(acceptance):.2f}")
    counts = np.bincount(classes, minlength=10)
    missing = [str(digit) for digit in range(10) if counts[digit] == 0]
    print(f"digit classes of the samples (a 5-nearest-neighbour classifier of the digits): "
          f"{', '.join(f'{digit}: {n}' for digit, n in enumerate(counts))}; "
          + (f"not drawn: {', '.join(missing)}" if missing else "all ten drawn"))
    print(f"backend: {backend}")
    return 0


def _nearest_neighbour_classes(samples, X, labels):
    """The digit class of each sample by its 5 nearest training digits: the model's variety
    in numbers (a class it never draws has none)."""
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(5).fit(X, labels).predict(samples)


def _mixture_ring(n_components=8, radius=2.0, std=0.25):
    angles = 2 * np.pi * np.arange(n_components) / n_components
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    weights = np.linspace(1.0, 2.0, n_components)
    return weights / weights.sum(), means, np.repeat([np.eye(2) * std**2], n_components, axis=0)


def _density_image(points, extent=3.2, bins=96):
    counts, _, _ = np.histogram2d(points[:, 1], points[:, 0], bins=bins, range=[[-extent, extent]] * 2)
    return 1.0 - np.sqrt(counts / counts.max())  # dark where dense, on white


def demo_diffusion(args) -> int:
    from ._backend import resolve
    from .diffusion import DDPMSchedule, GaussianMixtureDenoiser, sample  # fastgen's own: no diffusers needed

    backend = resolve(args.backend, on_device=False).name
    n_samples = args.samples or 20000
    weights, means, covariances = _mixture_ring()
    scheduler = DDPMSchedule(clip_sample=False)
    model = GaussianMixtureDenoiser(weights, means, covariances, alphas_cumprod=scheduler.alphas_cumprod)
    print(f"fastgen demo diffusion: {n_samples} samples of an 8-component 2-D Gaussian mixture, "
          f"DDPM with {args.steps} steps and the exact denoiser, backend '{backend}'")
    start = time.perf_counter()
    x = sample(model, (n_samples, 2), scheduler, num_inference_steps=args.steps, seed=args.seed, backend=backend,
               progress=True)
    elapsed = time.perf_counter() - start
    rng = np.random.default_rng(args.seed)
    component = rng.choice(len(weights), n_samples, p=weights)
    target = means[component] + rng.normal(size=(n_samples, 2)) * np.sqrt(covariances[component, 0, 0])[:, None]
    out = args.output
    _grid_image([[_density_image(target), _density_image(x)]], scale=4).save(out)
    print(f"sampled in {elapsed:.1f}s; wrote {out}: left the target mixture, right the samples")
    print(f"backend: {backend}")
    return 0


def _stretched_ring(n_components=8, radius=2.0):
    """A ring of Gaussians, each long along its radius (so the fitted full covariances show as
    ellipses of every orientation): (weights, means, covariances)."""
    weights, means, _ = _mixture_ring(n_components, radius)
    radial = means / radius
    tangent = radial @ np.array([[0.0, 1.0], [-1.0, 0.0]])
    covariances = 0.30**2 * np.einsum("ki,kj->kij", radial, radial) + 0.08**2 * np.einsum("ki,kj->kij", tangent, tangent)
    return weights, means, covariances


def _mixture_log_likelihood(X, weights, means, covariances):
    """Mean log-density of the rows of X under a Gaussian mixture (float64, log-sum-exp)."""
    diff = X[:, None, :] - means[None]  # (n, k, d)
    solved = np.einsum("kij,nkj->nki", np.linalg.inv(covariances), diff)
    log_det = np.linalg.slogdet(covariances)[1]
    log_p = np.log(weights) - 0.5 * (np.einsum("nki,nki->nk", diff, solved) + log_det + X.shape[1] * np.log(2 * np.pi))
    top = log_p.max(axis=1, keepdims=True)
    return float(np.mean(top[:, 0] + np.log(np.exp(log_p - top).sum(axis=1))))


def _ellipse(mean, covariance, n_sigma=2.0, n_points=60):
    """Points of the n_sigma contour of a 2-D Gaussian."""
    values, vectors = np.linalg.eigh(covariance)
    angles = np.linspace(0.0, 2 * np.pi, n_points)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return mean + n_sigma * (circle * np.sqrt(values)) @ vectors.T


def demo_gmm(args) -> int:
    from PIL import Image, ImageDraw

    from ._backend import resolve
    from .gmm._estimator import GaussianMixture

    backend = resolve(args.backend, on_device=False).name
    n_samples = args.samples or 20000
    weights, means, covariances = _stretched_ring()
    rng = np.random.default_rng(args.seed)
    component = rng.choice(len(weights), n_samples, p=weights)
    X = means[component] + np.einsum("nij,nj->ni", np.linalg.cholesky(covariances)[component],
                                     rng.normal(size=(n_samples, 2)))
    print(f"fastgen demo gmm: {n_samples} points of an 8-component 2-D Gaussian mixture, EM with full "
          f"covariances (k-means init), backend '{backend}'")
    start = time.perf_counter()
    model = GaussianMixture(len(weights), covariance_type="full", random_state=args.seed, backend=backend)
    model.fit(X, progress=True)
    elapsed = time.perf_counter() - start
    print(f"fitted in {elapsed:.2f}s: {model.n_iter_} EM iterations, converged {model.converged_}; mean "
          f"log-likelihood per point {model.score(X):.4f} (the true mixture's: "
          f"{_mixture_log_likelihood(X, weights, means, covariances):.4f})")

    size, extent = 480, 3.2
    image = Image.fromarray((_density_image(X, extent, bins=size) * 255).astype(np.uint8), mode="L").convert("RGB")
    draw = ImageDraw.Draw(image)

    def pixels(points):
        return [(float((x + extent) / (2 * extent) * size), float((extent - y) / (2 * extent) * size)) for x, y in points]

    for k in range(len(weights)):
        draw.line(pixels(_ellipse(means[k], covariances[k])), fill=(40, 160, 40), width=1)
        draw.line(pixels(_ellipse(model.means_[k], model.covariances_[k])), fill=(220, 30, 30), width=2)
    image.save(args.output)
    print(f"wrote {args.output}: the points, the fitted components' 2-sigma ellipses (red) and the true ones (green)")
    print(f"backend: {backend}")
    return 0


def check_output(path: str) -> Path:
    """`path` resolved, once it is known that an image can be written there: ValueError (a
    usage error) otherwise, before any work."""
    from PIL import Image

    out = Path(path).expanduser().resolve()
    if out.is_dir():
        raise ValueError(f"--output {path} is a directory; give a file name, such as {Path(path) / 'demo.png'}")
    if out.suffix.lower() not in Image.registered_extensions():
        raise ValueError(f"--output {path}: the file name must end in an image format's extension, such as .png")
    if not out.parent.is_dir():
        raise ValueError(f"--output {path}: the directory {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ValueError(f"--output {path}: no permission to write {out}")
    return out


def main(argv=None) -> int:
    from . import __version__

    parser = argparse.ArgumentParser(prog="fastgen", description="fastgen: fast inner loops of generative models")
    parser.add_argument("--version", action="version", version=f"fastgen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("demo", help="train an RBM on scikit-learn's digits and write a PNG of samples "
                            "('demo diffusion': sample a 2-D Gaussian mixture by DDPM; 'demo gmm': fit one by EM)")
    p.add_argument("which", nargs="?", choices=["rbm", "diffusion", "gmm"], default="rbm",
                   help="which demo (default: rbm)")
    p.add_argument("--backend", default=None, help="cpu, numba or cuda (default: the best for host data)")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--hidden", type=int, default=150)
    p.add_argument("--samples", type=int, default=None,
                   help="number of samples shown (rbm: 100), or of samples drawn (diffusion: 20000), "
                   "or of points fitted (gmm: 20000)")
    p.add_argument("--steps", type=int, default=1000, help="sweeps per sample (rbm), or diffusion steps")
    p.add_argument("--sampler", choices=["pt", "gibbs"], default="pt",
                   help="rbm: parallel tempering (default) or plain block Gibbs chains")
    p.add_argument("--temperatures", type=int, default=10,
                   help=f"rbm, parallel tempering: replicas, at inverse temperatures evenly spaced from {HOTTEST_BETA} "
                   "to 1 (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=None, help="where to write the PNG (default: fastgen-demo[-diffusion|-gmm].png)")
    from . import _benchmarks

    p = commands.add_parser("bench", help="run the benchmark suite (all loops, or those named) and write its "
                            "Markdown tables and a PNG of the speed-ups and shares of floor",
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog="loops:\n" + "\n".join(f"  {name:10} {text}" for name, (_, text) in
                                                         _benchmarks.LOOPS.items()))
    p.add_argument("loops", nargs="*", metavar="LOOP", help=f"{', '.join(_benchmarks.LOOPS)} or all (the default)")
    p.add_argument("--output", default=".", help="the directory for fastgen-bench.md, .png, .json and .log "
                   "(default: the current one; made if its parent exists)")
    p.add_argument("--quick", action="store_true", help="smaller problems (a tenth of the GMM's rows, 300 AIS "
                   "steps, ...: bench/README.md); the timings are then not the README's")
    args = parser.parse_args(argv)
    try:
        if args.command == "bench":
            loops = _benchmarks.select(args.loops)
            try:
                _benchmarks.check_requirements()
                _benchmarks.suite_directory()
            except _benchmarks.Unavailable as exc:
                parser.exit(2, f"fastgen bench: {exc}\n")
            out = _benchmarks.check_output_directory(args.output)
            return _benchmarks.run(loops, out, args.quick, _benchmarks.command_line(argv if argv is not None
                                                                                     else sys.argv[1:]))
        if args.which == "diffusion":
            args.output = check_output(args.output or "fastgen-demo-diffusion.png")
            return demo_diffusion(args)
        if args.which == "gmm":
            args.output = check_output(args.output or "fastgen-demo-gmm.png")
            return demo_gmm(args)
        args.samples = args.samples or 100
        if args.temperatures < 2:
            raise ValueError(f"--temperatures must be >= 2, got {args.temperatures}")
        args.output = check_output(args.output or "fastgen-demo.png")
        return demo(args)
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    raise SystemExit(main())
