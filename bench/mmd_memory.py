"""Peak memory of fastgen.mmd.mmd2 on large float32 samples, each size in a fresh process.

    python bench/mmd_memory.py --n 5000,10000,20000 --d 2048      # one row per N (N = M)
    python bench/mmd_memory.py --n 50000 --d 2048                 # the issue's size: 20 TFLOP, minutes

Each child draws X and Y (N x D float32 each, generated in place: no float64 copy), reads
its peak resident set (ru_maxrss) before and after one unbiased Gaussian-kernel mmd2 on the
`cpu` backend, and reports the difference: the memory the computation itself needed beyond
its inputs. The materialised kernel matrices alone would take 3 N^2 x 4 bytes.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child(n, d, backend):
    import numpy as np

    from fastgen import mmd

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float32)
    Y = rng.standard_normal((n, d), dtype=np.float32)
    Y += np.float32(0.05)
    mmd.mmd2(X[:64], Y[:64], bandwidth=64.0, backend=backend)  # load the extension, BLAS, thread pools
    before = _peak_mib()
    start = time.perf_counter()
    value = mmd.mmd2(X, Y, bandwidth=64.0, backend=backend)
    seconds = time.perf_counter() - start
    after = _peak_mib()
    print(json.dumps({"n": n, "d": d, "backend": backend, "inputs_mib": 2 * X.nbytes / 2**20,
                      "peak_before_mib": before, "peak_after_mib": after, "extra_mib": after - before,
                      "seconds": seconds, "gflops": d * (2 * n) ** 2 / seconds / 1e9, "mmd2": value,
                      "materialised_gib": 3 * n * n * 4 / 2**30}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="5000,10000,20000", help="comma-separated N (= M)")
    parser.add_argument("--d", type=int, default=2048)
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(int(args.n), args.d, args.backend)
        return
    print("| N = M | D | inputs (MiB) | peak RSS before (MiB) | extra peak during mmd2 (MiB) | seconds | GFLOP/s | "
          "materialised matrices (GiB) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in args.n.split(","):
        out = subprocess.run([sys.executable, __file__, "--child", "--n", n, "--d", str(args.d), "--backend",
                              args.backend], capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"| {r['n']:,} | {r['d']:,} | {r['inputs_mib']:.0f} | {r['peak_before_mib']:.0f} | {r['extra_mib']:.0f} | "
              f"{r['seconds']:.1f} | {r['gflops']:.0f} | {r['materialised_gib']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
