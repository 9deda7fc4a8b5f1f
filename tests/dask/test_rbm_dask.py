"""RBM training on Dask arrays: fit streams the in-memory fit's mini-batches from the chunks
(the same model, bit for bit, one chunk loaded at a time), partial_fit makes one update per
chunk, and bad input is an error that leaves the estimator as it was."""
import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")

import fastgen

FITTED = ("components_", "intercept_visible_", "intercept_hidden_", "h_samples_")


def _binary(n=95, d=12, seed=0, dtype=np.float64):
    return (np.random.RandomState(seed).rand(n, d) < 0.3).astype(dtype)


def _assert_same(a, b):
    for name in FITTED:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("persistent", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_streams_the_in_memory_batches(client, persistent, dtype):
    X = _binary(dtype=dtype)
    params = dict(n_components=5, batch_size=10, n_iter=3, random_state=0, persistent=persistent, cd_k=2)
    expected = fastgen.BernoulliRBM(**params).fit(X)
    got = fastgen.BernoulliRBM(**params).fit(da.from_array(X, chunks=(23, 5)))  # batches cross chunks; features split
    _assert_same(got, expected)
    assert got.n_features_in_ == X.shape[1]


def test_gaussian_bernoulli_fit_streams_too():
    """The same batches; the initial visible bias, X's mean, is summed by chunks (to rounding)."""
    X = np.random.RandomState(1).normal(size=(60, 6))
    # shuffle=False: a Dask array's batches stream in order (GaussianBernoulliRBM shuffles by default)
    params = dict(n_components=4, batch_size=8, n_iter=2, random_state=0, learning_rate=0.01, shuffle=False)
    expected = fastgen.GaussianBernoulliRBM(**params).fit(X)
    with dask.config.set(scheduler="synchronous"):
        got = fastgen.GaussianBernoulliRBM(**params).fit(da.from_array(X, chunks=(25, 6)))
    for name in (*FITTED, "sigma_"):
        np.testing.assert_allclose(getattr(got, name), getattr(expected, name), rtol=1e-12, atol=1e-15, err_msg=name)


def test_each_chunk_is_read_once_per_epoch():
    """X made block by block, each block's computations counted: no block is read whole twice
    in an epoch, so X is never loaded at once."""
    X = _binary(n=100, d=8, seed=2)
    reads = []

    def block(block_info=None):
        start, stop = block_info[None]["array-location"][0]
        reads.append(start)
        return X[start:stop]

    Xd = da.map_blocks(block, chunks=((25, 25, 25, 25), (8,)), dtype=X.dtype, meta=np.empty((0, 0)))
    with dask.config.set(scheduler="synchronous"):
        model = fastgen.BernoulliRBM(4, batch_size=10, n_iter=2, random_state=0).fit(Xd)
    # one pass over X for the binary check (every block once), then one per epoch
    assert sorted(reads) == sorted([0, 25, 50, 75] * 3)
    _assert_same(model, fastgen.BernoulliRBM(4, batch_size=10, n_iter=2, random_state=0).fit(X))


def test_partial_fit_is_one_update_per_chunk():
    X = _binary(n=60, seed=3)
    expected = fastgen.BernoulliRBM(5, batch_size=10, random_state=0)
    for start in range(0, 60, 20):
        expected.partial_fit(X[start:start + 20])
    with dask.config.set(scheduler="synchronous"):
        got = fastgen.BernoulliRBM(5, batch_size=10, random_state=0).partial_fit(da.from_array(X, chunks=(20, 12)))
    _assert_same(got, expected)


def test_non_finite_chunks_fail_and_leave_the_model():
    X = _binary(n=60, seed=4)
    model = fastgen.BernoulliRBM(5, batch_size=10, n_iter=1, random_state=0).fit(X)
    before = {name: getattr(model, name).copy() for name in FITTED}
    bad = X.copy()
    bad[55, 3] = np.nan  # in the last chunk, after updates from the first ones
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ValueError, match="X contains NaN or infinity"):
            model.fit(da.from_array(bad, chunks=(20, 12)))
        with pytest.raises(ValueError, match="NaN"):
            model.partial_fit(da.from_array(bad, chunks=(20, 12)))
        Xd = da.from_array(X, chunks=(20, 12))
        with pytest.raises(ValueError, match="unknown chunk sizes"):
            model.fit(Xd[Xd[:, 0] >= 0])
        with pytest.raises(ValueError, match="X has 11 features, but BernoulliRBM is expecting 12"):
            model.partial_fit(Xd[:, :11])
    for name in FITTED:
        np.testing.assert_array_equal(getattr(model, name), before[name], err_msg=name)


def test_shuffle_needs_x_in_memory():
    X = da.from_array(np.random.RandomState(1).normal(size=(60, 6)), chunks=(25, 6))
    model = fastgen.GaussianBernoulliRBM(n_components=4, n_iter=1)  # shuffle=True by default
    with pytest.raises(ValueError, match="shuffle=True needs X in memory"):
        model.fit(X)
    assert not hasattr(model, "components_")
