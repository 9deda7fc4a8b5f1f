"""Tests of fastgen.BernoulliRBM, the drop-in for sklearn.neural_network.BernoulliRBM.

References are independent of fastgen: scikit-learn's own BernoulliRBM, and float64
NumPy written here (sigmoid, free energy, exact enumeration of tiny models).
"""
import itertools
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from sklearn.utils import check_random_state
from sklearn.utils.estimator_checks import check_estimator

import fastgen
from fastgen import _backend

FITTED = ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_")



# ---------------------------------------------------------------- helpers and data


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 1,797 8x8 digits, binarized, float64 (values 0/1)."""
    return (load_digits().data > 7).astype(np.float64)


@pytest.fixture(scope="module")
def small_binary():
    """A random binary data set (60 rows, 12 features), float64."""
    return (np.random.RandomState(3).uniform(size=(60, 12)) < 0.4).astype(np.float64)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _free_energy_ref(X, components, b, c):
    """float64 F(v) = -v.b - sum_j softplus(c_j + (v W^T)_j) with W = components (n_h, n_v)."""
    X = np.asarray(X, dtype=np.float64)
    components = np.asarray(components, dtype=np.float64)
    return -X @ np.asarray(b, np.float64) - np.logaddexp(0, X @ components.T + np.asarray(c, np.float64)).sum(axis=1)


def _pseudo_likelihood_ref(model, X):
    """Mean over rows of the full pseudo-log-likelihood sum_i log p(v_i | v_-i), float64.

    score_samples is an unbiased one-flip estimate of this (n_features times one random
    term); summing over every flip gives the same quantity without its noise. Uses
    F(v with unit i flipped) - F(v) = -s_i b_i - sum_j [softplus(a_j + s_i W_ji) - softplus(a_j)],
    s_i = 1 - 2 v_i, a = v W^T + c."""
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(model.components_, dtype=np.float64)
    b = np.asarray(model.intercept_visible_, dtype=np.float64)
    a = X @ W.T + np.asarray(model.intercept_hidden_, dtype=np.float64)
    softplus_a = np.logaddexp(0, a).sum(axis=1)
    total = np.zeros(X.shape[0])
    for i in range(X.shape[1]):
        s = 1 - 2 * X[:, i]
        delta = -s * b[i] - (np.logaddexp(0, a + s[:, None] * W[:, i]).sum(axis=1) - softplus_a)
        total += -np.logaddexp(0, -delta)
    return total.mean()


def _params(model):
    return {name: np.array(getattr(model, name), copy=True) for name in FITTED}


def _assert_same_params(a, b):
    for name in FITTED:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), f"{name} differs"


def _is_binary(a):
    return bool(np.all((a == 0) | (a == 1)))


def _hand_set(n_visible, n_hidden, seed, scale=1.0, dtype=np.float64, **kwargs):
    """An unfitted estimator with hand-assigned parameters ~ N(0, scale)."""
    rng = np.random.RandomState(seed)
    rbm = fastgen.BernoulliRBM(n_components=n_hidden, **kwargs)
    rbm.components_ = (scale * rng.normal(size=(n_hidden, n_visible))).astype(dtype)
    rbm.intercept_visible_ = (scale * rng.normal(size=n_visible)).astype(dtype)
    rbm.intercept_hidden_ = (scale * rng.normal(size=n_hidden)).astype(dtype)
    return rbm


def _all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


# ---------------------------------------------------------------- scikit-learn checks


def test_check_estimator_passes_with_no_exclusion(cpu_backend):
    """Every check passes; scikit-learn itself skips check_array_api_input unless the
    environment sets SCIPY_ARRAY_API (with it, and array-api-strict, it passes too)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(fastgen.BernoulliRBM(n_components=8, n_iter=2, backend=cpu_backend), on_fail=None)
    assert len(results) > 40
    for r in results:
        if r["status"] == "skipped":
            assert r["check_name"] == "check_array_api_input" and "SCIPY_ARRAY_API" in str(r["exception"]), r
        else:
            assert r["status"] == "passed", (r["check_name"], r["exception"])


