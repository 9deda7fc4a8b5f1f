"""Sampling split over Dask workers against one process, in one run (README "Beyond one machine"):

RBM: BernoulliRBM.sample of a random 784 x 500 model (`--dtype` weights; Gibbs) for `--samples`
chains and `--steps` sweeps: in this process (all its threads), and with client= on a
LocalCluster of W single-threaded worker processes (samples checked bit-identical).
Diffusion: fastgen.sample of the exact Gaussian-mixture denoiser (D = `--dim`), DDPM with
`--diffusion-steps` steps on `--batch` samples, the same two ways.

One process uses all its threads (OpenMP, BLAS); each worker one. The two ways alternate, `--repeats` times each; the best of each is kept (the least disturbed
by other load), with the load average before and after. The cluster is started (and its
workers warmed up by one untimed call each) before any timing.

Run: python bench/dask_sampling.py [--workers 2] > bench/results/dask-sampling-<date>.json
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def _best_of_alternating(local, spread, repeats):
    """(best local s, best spread s, last results): the two calls alternate, repeats times."""
    best = [np.inf, np.inf]
    results = [None, None]
    for _ in range(repeats):
        for k, call in enumerate((local, spread)):
            start = time.perf_counter()
            results[k] = call()
            best[k] = min(best[k], time.perf_counter() - start)
    return best[0], best[1], results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--diffusion-steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = parser.parse_args()

    import distributed

    import fastgen
    from fastgen._dask import row_blocks
    from fastgen.diffusion.mixture import GaussianMixtureDenoiser

    out = {"args": vars(args), "cpus": os.cpu_count(), "load_before": os.getloadavg(),
           "rbm_blocks": row_blocks(args.samples, args.workers)}
    rng = np.random.RandomState(0)
    X = (rng.rand(50, 784) > 0.7).astype(args.dtype)
    rbm = fastgen.BernoulliRBM(500, n_iter=1, random_state=0).fit(X)
    rbm.components_ = rng.normal(scale=0.05, size=rbm.components_.shape).astype(rbm.components_.dtype)
    k = 4
    denoiser = GaussianMixtureDenoiser(np.full(k, 1 / k), rng.normal(scale=2.0, size=(k, args.dim)),
                                       np.stack([np.eye(args.dim) * 0.5] * k))
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(args.workers)
        for workers in (client, None):  # warm-up, here and on the workers: imports, Numba, the model
            rbm.sample(args.workers, n_steps=1, random_state=0, client=workers)
            fastgen.sample(denoiser, (args.workers, args.dim), fastgen.DDPMScheduler(), num_inference_steps=2,
                           client=workers)
        local, spread, (a, b) = _best_of_alternating(
            lambda: rbm.sample(args.samples, n_steps=args.steps, random_state=1),
            lambda: rbm.sample(args.samples, n_steps=args.steps, random_state=1, client=client), args.repeats)
        out["rbm_gibbs"] = {"one_process_s": local, "workers_s": spread, "bit_identical": bool(np.array_equal(a, b))}
        local, spread, (a, b) = _best_of_alternating(
            lambda: fastgen.sample(denoiser, (args.batch, args.dim), fastgen.DDPMScheduler(),
                                   num_inference_steps=args.diffusion_steps, seed=1),
            lambda: fastgen.sample(denoiser, (args.batch, args.dim), fastgen.DDPMScheduler(),
                                   num_inference_steps=args.diffusion_steps, seed=1, client=client), args.repeats)
        out["diffusion_ddpm"] = {"one_process_s": local, "workers_s": spread,
                                 "bit_identical": bool(np.array_equal(a, b))}
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
