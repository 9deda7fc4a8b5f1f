"""fastgen.dbm (on every backend) and fastgen.DBM against float64 NumPy references and exact
enumeration of tiny models."""
import itertools

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import fastgen
from fastgen import _backend, dbm
from fastgen._arrays import host

SIZES = (6, 4, 3)  # the tiny DBM: 2^13 joint states
# mean-field states against the float64 reference; cuBLAS rounds the GEMMs otherwise than the CPU's BLAS
MEAN_FIELD_ATOL = {np.float64: 1e-12, np.float32: 2e-5}
GPU_MEAN_FIELD_ATOL = {np.float64: 1e-10, np.float32: 1e-4}


def mean_field_atol(backend, dtype):
    return (GPU_MEAN_FIELD_ATOL if backend == "cuda" else MEAN_FIELD_ATOL)[dtype]


def random_model(sizes, seed, scale=1.5, dtype=np.float64):
    rng = np.random.default_rng(seed)
    weights = [(scale * rng.standard_normal((a, b))).astype(dtype) for a, b in itertools.pairwise(sizes)]
    biases = [(0.5 * rng.standard_normal(n)).astype(dtype) for n in sizes]
    return weights, biases


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def mean_field_reference(v, weights, biases, n_steps, tol=None, damping=0.0):
    """The algorithm of fastgen.dbm.mean_field, written out in float64."""
    weights = [np.asarray(W, np.float64) for W in weights]
    biases = [np.asarray(b, np.float64) for b in biases]
    n_layers = len(weights)
    mu = [np.asarray(v, np.float64)]
    for layer in range(1, n_layers + 1):
        factor = 2.0 if layer < n_layers else 1.0
        mu.append(sigmoid(factor * mu[layer - 1] @ weights[layer - 1] + biases[layer]))
    order = list(range(1, n_layers + 1, 2)) + list(range(2, n_layers + 1, 2))
    for _ in range(n_steps):
        largest = 0.0
        for layer in order:
            a = biases[layer] + mu[layer - 1] @ weights[layer - 1]
            if layer < n_layers:
                a = a + mu[layer + 1] @ weights[layer].T
            new = (1 - damping) * sigmoid(a) + damping * mu[layer]
            largest = max(largest, np.abs(new - mu[layer]).max())
            mu[layer] = new
        if tol is not None and largest < tol:
            break
    return mu[1:]


def all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def joint_log_weights(weights, biases):
    """-E(x) of every joint state of a tiny DBM, and the states per layer (brute force)."""
    sizes = [b.shape[0] for b in biases]
    states = all_states(sum(sizes))
    cuts = np.cumsum([0] + sizes)
    layers = [states[:, cuts[i]:cuts[i + 1]] for i in range(len(sizes))]
    neg_energy = sum(x @ b for x, b in zip(layers, biases))
    for i, W in enumerate(weights):
        neg_energy = neg_energy + np.einsum("ri,ri->r", layers[i] @ W, layers[i + 1])
    return neg_energy, layers


def exact_visible_log_marginal(weights, biases):
    """log p(v) of each of the 2^n_0 visible states, index = binary number of v (first unit highest)."""
    neg_energy, layers = joint_log_weights(weights, biases)
    n_visible = biases[0].shape[0]
    index = (layers[0] @ (1 << np.arange(n_visible)[::-1])).astype(int)
    log_unnorm = np.full(1 << n_visible, -np.inf)
    for i in range(1 << n_visible):
        log_unnorm[i] = np.logaddexp.reduce(neg_energy[index == i])
    return log_unnorm - np.logaddexp.reduce(neg_energy)


def visible_index(v):
    return (np.asarray(v) @ (1 << np.arange(v.shape[1])[::-1])).astype(int)


def assert_near_exact(samples, p, rng):
    """Total-variation distance of the visible samples' histogram from p, within 1.5x the
    noise floor: the mean distance of as many exact i.i.d. draws."""
    n = samples.shape[0]
    tv = 0.5 * np.abs(np.bincount(visible_index(samples), minlength=p.size) / n - p).sum()
    floor = np.mean([0.5 * np.abs(np.bincount(rng.choice(p.size, n, p=p), minlength=p.size) / n - p).sum()
                     for _ in range(20)])
    assert tv < 1.5 * floor, (tv, floor)