def test_is_a_scikit_learn_bernoulli_rbm(small_binary):
    from sklearn.neural_network import BernoulliRBM as Peer

    rbm = fastgen.BernoulliRBM(n_components=3, n_iter=1, random_state=0)
    assert isinstance(rbm, Peer)
    rbm.fit(small_binary)
    # scikit-learn's private helpers work on fastgen's model, and _mean_hiddens is transform's kernel
    np.testing.assert_array_equal(rbm._mean_hiddens(small_binary), rbm.transform(small_binary))
    np.testing.assert_array_equal(rbm._mean_hiddens(small_binary[0]), rbm.transform(small_binary[:1])[0])
    assert rbm._sample_hiddens(small_binary, np.random.RandomState(0)).dtype == bool


# ---------------------------------------------------------------- estimator contract


def test_fit_returns_self(small_binary):
    rbm = fastgen.BernoulliRBM(n_components=4, n_iter=1, random_state=0)
    assert rbm.fit(small_binary) is rbm
    assert rbm.partial_fit(small_binary) is rbm


def test_pickle_round_trip(cpu_backend, digits):
    X = digits[:300]
    rbm = fastgen.BernoulliRBM(n_components=16, n_iter=2, random_state=1, backend=cpu_backend).fit(X)
    clone = pickle.loads(pickle.dumps(rbm))
    _assert_same_params(rbm, clone)
    assert np.array_equal(rbm.transform(X), clone.transform(X))
    assert np.array_equal(rbm.score_samples(X), clone.score_samples(X))
    assert np.array_equal(rbm.free_energy(X), clone.free_energy(X))
    # The random stream travels with the pickle: both continue with the same draws.
    assert np.array_equal(rbm.gibbs(X[:50]), clone.gibbs(X[:50]))


def test_fit_is_idempotent(cpu_backend, digits):
    X = digits[:400]
    rbm = fastgen.BernoulliRBM(n_components=16, n_iter=2, random_state=5, backend=cpu_backend)
    first = _params(rbm.fit(X))
    rbm.fit(X)
    for name in FITTED:
        assert np.array_equal(first[name], getattr(rbm, name)), name
    # ...and a different seed gives a different model (the comparison can fail).
    other = fastgen.BernoulliRBM(n_components=16, n_iter=2, random_state=6, backend=cpu_backend).fit(X)
    assert not np.array_equal(other.components_, rbm.components_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(cpu_backend, dtype, digits):
    X = digits[:200].astype(dtype)
    rbm = fastgen.BernoulliRBM(n_components=8, n_iter=1, random_state=0, backend=cpu_backend).fit(X)
    for name in FITTED:
        assert getattr(rbm, name).dtype == dtype, name
    assert rbm.transform(X).dtype == dtype
    assert rbm.fit_transform(X).dtype == dtype
    assert rbm.gibbs(X).dtype == bool  # as scikit-learn's
    assert rbm.sample(3, n_steps=2, random_state=0).dtype == dtype
    assert rbm.free_energy(X).dtype == np.float64
    assert rbm.score_samples(X).dtype == np.float64
    # float32 parameters are float32 roundings of the float64 computation.
    expected = _sigmoid(X.astype(np.float64) @ rbm.components_.T.astype(np.float64) + rbm.intercept_hidden_)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rbm.transform(X), expected, **tol)


def test_integer_and_bool_input_become_float64(small_binary):
    for X in (small_binary.astype(np.int64), small_binary.astype(bool)):
        rbm = fastgen.BernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(X)
        assert rbm.components_.dtype == np.float64
        ref = fastgen.BernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(small_binary)
        assert np.array_equal(rbm.components_, ref.components_)


def test_transform_and_free_energy_are_row_wise(cpu_backend, digits):
    """Row i's output depends on row i only: invariant to sample order and to subsets."""
    X = digits[:500]
    rbm = fastgen.BernoulliRBM(n_components=24, n_iter=1, random_state=2, backend=cpu_backend).fit(X)
    perm = np.random.RandomState(0).permutation(X.shape[0])
    for method in (rbm.transform, rbm.free_energy):
        full = method(X)
        np.testing.assert_allclose(method(X[perm]), full[perm], rtol=1e-12, atol=1e-14)
        for subset in (slice(0, 1), slice(7, 10), slice(100, 321)):
            np.testing.assert_allclose(method(X[subset]), full[subset], rtol=1e-12, atol=1e-14)


def test_n_features_in_and_feature_names_out(small_binary):
    rbm = fastgen.BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(small_binary)
    assert rbm.n_features_in_ == small_binary.shape[1]
    assert not hasattr(rbm, "feature_names_in_")
    assert list(rbm.get_feature_names_out()) == [f"bernoullirbm{i}" for i in range(5)]
    unfitted = fastgen.BernoulliRBM()
    assert not hasattr(unfitted, "n_features_in_")


