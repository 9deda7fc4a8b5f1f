"""AIS log Z with its chains spread over the workers of a LocalCluster (`client=`), for the
binary RBM, the Gaussian-Bernoulli RBM and the DBM: only the log weights come back, and they
are bit for bit those of the one-process run with the same seed, whatever the split of the
chains, because each chain's draws depend on (seed, chain index) only (`first_chain` of the
AIS loops, the kernels' row offsets)."""
import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

pytest.importorskip("distributed")

import fastgen
from fastgen import _backend, _dask
from fastgen._partition import AIS_BLOCK, blocked_ais
from fastgen.dbm import _partition as dbm_partition
from fastgen.gbrbm import _partition as gbrbm_partition
from fastgen.rbm import _partition as rbm_partition

from worker_failure import kill_a_worker_during

BETAS = np.linspace(0.0, 1.0, 200)


def _rbm(dtype=np.float64, n_visible=12, n_hidden=7, seed=0):
    rng = np.random.RandomState(seed)
    W = rng.normal(scale=0.5, size=(n_visible, n_hidden)).astype(dtype)
    return W, rng.normal(size=n_visible).astype(dtype), rng.normal(size=n_hidden).astype(dtype)


def _rbm_arrays(dtype):
    W, b, c = _rbm(dtype)
    base = fastgen.rbm.base_visible_bias(np.random.RandomState(1).randint(0, 2, size=(30, W.shape[0])))
    return W, b, c, base.astype(dtype)


def _gbrbm_arrays(dtype):
    # 13 visible units: a chain's rows start inside Philox blocks and Box-Muller pairs
    W, b, c = _rbm(dtype, n_visible=13, n_hidden=6, seed=4)
    return W, b, c, np.random.RandomState(5).uniform(0.5, 2.0, size=13).astype(dtype)