# ---------------------------------------------------------------- mean field


@pytest.mark.parametrize("sizes", [SIZES, (7, 5, 4, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mean_field_matches_reference(backend, sizes, dtype):
    """The backend's own arrays in (NumPy, or CuPy on cuda), the same kind out."""
    xp = _backend.kernels(backend).xp
    weights, biases = random_model(sizes, 1, dtype=dtype)
    v = (np.random.default_rng(2).random((9, sizes[0])) < 0.5).astype(dtype)
    v[0] = 0.3  # probabilities are valid input too
    atol = mean_field_atol(backend, dtype)
    for n_steps, tol, damping in ((0, None, 0.0), (7, None, 0.0), (7, None, 0.4), (7, None, 0.3), (200, 1e-3, 0.2)):
        got = dbm.mean_field(xp.asarray(v), [xp.asarray(W) for W in weights], [xp.asarray(b) for b in biases],
                             n_steps=n_steps, tol=tol, damping=damping, backend=backend)
        want = mean_field_reference(v, weights, biases, n_steps, tol=tol, damping=damping)
        assert len(got) == len(sizes) - 1
        for g, w in zip(got, want):
            assert isinstance(g, xp.ndarray) and g.dtype == dtype and g.shape == w.shape
            np.testing.assert_allclose(host(g), w, atol=atol, rtol=0)


def test_mean_field_tol_stops_after_the_first_converged_sweep(backend):
    weights, biases = random_model((7, 5, 4, 3), 3, scale=0.7)
    v = (np.random.default_rng(4).random((5, 7)) < 0.5).astype(np.float64)
    for tol in (1e-2, 1e-5):
        got = dbm.mean_field(v, weights, biases, n_steps=200, tol=tol, damping=0.2, backend=backend)
        want = mean_field_reference(v, weights, biases, 200, tol=tol, damping=0.2)
        # the state after more or fewer sweeps differs by more than rounding
        assert not np.allclose(want[0], mean_field_reference(v, weights, biases, 200, tol=tol / 10, damping=0.2)[0],
                               atol=1e-9, rtol=0)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, atol=mean_field_atol(backend, np.float64), rtol=0)


def test_mean_field_fixed_point_satisfies_the_equations(backend):
    weights, biases = random_model((7, 5, 4, 3), 5, scale=0.7)
    v = (np.random.default_rng(6).random((4, 7)) < 0.5).astype(np.float64)
    mu = [v] + dbm.mean_field(v, weights, biases, n_steps=2000, tol=1e-13, backend=backend)
    for layer in range(1, 4):
        a = biases[layer] + mu[layer - 1] @ weights[layer - 1]
        if layer < 3:
            a = a + mu[layer + 1] @ weights[layer].T
        np.testing.assert_allclose(mu[layer], sigmoid(a), atol=1e-11, rtol=0)


def test_cpu_backends_agree_on_mean_field_float32(cpu_backends):
    weights, biases = random_model((20, 16, 12), 7, scale=0.3, dtype=np.float32)
    v = (np.random.default_rng(8).random((10, 20)) < 0.5).astype(np.float32)
    results = [dbm.mean_field(v, weights, biases, n_steps=5, backend=b) for b in cpu_backends]
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)


# ---------------------------------------------------------------- Gibbs sampling


def test_gibbs_visible_marginal_matches_exact_enumeration(backend):
    weights, biases = random_model(SIZES, 11)
    p = np.exp(exact_visible_log_marginal(weights, biases))
    assert p.max() > 4 / p.size  # far from uniform, so that a wrong sampler shows
    n_chains, rng = 3000, np.random.default_rng(12)
    states = [(rng.random((n_chains, n)) < 0.5).astype(np.float64) for n in SIZES]
    states = dbm.gibbs(states, weights, biases, 100, seed=13, backend=backend)
    assert_near_exact(states[0], p, rng)


def test_gibbs_counters_compose_and_backends_agree(cpu_backends):
    weights, biases = random_model(SIZES, 14, dtype=np.float32)
    rng = np.random.default_rng(15)
    states = [(rng.random((50, n)) < 0.5).astype(np.float32) for n in SIZES]
    results = []
    for backend in cpu_backends:
        whole = dbm.gibbs(states, weights, biases, 3, seed=9, counter=5, backend=backend)
        parts = dbm.gibbs(states, weights, biases, 1, seed=9, counter=5, backend=backend)
        parts = dbm.gibbs(parts, weights, biases, 2, seed=9, counter=6, backend=backend)
        for a, b in zip(whole, parts):
            np.testing.assert_array_equal(a, b)
        results.append(whole)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- log Z


@pytest.mark.parametrize("sizes", [SIZES, (3, 5, 4, 2), (2, 3, 9)])
@pytest.mark.parametrize("seed", [21, 11])
def test_log_partition_exact_matches_brute_force(backend, sizes, seed):
    weights, biases = random_model(sizes, seed)
    neg_energy, _ = joint_log_weights(weights, biases)
    want = np.logaddexp.reduce(neg_energy)
    tolerance = 1e-9 if backend == "cuda" else 1e-10
    assert dbm.log_partition_exact(weights, biases, backend=backend) == pytest.approx(want, abs=tolerance)


AIS_OPTIONS = {"n_chains": 100, "betas": np.linspace(0, 1, 2000), "seed": 3,
               "base_visible_bias": np.array([0.5, -0.5, 0.0, 1.0, -1.0, 0.2])}


def test_log_partition_ais_matches_exact(backend):
    weights, biases = random_model((6, 5, 4), 22, scale=1.0, dtype=np.float32)
    exact = dbm.log_partition_exact(weights, biases, backend=backend)
    result = dbm.log_partition_ais(weights, biases, **AIS_OPTIONS, backend=backend)
    assert abs(result.log_z - exact) < 0.3
    assert result.log_z_lower <= exact <= result.log_z_upper
    assert np.isfinite(result.log_z_lower)
    assert result.log_z_base == pytest.approx(np.logaddexp(0, AIS_OPTIONS["base_visible_bias"]).sum() + 9 * np.log(2))


def test_log_partition_ais_identical_on_cpu_backends(cpu_backends):
    weights, biases = random_model((6, 5, 4), 22, scale=1.0, dtype=np.float32)
    results = [dbm.log_partition_ais(weights, biases, **AIS_OPTIONS, backend=b) for b in cpu_backends]
    for other in results[1:]:
        np.testing.assert_array_equal(results[0].log_weights, other.log_weights)


# ---------------------------------------------------------------- variational bound


def test_variational_bound_is_the_mean_field_lower_bound(backend):
    weights, biases = random_model(SIZES, 31)
    v = all_states(SIZES[0])
    mu = dbm.mean_field(v, weights, biases, n_steps=30, backend=backend)
    bound = dbm.variational_bound(v, mu, weights, biases)
    log_z = dbm.log_partition_exact(weights, biases, backend=backend)
    log_p = exact_visible_log_marginal(weights, biases)[visible_index(v)]
    assert np.all(bound - log_z <= log_p + 1e-12)
    # the bound is E_q[-E(v, h)] + H(q) for the factorised q of mu, by enumerating h
    hidden = all_states(sum(SIZES[1:]))
    h1, h2 = hidden[:, :SIZES[1]], hidden[:, SIZES[1]:]
    for row in (0, 17, 63):
        q = np.prod(np.where(h1 == 1, mu[0][row], 1 - mu[0][row]), axis=1) * np.prod(
            np.where(h2 == 1, mu[1][row], 1 - mu[1][row]), axis=1)
        neg_energy = v[row] @ biases[0] + h1 @ biases[1] + h2 @ biases[2] + h1 @ weights[0].T @ v[row] + np.einsum(
            "ri,ri->r", h1 @ weights[1], h2)
        want = q @ neg_energy - q[q > 0] @ np.log(q[q > 0])
        assert bound[row] == pytest.approx(want, abs=1e-10)


# ---------------------------------------------------------------- bad input


def test_ops_reject_bad_input(cpu_backend):
    weights, biases = random_model(SIZES, 41)
    v = np.zeros((2, 6))
    states = [np.zeros((2, n)) for n in SIZES]
    with pytest.raises(ValueError, match="at least two"):
        dbm.mean_field(v, weights[:1], biases[:2], backend=cpu_backend)
    with pytest.raises(ValueError, match="biases must hold"):
        dbm.mean_field(v, weights, biases[:2], backend=cpu_backend)
    with pytest.raises(ValueError, match=r"weights\[1\] must have 4 rows"):
        dbm.mean_field(v, [weights[0], weights[1].T], biases, backend=cpu_backend)
    with pytest.raises(ValueError, match=r"biases\[2\] must have length 3"):
        dbm.mean_field(v, weights, biases[:2] + [np.zeros(4)], backend=cpu_backend)
    with pytest.raises(ValueError, match=r"weights\[0\] contains NaN"):
        dbm.mean_field(v, [np.full((6, 4), np.nan), weights[1]], biases, backend=cpu_backend)
    with pytest.raises(TypeError, match=r"biases\[1\] has dtype float32"):
        dbm.mean_field(v, weights, [biases[0], biases[1].astype(np.float32), biases[2]], backend=cpu_backend)
    with pytest.raises(ValueError, match="v must have 6 columns"):
        dbm.mean_field(np.zeros((2, 5)), weights, biases, backend=cpu_backend)
    with pytest.raises(ValueError, match=r"v must hold values in \[0, 1\]"):
        dbm.mean_field(v + 2, weights, biases, backend=cpu_backend)
    with pytest.raises(ValueError, match=r"tol must be a finite number in \(0.0, inf\)"):
        dbm.mean_field(v, weights, biases, tol=0.0, backend=cpu_backend)
    with pytest.raises(ValueError, match=r"damping must be a finite number in \[0.0, 1.0\)"):
        dbm.mean_field(v, weights, biases, damping=1.0, backend=cpu_backend)
    with pytest.raises(ValueError, match="n_steps must be an integer"):
        dbm.mean_field(v, weights, biases, n_steps=-1, backend=cpu_backend)
    with pytest.raises(TypeError, match="weights must be a list"):
        dbm.mean_field(v, weights[0], biases, backend=cpu_backend)
    with pytest.raises(ValueError, match="not an available backend"):
        dbm.mean_field(v, weights, biases, backend="tpu")
    with pytest.raises(ValueError, match=r"states\[1\] must hold binary"):
        dbm.gibbs([states[0], states[1] + 0.5, states[2]], weights, biases, 1, seed=0, backend=cpu_backend)
    with pytest.raises(ValueError, match=r"states\[2\] must have 2 rows"):
        dbm.gibbs(states[:2] + [np.zeros((3, 3))], weights, biases, 1, seed=0, backend=cpu_backend)
    with pytest.raises(ValueError, match="states must hold one array per layer"):
        dbm.gibbs(states[:2], weights, biases, 1, seed=0, backend=cpu_backend)
    with pytest.raises(ValueError, match="seed must be"):
        dbm.gibbs(states, weights, biases, 1, seed=-1, backend=cpu_backend)
    with pytest.raises(ValueError, match="exact log Z enumerates"):
        dbm.log_partition_exact(*random_model((30, 30, 30), 0), backend=cpu_backend)
    with pytest.raises(ValueError, match="base_visible_bias must have length 6"):
        dbm.log_partition_ais(weights, biases, base_visible_bias=np.zeros(5), backend=cpu_backend)
    with pytest.raises(ValueError, match="betas must start at 0"):
        dbm.log_partition_ais(weights, biases, betas=[0.5, 1.0], backend=cpu_backend)
    with pytest.raises(ValueError, match=r"mu must hold one array per hidden layer"):
        dbm.variational_bound(v, [np.zeros((2, 4))], weights, biases)


# ---------------------------------------------------------------- estimator


def prototype_data(n_rows=300, seed=0):
    """Binary rows near four random prototypes of 8 pixels (10% of the pixels flipped)."""
    rng = np.random.default_rng(seed)
    prototypes = rng.random((4, 8)) < 0.5
    X = prototypes[rng.integers(0, 4, n_rows)]
    return np.where(rng.random(X.shape) < 0.1, ~X, X).astype(np.float64)


def exact_mean_log_likelihood(model, X):
    log_p = exact_visible_log_marginal(model.weights_, model.biases_)
    return log_p[visible_index(X)].mean()


def small_dbm(backend, **options):
    settings = {"batch_size": 20, "n_chains": 50, "pretrain_n_iter": 20, "learning_rate": 0.02, "n_iter": 20,
                "random_state": 0, "backend": backend}
    settings.update(options)
    return fastgen.DBM([6, 4], **settings)


@pytest.mark.parametrize("centering", [False, True])
def test_estimator_sml_improves_the_pretrained_model(cpu_backend, centering):
    X = prototype_data()
    pretrained = small_dbm(cpu_backend, n_iter=0).fit(X)
    trained = small_dbm(cpu_backend, centering=centering).fit(X)
    before, after = exact_mean_log_likelihood(pretrained, X), exact_mean_log_likelihood(trained, X)
    assert after > before + 0.1, (before, after)
    # log_likelihood: the mean variational bound minus the exact log Z, below the exact value
    estimate = trained.log_likelihood(X, method="exact")
    assert after - 0.05 < estimate <= after


def shifts(weights, offsets):
    """o_{l-1} W_{l-1} + W_l o_{l+1} of every layer: centred bias minus uncentred bias."""
    out = [np.zeros_like(o) for o in offsets]
    for layer, W in enumerate(weights):
        out[layer] = out[layer] + W @ offsets[layer + 1]
        out[layer + 1] = out[layer + 1] + offsets[layer] @ W
    return out


@pytest.mark.parametrize("centering", [False, True])
def test_estimator_sml_step_matches_reference(cpu_backend, centering):
    """One SML update (the whole data one batch, no pretraining) against float64 NumPy: the
    start is the n_iter=0 model of the same seed, the negative phase the chains it ends with."""
    X = prototype_data(30, seed=5)
    settings = {"pretrain": False, "batch_size": 30, "n_chains": 7, "mean_field_steps": 5, "momentum": 0.0,
                "weight_decay": 0.01, "learning_rate": 0.1, "centering": centering}
    start = small_dbm(cpu_backend, n_iter=0, **settings).fit(X)
    after = small_dbm(cpu_backend, n_iter=1, **settings).fit(X)
    W, b = start.weights_, start.biases_
    data = [X] + mean_field_reference(X, W, b, 5)
    model = after.chains_
    offsets = [np.zeros(n) for n in (8, 6, 4)]
    if centering:
        offsets = [X.mean(axis=0), np.full(6, 0.5), np.full(4, 0.5)]
    centred = [bias + shift for bias, shift in zip(b, shifts(W, offsets))]
    new_W = [W[k] + 0.1 * ((data[k] - offsets[k]).T @ (data[k + 1] - offsets[k + 1]) / 30
                           - (model[k] - offsets[k]).T @ (model[k + 1] - offsets[k + 1]) / 7 - 0.01 * W[k])
             for k in range(2)]
    centred = [c + 0.1 * (d.mean(axis=0) - x.mean(axis=0)) for c, d, x in zip(centred, data, model)]
    if centering:
        moved = [np.zeros(8)] + [0.01 * (d.mean(axis=0) - o) for d, o in zip(data[1:], offsets[1:])]
        centred = [c + shift for c, shift in zip(centred, shifts(new_W, moved))]
        offsets = [o + m for o, m in zip(offsets, moved)]
    new_b = [c - shift for c, shift in zip(centred, shifts(new_W, offsets))]
    for got, want in zip(after.weights_ + after.biases_ + after.offsets_, new_W + new_b + offsets):
        np.testing.assert_allclose(got, want, atol=1e-12, rtol=0)


def test_estimator_fit_is_reproducible_and_shapes(cpu_backend):
    X = prototype_data(100, seed=1).astype(np.float32)
    a = small_dbm(cpu_backend, n_iter=3, pretrain_n_iter=3).fit(X)
    b = small_dbm(cpu_backend, n_iter=3, pretrain_n_iter=3).fit(X)
    for p, q in zip(a.weights_ + a.biases_ + a.chains_, b.weights_ + b.biases_ + b.chains_):
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p, q)
    assert [W.shape for W in a.weights_] == [(8, 6), (6, 4)]
    assert [c.shape for c in a.chains_] == [(50, 8), (50, 6), (50, 4)]
    assert a.n_features_in_ == 8
    top = a.transform(X[:7])
    assert top.shape == (7, 4) and np.all((top > 0) & (top < 1))
    mu = a.mean_field(X[:7], n_steps=3)
    assert [m.shape for m in mu] == [(7, 6), (7, 4)]
    np.testing.assert_array_equal(a.sample(5, n_steps=4, random_state=3), b.sample(5, n_steps=4, random_state=3))
    samples = a.sample(5, n_steps=4)
    assert samples.shape == (5, 8) and set(np.unique(samples)) <= {0.0, 1.0}