def test_feature_names_in_with_pandas(small_binary):
    pd = pytest.importorskip("pandas")
    columns = [f"pixel_{i}" for i in range(small_binary.shape[1])]
    df = pd.DataFrame(small_binary, columns=columns)
    rbm = fastgen.BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(df)
    assert list(rbm.feature_names_in_) == columns
    assert rbm.n_features_in_ == len(columns)
    ref = fastgen.BernoulliRBM(n_components=5, n_iter=1, random_state=0).fit(small_binary)
    assert np.array_equal(rbm.components_, ref.components_)
    with pytest.raises(ValueError, match="feature names"):
        rbm.transform(df.rename(columns={"pixel_0": "other"}))


def test_fit_transform_equals_fit_then_transform(cpu_backend, digits):
    X = digits[:300]
    a = fastgen.BernoulliRBM(n_components=12, n_iter=2, random_state=4, backend=cpu_backend)
    b = fastgen.BernoulliRBM(n_components=12, n_iter=2, random_state=4, backend=cpu_backend)
    assert np.array_equal(a.fit_transform(X), b.fit(X).transform(X))


def test_readonly_memmap_and_fortran_input(cpu_backend, digits, tmp_path):
    X = digits[:300]
    ref = fastgen.BernoulliRBM(n_components=12, n_iter=2, random_state=4, backend=cpu_backend).fit(X)
    np.save(tmp_path / "X.npy", X)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    assert not X_map.flags.writeable
    X_fortran = np.asfortranarray(X)
    assert not X_fortran.flags.c_contiguous
    for variant in (X_map, X_fortran):
        rbm = fastgen.BernoulliRBM(n_components=12, n_iter=2, random_state=4, backend=cpu_backend).fit(variant)
        _assert_same_params(rbm, ref)
        assert np.array_equal(rbm.transform(variant), ref.transform(X))
        assert np.array_equal(rbm.free_energy(variant), ref.free_energy(X))
        rbm.partial_fit(variant)
        rbm.gibbs(variant)
    np.testing.assert_array_equal(np.asarray(X_map), X)  # the input was not written to


# ---------------------------------------------------------------- parity with scikit-learn


@pytest.mark.parametrize("seed", [0, 42])
def test_initial_weights_match_scikit_learn(cpu_backend, seed, digits):
    X = digits[:100]
    rbm = fastgen.BernoulliRBM(n_components=20, n_iter=0, batch_size=7, random_state=seed, backend=cpu_backend).fit(X)
    expected = check_random_state(seed).normal(0, 0.01, (20, X.shape[1]))
    assert np.array_equal(rbm.components_, expected)
    assert np.array_equal(rbm.intercept_hidden_, np.zeros(20))
    assert np.array_equal(rbm.intercept_visible_, np.zeros(X.shape[1]))
    assert np.array_equal(rbm.h_samples_, np.zeros((7, 20)))
    # A RandomState instance is used as scikit-learn uses it (its first draws).
    rbm = fastgen.BernoulliRBM(n_components=20, n_iter=0, random_state=np.random.RandomState(seed)).fit(X)
    assert np.array_equal(rbm.components_, expected)
    # float32 data: the same draws, rounded.
    rbm = fastgen.BernoulliRBM(n_components=20, n_iter=0, random_state=seed).fit(X.astype(np.float32))
    assert np.array_equal(rbm.components_, expected.astype(np.float32))


