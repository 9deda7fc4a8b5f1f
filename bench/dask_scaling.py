"""fastgen on Dask against one process, in one run (docs/scaling.md reads its output):

GMM: EM iterations of fastgen.GaussianMixture (full covariances, K components, D features,
float64) on N rows: in memory in this process (all its threads, then one thread), and on a
Dask array of N rows persisted on a LocalCluster of W single-threaded worker processes. The
time of one iteration is the slope between a fit of `--iters` iterations and one of 1 (the
fixed costs, the initialisation and the labels, cancel). Also measured: the per-iteration
overhead of the Dask path (the same iteration on a tiny X with the same number of chunks) and
its cost per task (tiny X with 8x the chunks), and the bytes one iteration moves, from the
pickled sizes of the shipped parameters and of one chunk's statistics.

AIS: log Z of random models, `--chains` chains, a `--betas`-step schedule, for each family
of `--families`: a 784 x 500 binary RBM, a 784 x 500 Gaussian-Bernoulli RBM and a 784-500-500
DBM: one process (its threads, then one thread) against client= on the W workers; the log
weights are checked bit-identical. For the GB-RBM and the DBM also the loop as it was before
it ran in blocks of chains on one BLAS thread (all chains in one batch, BLAS on its threads).

`--memory-limit` caps each worker's memory (Dask's memory_limit, e.g. 2.2GiB: X of N = 20M rows,
D = 16, float64 is 2.4 GiB, more than a worker may hold).

Run: python bench/dask_scaling.py [--rows 2000000] [--workers 2] > bench/results/dask-<date>.json
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import sys
import time
import warnings

import numpy as np


def _timed(function, repeats):
    """The shortest of `repeats` wall times of function() (the least disturbed by other load)."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _combine_tasks(n_leaves, split_every=8):
    """Tasks above the leaves in fastgen._dask.tree_sum's tree."""
    count = 0
    while n_leaves > 1:
        n_leaves = -(-n_leaves // split_every)
        count += n_leaves
    return count


def _blobs(n_rows, n_features, n_components, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=4.0, size=(n_components, n_features))
    labels = rng.randint(n_components, size=n_rows)
    X = rng.normal(size=(n_rows, n_features))
    for start in range(0, n_rows, 1 << 20):  # in place, block by block: no second copy of X
        X[start:start + (1 << 20)] += centres[labels[start:start + (1 << 20)]]
    return X, centres


def _gmm(n_components, n_features, centres, max_iter):
    import fastgen

    return fastgen.GaussianMixture(n_components, covariance_type="full", max_iter=max_iter, tol=0.0,
                                   weights_init=np.full(n_components, 1.0 / n_components), means_init=centres + 0.5,
                                   precisions_init=np.repeat(np.eye(n_features)[None], n_components, axis=0))


def gmm(args, client):
    import dask.array as da
    from distributed import wait as distributed_wait

    from fastgen import _backend
    from fastgen.gmm import _dask

    K, D, N = args.components, args.features, args.rows
    X, centres = _blobs(N, D, K)
    chunk_rows = -(-N // args.chunks)

    def per_iteration(fit_data):
        one = _timed(lambda: _gmm(K, D, centres, 1).fit(fit_data), args.repeats)
        many = _timed(lambda: _gmm(K, D, centres, args.iters).fit(fit_data), args.repeats)
        return (many - one) / (args.iters - 1)

    warnings.simplefilter("ignore")
    kernels = _backend.resolve(None, on_device=False)
    # every core (the cluster's start leaves OMP_NUM_THREADS=1 in this process's environment)
    kernels.set_num_threads(os.cpu_count())
    _gmm(K, D, centres, 1).fit(X[:10_000])  # warm-up: the thread pool
    result = {"N": N, "D": D, "K": K, "chunks": args.chunks, "bytes_of_X": X.nbytes,
              "in_memory_threads": kernels.get_num_threads()}
    result["in_memory_s"] = per_iteration(X)
    if not args.skip_one_thread:
        kernels.set_num_threads(1)
        result["in_memory_1_thread_s"] = per_iteration(X)
        kernels.set_num_threads(os.cpu_count())

    Xd = client.persist(da.from_array(X, chunks=(chunk_rows, D)))
    client.wait_for_workers(args.workers)
    distributed_wait(Xd)
    # each worker's memory limit, as Dask applies it (X persisted above is split between them)
    result["worker_memory_limit_bytes"] = [w["memory_limit"] for w in client.scheduler_info()["workers"].values()]
    _gmm(K, D, centres, 1).fit(Xd)  # warm-up: fastgen imported on the workers
    result["dask_s"] = per_iteration(Xd)
    # how many of X's chunks each worker held in memory and spilled to its disk, after the fits
    result["worker_chunks_in_memory_and_spilled"] = list(client.run(
        lambda dask_worker: (len(dask_worker.data.fast), len(dask_worker.data.slow))).values())

    # overhead: an iteration whose chunks hold 8 rows each (the kernels' time ~0), with the
    # same number of chunks and 8x as many
    model = _gmm(K, D, centres, 1).fit(X[:10_000])
    params = model._kernel_params(np.float64)
    for n_chunks, key in ((args.chunks, "overhead_s"), (8 * args.chunks, "overhead_8x_chunks_s")):
        tiny = client.persist(da.from_array(X[:8 * n_chunks], chunks=(8, D)))
        _dask.em_statistics(tiny, None, "cpu", [params])
        result[key] = _timed(lambda: _dask.em_statistics(tiny, None, "cpu", [params]), 3 * args.repeats)
    extra_tasks = 7 * args.chunks + _combine_tasks(8 * args.chunks) - _combine_tasks(args.chunks)
    result["per_task_s"] = (result["overhead_8x_chunks_s"] - result["overhead_s"]) / extra_tasks

    statistics = _dask.chunk_statistics("cpu", X[:chunk_rows], params)
    result["params_bytes"] = len(pickle.dumps(params))
    result["statistics_bytes"] = len(pickle.dumps(statistics))
    # per iteration: the parameters to each worker once, each chunk's statistics to a combining
    # task (an upper bound: some run where they were made) and one set to the client
    result["bytes_per_iteration"] = (args.workers * result["params_bytes"]
                                     + (args.chunks + _combine_tasks(args.chunks)) * result["statistics_bytes"])
    return result


def _ais_models():
    """{family: (log_partition_ais of the model with options, the unblocked one-process loop, what the model is)}."""
    import functools

    import fastgen
    from fastgen import _backend
    from fastgen.dbm import _partition as dbm_partition
    from fastgen.gbrbm import _partition as gbrbm_partition

    rng = np.random.RandomState(0)
    W = rng.normal(scale=0.05, size=(784, 500))
    b, c = rng.normal(-1.0, 0.5, size=784), rng.normal(0.0, 0.5, size=500)
    sigma = rng.uniform(0.5, 1.5, size=784)
    W2, c2 = rng.normal(scale=0.05, size=(500, 500)), rng.normal(0.0, 0.5, size=500)
    kernels = _backend.resolve(None, on_device=False)

    def unblocked(loop, arrays, betas, n_chains, seed):
        start = time.perf_counter()
        loop(kernels, *arrays, betas=betas, seed=seed, n_chains=n_chains)
        return time.perf_counter() - start

    return {
        "rbm": (functools.partial(fastgen.rbm.log_partition_ais, W, b, c), None, "784 x 500 binary RBM, float64"),
        "gbrbm": (functools.partial(fastgen.gbrbm.log_partition_ais, W, b, c, sigma),
                  functools.partial(unblocked, gbrbm_partition.ais_log_weights, (W, b, c, sigma)),
                  "784 x 500 Gaussian-Bernoulli RBM, float64"),
        "dbm": (functools.partial(fastgen.dbm.log_partition_ais, [W, W2], [b, c, c2]),
                functools.partial(unblocked, dbm_partition.ais_log_weights, ([W, W2], [b, c, c2], np.zeros(784))),
                "784-500-500 DBM, float64"),
    }


def ais(args, client):
    from fastgen import _backend

    kernels = _backend.resolve(None, on_device=False)
    betas = np.linspace(0.0, 1.0, args.betas)
    options = dict(n_chains=args.chains, betas=betas, seed=1)
    results = {}
    for family, (log_partition, unblocked, model) in _ais_models().items():
        if family not in args.families:
            continue
        kernels.set_num_threads(os.cpu_count())
        log_partition(n_chains=4, betas=np.linspace(0.0, 1.0, 50))  # warm-up
        result = {"chains": args.chains, "betas": args.betas, "model": model,
                  "one_process_threads": kernels.get_num_threads(), "load_average_before": os.getloadavg()}
        start = time.perf_counter()
        local = log_partition(**options)
        result["one_process_s"] = time.perf_counter() - start
        kernels.set_num_threads(1)
        start = time.perf_counter()
        log_partition(**options)
        result["one_thread_s"] = time.perf_counter() - start
        kernels.set_num_threads(os.cpu_count())
        if unblocked is not None:  # the loop before blocks: all chains in one batch, BLAS on its threads
            result["one_process_unblocked_s"] = unblocked(betas, args.chains, 1)
        log_partition(n_chains=4, betas=np.linspace(0.0, 1.0, 50), client=client)  # warm-up
        start = time.perf_counter()
        spread = log_partition(client=client, **options)
        result["workers_s"] = time.perf_counter() - start
        result["bit_identical"] = bool(np.array_equal(spread.log_weights, local.log_weights))
        result["log_z"] = local.log_z
        result["load_average_after"] = os.getloadavg()
        results[family] = result
        print(json.dumps({family: result}), file=sys.stderr)  # kept should a later family fail
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--components", type=int, default=16)
    parser.add_argument("--chunks", type=int, default=16)
    parser.add_argument("--iters", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chains", type=int, default=1000)
    parser.add_argument("--betas", type=int, default=500)
    parser.add_argument("--only", choices=["gmm", "ais"])
    parser.add_argument("--families", nargs="+", choices=["rbm", "gbrbm", "dbm"], default=["rbm", "gbrbm", "dbm"])
    parser.add_argument("--skip-one-thread", action="store_true", help="no in-memory GMM fit on one thread")
    parser.add_argument("--memory-limit", default="auto", help="each worker's memory_limit (Dask's)")
    args = parser.parse_args()

    import distributed

    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  memory_limit=args.memory_limit, dashboard_address=None,
                                  silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        report = {"machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "python": sys.version.split()[0],
                              "platform": platform.platform()},
                  "workers": args.workers, "threads_per_worker": 1, "memory_limit": args.memory_limit}
        if args.only in (None, "gmm"):
            report["gmm"] = gmm(args, client)
            print(json.dumps(report["gmm"]), file=sys.stderr)  # kept should the AIS part fail
        if args.only in (None, "ais"):
            report["ais"] = ais(args, client)
        report["machine"]["load_average_after"] = os.getloadavg()
        # the largest resident size of this process (the in-memory fits), in bytes (Linux: KiB)
        report["machine"]["client_max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