def test_estimator_sample_matches_exact_marginal(cpu_backend):
    weights, biases = random_model(SIZES, 51)
    model = fastgen.DBM([4, 3], backend=cpu_backend)
    model.weights_, model.biases_ = weights, biases
    p = np.exp(exact_visible_log_marginal(weights, biases))
    assert_near_exact(model.sample(3000, n_steps=100, random_state=1), p, np.random.default_rng(52))


def test_estimator_ais_log_likelihood_and_cache(cpu_backend):
    X = prototype_data(100, seed=2)
    model = small_dbm(cpu_backend, n_iter=5).fit(X)
    exact = model.log_likelihood(X, method="exact")
    options = {"n_chains": 100, "betas": np.linspace(0, 1, 1000), "seed": 4}
    estimate, lower, upper = model.log_likelihood(X, method="ais", return_bounds=True, **options)
    assert abs(estimate - exact) < 0.3
    assert lower <= estimate <= upper
    assert model.log_partition("ais", **options) is model.log_partition("ais", **options)  # cached
    first = model.log_partition("exact")
    model.biases_[0][0] += 1.0  # an edit in place drops the cache
    assert model.log_partition("exact") != first
    assert model.log_partition("exact") == pytest.approx(dbm.log_partition_exact(model.weights_, model.biases_))