@pytest.fixture(scope="module")
def sklearn_model(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SkBernoulliRBM(n_components=32, learning_rate=0.05, n_iter=3, random_state=11).fit(digits)


def _copy_of(sk, backend, **kwargs):
    rbm = fastgen.BernoulliRBM(n_components=sk.n_components, random_state=sk.random_state, backend=backend, **kwargs)
    rbm.components_ = sk.components_.copy()
    rbm.intercept_hidden_ = sk.intercept_hidden_.copy()
    rbm.intercept_visible_ = sk.intercept_visible_.copy()
    return rbm


def test_inference_matches_scikit_learn(cpu_backend, digits, sklearn_model):
    sk = sklearn_model
    rbm = _copy_of(sk, cpu_backend)
    # Probabilities too, not only binary data.
    X_prob = np.random.RandomState(0).uniform(size=(50, digits.shape[1]))
    for X in (digits, X_prob):
        np.testing.assert_allclose(rbm.transform(X), sk.transform(X), rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(rbm.free_energy(X), sk._free_energy(X), rtol=1e-10)
        # Each row's score is n_features log sigmoid(F(v') - F(v)) for one flipped unit.
        _assert_one_flip_scores(rbm, X)
    # ...and against the float64 formulas written here.
    np.testing.assert_allclose(
        rbm.transform(digits), _sigmoid(digits @ sk.components_.T + sk.intercept_hidden_), rtol=1e-10
    )
    np.testing.assert_allclose(
        rbm.free_energy(digits),
        _free_energy_ref(digits, sk.components_, sk.intercept_visible_, sk.intercept_hidden_),
        rtol=1e-10,
    )
    # Sparse input gives the same scores as dense (scikit-learn takes another code path).
    X_sparse = sp.csr_matrix(digits[:200])
    np.testing.assert_array_equal(rbm.score_samples(X_sparse), rbm.score_samples(X_sparse.toarray()))
    np.testing.assert_allclose(rbm.transform(X_sparse), sk.transform(X_sparse), rtol=1e-10)


def _flip_scores(model, X):
    """(rows, n_features) float64: the one-flip score of each row for each unit flipped."""
    X = np.asarray(X, dtype=np.float64)
    W, b, c = (np.asarray(a, np.float64) for a in (model.components_, model.intercept_visible_, model.intercept_hidden_))
    fe = _free_energy_ref(X, W, b, c)
    scores = np.empty(X.shape)
    for i in range(X.shape[1]):
        flipped = X.copy()
        flipped[:, i] = 1 - flipped[:, i]
        scores[:, i] = -X.shape[1] * np.logaddexp(0, -(_free_energy_ref(flipped, W, b, c) - fe))
    return scores


def _assert_one_flip_scores(model, X):
    """Every row's score is the one-flip score of one of its units (float64 reference)."""
    got = model.score_samples(X)
    closest = np.abs(_flip_scores(model, X) - got[:, None]).min(axis=1)
    np.testing.assert_array_less(closest, 1e-9 * np.maximum(1, np.abs(got)))


def test_score_samples_is_row_wise_and_an_unbiased_pseudo_likelihood(cpu_backend, digits, sklearn_model):
    """The flipped unit of a row depends on its content and random_state only: scores do not
    depend on the other rows, and over random_states each unit is flipped alike, so their mean
    is the full pseudo-likelihood (which scikit-learn's score_samples also estimates)."""
    rbm = _copy_of(sklearn_model, cpu_backend)
    X = digits[:300]  # rows of data, for the invariances; continuous rows below: their flips all score apart
    order = np.random.RandomState(0).permutation(300)
    # (to BLAS rounding: a GEMM may sum a row's products in another order in another batch)
    np.testing.assert_allclose(rbm.score_samples(X)[order], rbm.score_samples(X[order]), rtol=1e-12)
    np.testing.assert_allclose(rbm.score_samples(X)[:7], rbm.score_samples(X[:7]), rtol=1e-12)
    rows = np.random.RandomState(1).uniform(size=(20, X.shape[1]))
    scores = _flip_scores(rbm, rows)
    flipped = []
    for seed in range(400):
        rbm.random_state = seed
        got = rbm.score_samples(rows)
        flipped.append(np.abs(scores - got[:, None]).argmin(axis=1))
    counts = np.bincount(np.concatenate(flipped), minlength=X.shape[1])
    expected = counts.sum() / X.shape[1]
    assert stats.chisquare(counts).pvalue > 1e-4, counts  # uniform over the units
    assert counts.min() > 0.5 * expected
    rbm.random_state = 0
    np.testing.assert_array_equal(rbm.score_samples(X), rbm.score_samples(X))


def test_training_quality_matches_scikit_learn(cpu_backends, digits):
    kwargs = dict(n_components=64, learning_rate=0.05, batch_size=10, n_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkBernoulliRBM(**kwargs).fit(digits)
    untrained = fastgen.BernoulliRBM(**{**kwargs, "n_iter": 0}).fit(digits)
    pl_untrained = _pseudo_likelihood_ref(untrained, digits)
    pl_sk = _pseudo_likelihood_ref(sk, digits)
    for backend in cpu_backends:
        rbm = fastgen.BernoulliRBM(**kwargs, persistent=True, cd_k=1, backend=backend).fit(digits)
        pl = _pseudo_likelihood_ref(rbm, digits)
        assert abs(pl - pl_sk) < 1.5, (backend, pl, pl_sk)
        assert pl > pl_untrained + 15, (backend, pl, pl_untrained)
        # score_samples (the one-flip estimate of it) tells the same story, within its noise.
        scores = rbm.score_samples(digits)
        assert abs(scores.mean() - pl) < 4 * scores.std() / np.sqrt(scores.size), (scores.mean(), pl)
    assert pl_sk > pl_untrained + 15, (pl_sk, pl_untrained)


def test_cd_k_trains(cpu_backend, digits):
    kwargs = dict(n_components=64, learning_rate=0.05, batch_size=10, random_state=0, backend=cpu_backend)
    untrained = fastgen.BernoulliRBM(**kwargs, n_iter=0).fit(digits)
    rbm = fastgen.BernoulliRBM(**kwargs, n_iter=5, persistent=False, cd_k=5).fit(digits)
    assert _pseudo_likelihood_ref(rbm, digits) > _pseudo_likelihood_ref(untrained, digits) + 15


# ---------------------------------------------------------------- determinism


def test_same_seed_same_model(cpu_backend, digits):
    kwargs = dict(n_components=16, n_iter=2, random_state=9, backend=cpu_backend)
    a = fastgen.BernoulliRBM(**kwargs).fit(digits[:500])
    b = fastgen.BernoulliRBM(**kwargs).fit(digits[:500])
    _assert_same_params(a, b)


def test_thread_count_does_not_change_results(cpu_backend, digits):
    """Large batches (200 x 64 = 12,800 elements per kernel) take the parallel paths."""
    kernels = _backend.kernels(cpu_backend)
    default = kernels.get_num_threads()
    if default < 2:
        pytest.skip("only one thread available: nothing to compare")
    kwargs = dict(n_components=64, batch_size=200, n_iter=2, random_state=3, backend=cpu_backend)

    def run():
        rbm = fastgen.BernoulliRBM(**kwargs).fit(digits)
        return rbm, rbm.sample(500, n_steps=3, random_state=1), rbm.free_energy(digits)

    parallel_model, parallel_samples, parallel_fe = run()
    with kernels.threads(1):
        assert kernels.get_num_threads() == 1
        serial_model, serial_samples, serial_fe = run()
    assert kernels.get_num_threads() == default
    _assert_same_params(parallel_model, serial_model)
    assert np.array_equal(parallel_samples, serial_samples)
    np.testing.assert_array_equal(parallel_fe, serial_fe)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_and_numba_give_identical_models(cpu_backends, dtype, digits):
    if not {"cpu", "numba"} <= set(cpu_backends):
        pytest.skip("needs both the cpu and numba backends")
    X = digits.astype(dtype)
    models = {}
    for backend in ("cpu", "numba"):
        rbm = fastgen.BernoulliRBM(n_components=32, n_iter=2, random_state=7, backend=backend, momentum=0.3).fit(X)
        models[backend] = (rbm, rbm.sample(300, n_steps=5, random_state=2), rbm.gibbs(X[:300]), rbm.free_energy(X))
    _assert_same_params(models["cpu"][0], models["numba"][0])
    for i in (1, 2, 3):
        assert np.array_equal(models["cpu"][i], models["numba"][i])


# ---------------------------------------------------------------- hand-set parameters


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hand_set_parameters(cpu_backend, dtype):
    rbm = _hand_set(7, 5, seed=0, dtype=dtype, random_state=0, backend=cpu_backend)
    X = (np.random.RandomState(1).uniform(size=(40, 7)) < 0.5).astype(dtype)
    W, b, c = (a.astype(np.float64) for a in (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_))
    rtol = 1e-5 if dtype == np.float32 else 1e-12

    v = rbm.gibbs(X)
    assert v.shape == X.shape and v.dtype == bool
    s = rbm.sample(11, n_steps=4)
    assert s.shape == (11, 7) and s.dtype == dtype and _is_binary(s)
    fe = rbm.free_energy(X)
    assert fe.shape == (40,) and fe.dtype == np.float64
    np.testing.assert_allclose(fe, _free_energy_ref(X, W, b, c), rtol=rtol)
    t = rbm.transform(X)
    assert t.shape == (40, 5) and t.dtype == dtype
    np.testing.assert_allclose(t, _sigmoid(X.astype(np.float64) @ W.T + c), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize(
    "method, args",
    [
        ("transform", (np.zeros((2, 3)),)),
        ("gibbs", (np.zeros((2, 3)),)),
        ("free_energy", (np.zeros((2, 3)),)),
        ("score_samples", (np.zeros((2, 3)),)),
        ("sample", (2,)),
    ],
)
def test_unfitted_estimator_raises_not_fitted(method, args):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        getattr(fastgen.BernoulliRBM(), method)(*args)


# ---------------------------------------------------------------- sampling


def test_sample_shape_and_seeding(cpu_backend):
    rbm = _hand_set(9, 4, seed=2, scale=0.5, random_state=0, backend=cpu_backend)
    a = rbm.sample(50, n_steps=10, random_state=5)
    assert a.shape == (50, 9) and _is_binary(a)
    assert np.array_equal(a, rbm.sample(50, n_steps=10, random_state=5))
    fresh = _hand_set(9, 4, seed=2, scale=0.5, backend=cpu_backend)
    assert np.array_equal(a, fresh.sample(50, n_steps=10, random_state=5))
    assert not np.array_equal(a, rbm.sample(50, n_steps=10, random_state=6))
    # Without random_state the estimator's own stream advances.
    assert not np.array_equal(rbm.sample(50, n_steps=10), rbm.sample(50, n_steps=10))


def test_samples_follow_the_exact_distribution(cpu_backend):
    """6 visible, 3 hidden units: p(v) ~ exp(-F(v)) enumerated over all 64 states."""
    rbm = _hand_set(6, 3, seed=4, scale=1.0, backend=cpu_backend)
    states = _all_states(6)
    log_p = -_free_energy_ref(states, rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    samples = rbm.sample(20_000, n_steps=50, random_state=0)
    np.testing.assert_allclose(samples.mean(axis=0), p @ states, atol=0.02)
    # The whole joint distribution, not just the marginals: total variation distance.
    codes = samples.astype(np.int64) @ (1 << np.arange(5, -1, -1))
    empirical = np.bincount(codes, minlength=64) / samples.shape[0]
    assert 0.5 * np.abs(empirical - p).sum() < 0.04


def test_gibbs_step(cpu_backend):
    rbm = _hand_set(6, 3, seed=4, scale=1.0, random_state=0, backend=cpu_backend)
    v0 = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    V = np.tile(v0, (20_000, 1))
    first = rbm.gibbs(V)
    assert first.shape == V.shape and first.dtype == bool
    second = rbm.gibbs(V)
    assert not np.array_equal(first, second)  # the stream advances
    # One sweep: p(v'_i = 1 | v0) = sum_h p(h | v0) sigmoid(W^T h + b)_i, h enumerated.
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    hs = _all_states(3)
    p_h1 = _sigmoid(v0 @ W.T + c)
    p_hs = np.prod(np.where(hs == 1, p_h1, 1 - p_h1), axis=1)
    expected = p_hs @ _sigmoid(hs @ W + b)
    np.testing.assert_allclose(first.mean(axis=0), expected, atol=0.02)
    np.testing.assert_allclose(second.mean(axis=0), expected, atol=0.02)


# ---------------------------------------------------------------- sparse input, options


def test_sparse_input_gives_the_dense_model(cpu_backend, digits):
    X = digits[:400]
    kwargs = dict(n_components=16, n_iter=2, random_state=8, backend=cpu_backend)
    dense = fastgen.BernoulliRBM(**kwargs).fit(X)
    sparse = fastgen.BernoulliRBM(**kwargs).fit(sp.csr_matrix(X))
    _assert_same_params(dense, sparse)
    assert np.array_equal(sparse.transform(sp.csr_matrix(X)), dense.transform(X))
    assert np.array_equal(sparse.score_samples(sp.csr_matrix(X)), dense.score_samples(X))
    # A sparse matrix with values > 1 gives the dense model of those values, as well.
    _assert_same_params(fastgen.BernoulliRBM(**kwargs).fit(sp.csr_matrix(2 * X)), fastgen.BernoulliRBM(**kwargs).fit(2 * X))


def test_momentum_weight_decay_and_n_chains(cpu_backend, digits):
    X = digits[:500]
    kwargs = dict(n_components=16, n_iter=3, random_state=0, backend=cpu_backend)
    plain = fastgen.BernoulliRBM(**kwargs).fit(X)
    with_momentum = fastgen.BernoulliRBM(**kwargs, momentum=0.5).fit(X)
    with_decay = fastgen.BernoulliRBM(**kwargs, weight_decay=0.05).fit(X)
    for model in (with_momentum, with_decay):
        assert np.all(np.isfinite(model.components_))
        assert not np.array_equal(model.components_, plain.components_)
    # L2 decay shrinks the weights.
    assert np.linalg.norm(with_decay.components_) < 0.8 * np.linalg.norm(plain.components_)

    chains = fastgen.BernoulliRBM(**kwargs, n_chains=7, batch_size=10).fit(X)
    assert chains.h_samples_.shape == (7, 16)
    assert _is_binary(chains.h_samples_)
    chains.partial_fit(X[:10])
    assert chains.h_samples_.shape == (7, 16)


def test_partial_fit(digits):
    rbm = fastgen.BernoulliRBM(n_components=8, random_state=0, learning_rate=0.05)
    assert not hasattr(rbm, "components_")
    rbm.partial_fit(digits[:10])
    assert rbm.components_.shape == (8, 64)
    assert rbm.n_features_in_ == 64
    assert rbm.h_samples_.shape == (10, 8)
    # The first call starts from scikit-learn's initial weights and takes one small step.
    init = check_random_state(0).normal(0, 0.01, (8, 64))
    assert not np.array_equal(rbm.components_, init)
    assert np.abs(rbm.components_ - init).max() < 0.05 + 1e-12
    before = _params(rbm)
    rbm.partial_fit(digits[10:20])
    assert not np.array_equal(rbm.components_, before["components_"])
    assert rbm.components_.shape == (8, 64)
    # Many partial_fit calls train the model.
    untrained_pl = _pseudo_likelihood_ref(rbm, digits)
    for start in range(20, 1790, 10):
        rbm.partial_fit(digits[start:start + 10])
    assert _pseudo_likelihood_ref(rbm, digits) > untrained_pl + 10
    before = _params(rbm)
    with pytest.raises(ValueError, match="features"):
        rbm.partial_fit(digits[:10, :20])
    for name in FITTED:
        assert np.array_equal(before[name], getattr(rbm, name)), name
    assert rbm.n_features_in_ == 64


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 0.0]]), "infinity"),
        (np.zeros((0, 2)), "0 sample"),
        (np.array([["a", "b"], ["c", "d"]]), "string|float"),
    ],
    ids=["nan", "inf", "empty", "strings"],
)
def test_bad_X_at_fit(X, match):
    with pytest.raises(ValueError, match=match):
        fastgen.BernoulliRBM(n_components=2, n_iter=1).fit(X)
    with pytest.raises(ValueError, match=match):
        fastgen.BernoulliRBM(n_components=2).partial_fit(X)


