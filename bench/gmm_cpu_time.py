"""CPU time on one thread of the GMM fit (default k-means init, EM to convergence), of the k-means
init alone and of one EM iteration, fastgen `cpu` and `numba` against scikit-learn, for a machine
too busy for wall times (bench/test_gmm_em.py's problem: N = 200,000, D = 16, K = 32; best of
`--repeats` in one process, each ratio within the run).

Run as: OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/gmm_cpu_time.py
(prints a Markdown table)."""
import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_gmm_em import N_COMPONENTS, _data, _model  # noqa: E402

import fastgen  # noqa: E402
from fastgen import _backend  # noqa: E402
from fastgen.gmm import _kmeans  # noqa: E402


def cpu_time(run, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"load average at start: {os.getloadavg()}; threads: OMP {os.environ.get('OMP_NUM_THREADS')}, "
          f"NUMBA {os.environ.get('NUMBA_NUM_THREADS')}, OPENBLAS {os.environ.get('OPENBLAS_NUM_THREADS')}\n")
    print("| loop | dtype | fastgen `cpu` | fastgen `numba` | scikit-learn | `cpu` × scikit-learn | `numba` / `cpu` |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for dtype in ("float64", "float32"):
        X, centres = _data(np.dtype(dtype))
        rows = {}
        for impl in ("fastgen-cpu", "fastgen-numba", "sklearn"):
            if impl == "sklearn":
                def init():
                    KMeans(n_clusters=N_COMPONENTS, n_init=1, random_state=np.random.RandomState(0)).fit(X)
            else:
                kernels = _backend.resolve(impl.split("-")[1], on_device=False).gmm

                def init(kernels=kernels):
                    _kmeans.kmeans_labels(kernels, np.ascontiguousarray(X), None, N_COMPONENTS,
                                          np.random.RandomState(0))
            init()  # warm-up (JIT)
            rows.setdefault("k-means init", {})[impl] = cpu_time(init, args.repeats)
            for ct in ("diag", "full"):
                settings = dict(n_components=N_COMPONENTS, covariance_type=ct, random_state=0)
                fit = (GaussianMixture(**settings) if impl == "sklearn"
                       else fastgen.GaussianMixture(**settings, backend=impl.split("-")[1]))
                fit.fit(X[:20000])
                rows.setdefault(f"fit, {ct}", {})[impl] = cpu_time(lambda: fit.fit(X), args.repeats)
                iteration = _model(impl, ct, centres)
                iteration.fit(X[:20000])
                rows.setdefault(f"EM iteration, {ct}", {})[impl] = cpu_time(lambda: iteration.fit(X), args.repeats)
        for loop, t in rows.items():
            print(f"| {loop} | {dtype} | {t['fastgen-cpu'] * 1e3:.0f} ms | {t['fastgen-numba'] * 1e3:.0f} ms | "
                  f"{t['sklearn'] * 1e3:.0f} ms | {t['sklearn'] / t['fastgen-cpu']:.2f}× | "
                  f"{t['fastgen-numba'] / t['fastgen-cpu']:.2f} |")
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