def test_estimator_failed_fit_leaves_the_model_unchanged(cpu_backend):
    X = prototype_data(60, seed=3)
    model = small_dbm(cpu_backend, n_iter=2, pretrain_n_iter=2).fit(X)
    before = [p.copy() for p in model.weights_ + model.biases_ + model.chains_]
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(bad)
    with pytest.raises(ValueError, match=r"X must hold values in \[0, 1\]"):
        model.fit(X + 1)
    model.set_params(layer_sizes=[6, 0])
    with pytest.raises(ValueError, match=r"layer_sizes\[1\] must be an integer >= 1"):
        model.fit(X)
    for p, q in zip(before, model.weights_ + model.biases_ + model.chains_):
        np.testing.assert_array_equal(p, q)
    assert model.n_features_in_ == 8


def test_estimator_rejects_bad_input(cpu_backend):
    X = prototype_data(40, seed=4)
    with pytest.raises(NotFittedError):
        fastgen.DBM([3, 2]).transform(X)
    with pytest.raises(NotFittedError):
        fastgen.DBM([3, 2]).sample(2)
    with pytest.raises(NotFittedError):
        fastgen.DBM([3, 2]).log_partition("exact")
    for sizes in ([5], [5, 0], 5, [5, 2.5]):
        with pytest.raises(ValueError, match="layer_sizes"):
            fastgen.DBM(sizes, backend=cpu_backend).fit(X)
    with pytest.raises(ValueError, match="backend.*Got 'tpu'"):
        fastgen.DBM([3, 2], backend="tpu").fit(X)
    for name, value in (("learning_rate", 0.0), ("momentum", 1.0), ("n_chains", 0), ("mean_field_tol", -1.0)):
        with pytest.raises(ValueError, match=name):
            fastgen.DBM([3, 2], backend=cpu_backend, **{name: value}).fit(X)
    model = small_dbm(cpu_backend, n_iter=1, pretrain_n_iter=1).fit(X)
    with pytest.raises(ValueError, match="binary states"):
        model.log_likelihood(np.full((2, 8), 0.5), method="exact")
    with pytest.raises(ValueError, match="X has 7 features"):
        model.transform(X[:, :7])
    with pytest.raises(ValueError, match="NaN"):
        model.transform(np.full((2, 8), np.nan))
    with pytest.raises(ValueError, match="method must be"):
        model.log_partition("bridge")
    with pytest.raises(ValueError, match="unknown options"):
        model.log_partition("exact", n_chains=3)
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)
