"""AIS log Z with its chains spread over the workers of a LocalCluster (`client=`): only the
log weights come back, and they are bit for bit those of the one-process run with the same
seed, whatever the split of the chains, because each chain's draws depend on (seed, chain
index) only (`first_chain` of the AIS kernels)."""
import numpy as np
import pytest

pytest.importorskip("distributed")

import fastgen
from fastgen import _backend, _dask
from fastgen.rbm import _partition

BETAS = np.linspace(0.0, 1.0, 200)


def _rbm(dtype=np.float64, n_visible=12, n_hidden=7, seed=0):
    rng = np.random.RandomState(seed)
    return (rng.normal(scale=0.5, size=(n_visible, n_hidden)).astype(dtype), rng.normal(size=n_visible).astype(dtype),
            rng.normal(size=n_hidden).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_any_split_of_the_chains_gives_the_whole_runs_weights(cpu_backend, dtype):
    """The kernel's first_chain: ranges of chains run alone, concatenated, are the whole run."""
    W, b, c = _rbm(dtype)
    kernels = _backend.resolve(cpu_backend, on_device=False)
    base = np.zeros_like(b)
    whole = kernels.rbm.ais(W, b, c, base, BETAS, 7, 50)
    model = (cpu_backend, W, b, c, base, BETAS, 7)
    for n_parts in (2, 3, 7, 50):
        parts = [_partition._ais_range(model, first, count) for first, count in _dask.chain_ranges(50, n_parts)]
        np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_chain_ranges_cover_the_chains_once():
    for n_chains, n_parts in [(1, 4), (10, 3), (1000, 2), (7, 7)]:
        ranges = _dask.chain_ranges(n_chains, n_parts)
        assert len(ranges) == min(n_chains, n_parts)
        assert [first for first, _ in ranges] == list(np.cumsum([0] + [n for _, n in ranges[:-1]]))
        assert sum(n for _, n in ranges) == n_chains and min(n for _, n in ranges) >= 1


def test_log_partition_on_the_cluster_is_the_one_process_result(client, cpu_backend):
    W, b, c = _rbm()
    base = fastgen.rbm.base_visible_bias(np.random.RandomState(1).randint(0, 2, size=(30, W.shape[0])))
    options = dict(n_chains=101, betas=BETAS, base_visible_bias=base, seed=3, backend=cpu_backend)
    local = fastgen.rbm.log_partition_ais(W, b, c, **options)
    spread = fastgen.rbm.log_partition_ais(W, b, c, client=client, **options)
    np.testing.assert_array_equal(spread.log_weights, local.log_weights)
    for field in ("log_z", "log_z_std", "log_z_lower", "log_z_upper", "log_z_base"):
        assert getattr(spread, field) == getattr(local, field), field


def test_the_estimator_passes_the_client_on_and_caches_by_the_rest(client):
    X = (np.random.RandomState(2).rand(40, 10) > 0.5).astype(np.float64)
    model = fastgen.BernoulliRBM(6, n_iter=2, random_state=0).fit(X)
    spread = model.log_partition("ais", n_chains=40, betas=BETAS, seed=1, client=client)
    assert model.log_partition("ais", n_chains=40, betas=BETAS, seed=1) is spread  # the same cached result
    fresh = fastgen.BernoulliRBM(6, n_iter=2, random_state=0).fit(X).log_partition("ais", n_chains=40, betas=BETAS,
                                                                                   seed=1)
    np.testing.assert_array_equal(spread.log_weights, fresh.log_weights)


def test_a_client_that_is_not_one_is_a_type_error():
    W, b, c = _rbm()
    with pytest.raises(TypeError, match="client must be a distributed.Client, got str"):
        fastgen.rbm.log_partition_ais(W, b, c, n_chains=4, betas=BETAS, client="tcp://127.0.0.1:8786")