def _dbm_arrays(dtype):
    rng = np.random.RandomState(6)
    sizes = (9, 5, 3)  # odd widths: rows of every layer start inside Philox blocks
    weights = [rng.normal(scale=0.8, size=(a, b)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(scale=0.5, size=n).astype(dtype) for n in sizes]
    return weights, biases, rng.normal(size=sizes[0]).astype(dtype)


@dataclass
class Family:
    arrays: Callable  # dtype -> the model's arrays, in the order of log_weights and of the op
    log_weights: Callable  # the unchecked AIS of chains first_chain .., as a worker's task runs it
    op: Callable  # the public op, called as op(*arrays, **options)
    align: int = 1  # where a worker's range of chains may start


FAMILIES = {
    "rbm": Family(_rbm_arrays, rbm_partition.ais_log_weights,
                  lambda W, b, c, base, **options: fastgen.rbm.log_partition_ais(W, b, c, base_visible_bias=base,
                                                                                 **options)),
    "gbrbm": Family(_gbrbm_arrays, functools.partial(blocked_ais, gbrbm_partition.ais_log_weights),
                    fastgen.gbrbm.log_partition_ais, AIS_BLOCK),
    "dbm": Family(_dbm_arrays, functools.partial(blocked_ais, dbm_partition.ais_log_weights),
                  lambda weights, biases, base, **options: fastgen.dbm.log_partition_ais(
                      weights, biases, base_visible_bias=base, **options), AIS_BLOCK),
}


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_any_split_of_the_chains_gives_the_whole_runs_weights(cpu_backend, family, dtype):
    """first_chain: ranges of chains run alone (as the workers' tasks run them, through the
    host), concatenated, are the whole run, for even and uneven splits."""
    kernels = _backend.resolve(cpu_backend, on_device=False)
    run = functools.partial(FAMILIES[family].log_weights, betas=BETAS, seed=7)
    arrays = FAMILIES[family].arrays(dtype)
    n_chains = 5 * AIS_BLOCK - 20  # 4 whole blocks and a short one
    whole = run(kernels, *arrays, n_chains=n_chains)
    assert np.isfinite(whole).all() and np.unique(whole).size == n_chains  # all different chains
    model = (cpu_backend, run, _dask._on_host(arrays))
    for n_parts in (2, 3, 5, n_chains):
        ranges = _dask.chain_ranges(n_chains, n_parts, FAMILIES[family].align)
        assert len(ranges) == min(n_parts, 5 if FAMILIES[family].align > 1 else n_chains)
        parts = [_dask._chain_range(model, first, count) for first, count in ranges]
        np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_blocks_start_at_multiples_of_the_block():
    kernels = _backend.resolve(None, on_device=False)
    with pytest.raises(ValueError, match=f"first_chain must be a multiple of {AIS_BLOCK}, got 3"):
        FAMILIES["dbm"].log_weights(kernels, *_dbm_arrays(np.float64), betas=BETAS, seed=0, n_chains=5,
                                    first_chain=3)


def test_chain_ranges_cover_the_chains_once():
    for n_chains, n_parts, align in [(1, 4, 1), (10, 3, 1), (1000, 2, 1), (7, 7, 1), (1000, 2, 64), (300, 7, 64),
                                     (10, 3, 64), (128, 2, 64), (129, 3, 64)]:
        ranges = _dask.chain_ranges(n_chains, n_parts, align)
        assert len(ranges) == min(n_chains, n_parts, -(-n_chains // align))
        assert [first for first, _ in ranges] == list(np.cumsum([0] + [n for _, n in ranges[:-1]]))
        assert all(first % align == 0 for first, _ in ranges)
        assert sum(n for _, n in ranges) == n_chains and min(n for _, n in ranges) >= 1
        blocks = [-(-n // align) for _, n in ranges]
        assert max(blocks) - min(blocks) <= 1  # near-equal numbers of blocks
    assert _dask.chain_ranges(1000, 2) == [(0, 500), (500, 500)]  # align 1: the binary RBM's split as before


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("n_chains", [3 * AIS_BLOCK + 1, 2])  # uneven splits; one chain per worker
def test_log_partition_on_the_cluster_is_the_one_process_result(client, cpu_backend, family, n_chains):
    arrays = FAMILIES[family].arrays(np.float64)
    options = dict(n_chains=n_chains, betas=BETAS, seed=3, backend=cpu_backend)
    local = FAMILIES[family].op(*arrays, **options)
    spread = FAMILIES[family].op(*arrays, client=client, **options)
    assert isinstance(spread.log_weights, np.ndarray) and spread.log_weights.shape == (n_chains,)
    np.testing.assert_array_equal(spread.log_weights, local.log_weights)
    for field in ("log_z", "log_z_std", "log_z_lower", "log_z_upper", "log_z_base"):
        assert getattr(spread, field) == getattr(local, field), field


def _fitted_estimators():
    X = (np.random.RandomState(2).rand(40, 10) > 0.5).astype(np.float64)
    Xg = np.random.RandomState(3).normal(size=(40, 5))
    return {
        "rbm": lambda: fastgen.BernoulliRBM(6, n_iter=2, random_state=0).fit(X),
        "gbrbm": lambda: fastgen.GaussianBernoulliRBM(4, n_iter=2, random_state=0).fit(Xg),
        "dbm": lambda: fastgen.DBM([5, 3], n_iter=2, pretrain_n_iter=2, batch_size=20, n_chains=10,
                                   random_state=0).fit(X),
    }


@pytest.mark.parametrize("family", FAMILIES)
def test_the_estimator_passes_the_client_on_and_caches_by_the_rest(client, family):
    fit = _fitted_estimators()[family]
    model = fit()
    spread = model.log_partition("ais", n_chains=40, betas=BETAS, seed=1, client=client)
    assert model.log_partition("ais", n_chains=40, betas=BETAS, seed=1) is spread  # the same cached result
    fresh = fit().log_partition("ais", n_chains=40, betas=BETAS, seed=1)
    np.testing.assert_array_equal(spread.log_weights, fresh.log_weights)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_client_that_is_not_one_is_a_type_error(family):
    arrays = FAMILIES[family].arrays(np.float64)
    with pytest.raises(TypeError, match="client must be a distributed.Client, got str"):
        FAMILIES[family].op(*arrays, n_chains=4, betas=BETAS, client="tcp://127.0.0.1:8786")


@pytest.mark.parametrize("family", FAMILIES)
def test_bad_options_fail_before_any_task(client, family, monkeypatch):
    """Every argument is checked before a task is sent: the chains' function is never shipped."""
    def refuse(*args, **kwargs):
        raise AssertionError("a task was sent")

    monkeypatch.setattr(_dask, "map_chain_ranges", refuse)
    arrays = FAMILIES[family].arrays(np.float64)
    with pytest.raises(ValueError, match="n_chains"):
        FAMILIES[family].op(*arrays, n_chains=0, betas=BETAS, client=client)
    with pytest.raises(ValueError, match="n_chains=1 is fewer than the client's 2 workers"):
        FAMILIES[family].op(*arrays, n_chains=1, betas=BETAS, client=client)
    with pytest.raises(ValueError, match="betas"):
        FAMILIES[family].op(*arrays, n_chains=4, betas=[0.5, 1.0], client=client)
    with pytest.raises(TypeError, match="seed"):
        FAMILIES[family].op(*arrays, n_chains=4, betas=BETAS, seed=1.5, client=client)
    with pytest.raises(ValueError, match="backend"):
        FAMILIES[family].op(*arrays, n_chains=4, betas=BETAS, backend="tpu", client=client)


def test_a_closed_client_is_an_error_before_any_task():
    distributed = pytest.importorskip("distributed")
    closed = distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0")
    closed.close()
    weights, biases, base = _dbm_arrays(np.float64)
    with pytest.raises(ValueError, match="client"):
        fastgen.dbm.log_partition_ais(weights, biases, n_chains=4, betas=BETAS, client=closed)


@pytest.mark.parametrize("family", ["gbrbm", "dbm"])
def test_a_worker_dying_mid_run_is_an_error_or_the_same_weights(client, family):
    """A worker killed while its chains run: Dask runs its range again on the other worker (the
    weights are the one-process run's, exactly) or the call raises; never other weights."""
    arrays = FAMILIES[family].arrays(np.float64)
    options = dict(n_chains=400, betas=np.linspace(0.0, 1.0, 3000), seed=5)
    expected = FAMILIES[family].op(*arrays, **options)
    outcome, killed_mid_run = kill_a_worker_during(
        client, lambda: FAMILIES[family].op(*arrays, client=client, **options), after_s=0.5)
    if "result" in outcome:
        np.testing.assert_array_equal(outcome["result"].log_weights, expected.log_weights)
        assert outcome["result"].log_z == expected.log_z
    print("killed mid-run:", killed_mid_run, "outcome:", "error" if "error" in outcome else "same weights")