def test_bad_X_after_fit(small_binary):
    rbm = fastgen.BernoulliRBM(n_components=3, n_iter=1, random_state=0).fit(small_binary)
    wrong = small_binary[:, :5]
    for method in (rbm.transform, rbm.free_energy, rbm.score_samples, rbm.gibbs, rbm.partial_fit):
        with pytest.raises(ValueError, match="features"):
            method(wrong)
        with pytest.raises(ValueError, match="NaN"):
            method(np.full_like(small_binary, np.nan))


def test_values_outside_the_unit_interval_are_accepted_as_scikit_learn_does(cpu_backend, digits, sklearn_model):
    """Any finite X is used as it is (the positive phase and every inference formula)."""
    backend = cpu_backend
    rbm = _copy_of(sklearn_model, backend)
    X = 3 * np.random.RandomState(0).normal(size=(40, digits.shape[1]))
    np.testing.assert_allclose(rbm.transform(X), sklearn_model.transform(X), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(rbm.free_energy(X), sklearn_model._free_energy(X), rtol=1e-10)
    _assert_one_flip_scores(rbm, X)
    fitted = fastgen.BernoulliRBM(n_components=4, n_iter=2, random_state=0, backend=backend).fit(X)
    assert np.isfinite(fitted.components_).all()
    with pytest.raises(ValueError, match="binary"):
        fitted.log_likelihood(X, method="exact")


def test_grid_search_over_a_scaled_pipeline_scores_every_fold():
    """MinMaxScaler fitted on the training folds leaves [0, 1] slightly on the test folds:
    every fold still gets a finite score (it used to be NaN)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    data = load_digits()
    pipe = Pipeline([("scale", MinMaxScaler()), ("rbm", fastgen.BernoulliRBM(n_iter=2, random_state=0)),
                     ("clf", LogisticRegression(max_iter=200))])
    search = GridSearchCV(pipe, {"rbm__n_components": [16, 32]}, cv=3).fit(data.data[:600], data.target[:600])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_score_ > 0.2  # two epochs: better than chance (0.1), not a tuned model


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_components=0), "n_components"),
        (dict(cd_k=0), "cd_k"),
        (dict(batch_size=0), "batch_size"),
        (dict(n_chains=0), "n_chains"),
        (dict(n_iter=-1), "n_iter"),
        (dict(n_components=2.5), "n_components"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(learning_rate=-0.1), "learning_rate"),
        (dict(momentum=1.0), "momentum"),
        (dict(momentum=-0.1), "momentum"),
        (dict(weight_decay=-1), "weight_decay"),
        (dict(persistent="yes"), "persistent"),
        (dict(backend="nope"), r"backend.*must be a str among.*Got 'nope'"),
    ],
)
def test_bad_hyperparameters(params, match, small_binary):
    with pytest.raises(ValueError, match=match):
        fastgen.BernoulliRBM(**params).fit(small_binary)
    with pytest.raises(ValueError, match=match):
        fastgen.BernoulliRBM(**params).partial_fit(small_binary)


def test_bad_sample_arguments(small_binary):
    rbm = fastgen.BernoulliRBM(n_components=3, n_iter=1, random_state=0).fit(small_binary)
    with pytest.raises(ValueError, match="n_samples"):
        rbm.sample(n_samples=0)
    with pytest.raises(ValueError, match="n_steps"):
        rbm.sample(n_samples=2, n_steps=0)


def test_failed_fit_leaves_model_unchanged(cpu_backend, digits):
    X = digits[:300]
    rbm = fastgen.BernoulliRBM(n_components=8, n_iter=2, random_state=0, backend=cpu_backend).fit(X)
    before = _params(rbm)
    transform_before = rbm.transform(X)
    bad_inputs = {
        "nan": np.where(X == 1, np.nan, 0.0),
        "infinity": np.where(X == 1, np.inf, 0.0),
        "other-n-features-with-nan": np.full((50, 10), np.nan),
    }
    for label, bad in bad_inputs.items():
        with pytest.raises(ValueError):
            rbm.fit(bad)
        for name in FITTED:
            assert np.array_equal(before[name], getattr(rbm, name)), (label, name)
        assert rbm.n_features_in_ == 64, label
        assert np.array_equal(rbm.transform(X), transform_before), label
    # A bad hyperparameter, too.
    rbm.set_params(n_components=0)
    with pytest.raises(ValueError, match="n_components"):
        rbm.fit(X)
    for name in FITTED:
        assert np.array_equal(before[name], getattr(rbm, name)), name


# ---------------------------------------------------------------- fit_iter and verbose


def test_fit_iter_yields_each_epoch(cpu_backend, digits):
    X = digits[:300]
    kwargs = dict(n_components=8, random_state=0, backend=cpu_backend)
    rbm = fastgen.BernoulliRBM(n_iter=3, **kwargs)
    seen = []
    for epoch in rbm.fit_iter(X):
        seen.append(epoch)
        if epoch == 1:  # the model is updated after every epoch
            _assert_same_params(rbm, fastgen.BernoulliRBM(n_iter=1, **kwargs).fit(X))
    assert seen == [1, 2, 3]
    _assert_same_params(rbm, fastgen.BernoulliRBM(n_iter=3, **kwargs).fit(X))


def test_abandoned_fit_iter_leaves_model_unchanged(digits):
    """fit_iter's docstring: an exception (here: the caller stops) before the first
    completed epoch leaves a previously fitted model unchanged."""
    rbm = fastgen.BernoulliRBM(n_components=8, n_iter=2, random_state=0).fit(digits[:200])
    before = _params(rbm)
    epochs = rbm.fit_iter(digits[:200, :10])  # valid [0, 1] data with another number of features
    epochs.close()
    for name in FITTED:
        assert np.array_equal(before[name], getattr(rbm, name)), name
    assert rbm.n_features_in_ == 64
    rbm.transform(digits[:5])


def test_verbose_prints_like_scikit_learn(digits, capsys):
    fastgen.BernoulliRBM(n_components=8, n_iter=2, random_state=0, verbose=1).fit(digits[:200])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"[BernoulliRBM] Iteration {epoch}, pseudo-likelihood = ")
        assert ", time = " in line
