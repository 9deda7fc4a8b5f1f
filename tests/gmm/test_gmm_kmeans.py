"""fastgen's k-means, the "kmeans" initialisation of GaussianMixture (fastgen/gmm/_kmeans.py,
csrc/cpu/gmm_kmeans.h), on every backend: against a float64 NumPy k-means written here from the
same draws (seeds, labels and centres exactly: the same picks and assignments), and against
scikit-learn's KMeans given the same random_state (the oracle of what the drop-in replaces)."""
import warnings

import numpy as np
import pytest
from gmm_layout import gmm_kernels
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SkGaussianMixture

import fastgen
from fastgen.gmm import _kmeans


def _blobs(n, d, k, dtype=np.float64, seed=0, weighted=False):
    rng = np.random.RandomState(seed)
    centres = rng.normal(scale=3.0, size=(k, d))
    X = np.ascontiguousarray((centres[rng.randint(k, size=n)] + rng.normal(size=(n, d))).astype(dtype))
    return X, (rng.randint(0, 4, size=n).astype(np.float64) if weighted else None)


def _squared_distances(X, centres):
    """(N, C) float64 |x_n - c|^2."""
    return ((X.astype(np.float64)[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def _reference_seeds(X, w, first, uniforms):
    """Greedy k-means++ in float64 NumPy (scikit-learn's _kmeans_plusplus with its draws given)."""
    Xd = X.astype(np.float64)
    w = np.ones(len(X)) if w is None else w
    seeds = [first]
    closest = _squared_distances(Xd, Xd[[first]])[:, 0]
    for u in uniforms:
        candidates = np.minimum(np.searchsorted(np.cumsum(w * closest), u * (closest @ w)), len(X) - 1)
        tried = np.minimum(closest, _squared_distances(Xd, Xd[candidates]).T)  # (L, N)
        best = int(np.argmin(tried @ w))
        seeds.append(candidates[best])
        closest = tried[best]
    return np.array(seeds)


def _reference_lloyd(X, w, centres, tol, max_iter=300):
    """Lloyd's iterations as scikit-learn's _kmeans_single_lloyd runs them (empty clusters
    relocated as its _relocate_empty_clusters_dense does), in float64 NumPy; the labels."""
    Xd = X.astype(np.float64)
    w = np.ones(len(X)) if w is None else w
    K = len(centres)
    labels_old = None
    for _ in range(max_iter):
        distances = _squared_distances(Xd, centres)
        labels = distances.argmin(axis=1)
        counts = np.bincount(labels, weights=w, minlength=K)
        sums = np.stack([w[labels == k] @ Xd[labels == k] for k in range(K)])
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            far = np.argpartition(distances[np.arange(len(X)), labels], -len(empty))[: -len(empty) - 1: -1]
            for new_id, row in zip(empty, far):
                sums[labels[row]] -= Xd[row] * w[row]
                counts[labels[row]] -= w[row]
                sums[new_id], counts[new_id] = Xd[row] * w[row], w[row]
        new = sums * np.where(counts > 0, 1 / np.where(counts > 0, counts, 1), 1.0)[:, None]
        shift, centres = ((new - centres) ** 2).sum(), new
        if labels_old is not None and np.array_equal(labels, labels_old):
            return labels
        if shift <= tol:
            break
        labels_old = labels
    return _squared_distances(Xd, centres).argmin(axis=1)


def _draws(X, w, n_clusters, seed):
    """The draws kmeans_labels takes from RandomState(seed): the first row, then the uniforms."""
    rs = np.random.RandomState(seed)
    p = np.ones(len(X), dtype=X.dtype) if w is None else w.astype(X.dtype)
    return rs.choice(len(X), p=p / p.sum()), rs.uniform(size=(n_clusters - 1, _kmeans.n_local_trials(n_clusters)))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_seeds_and_labels_match_the_float64_reference(backend, dtype, weighted):
    X, w = _blobs(3000, 5, 12, dtype, seed=1, weighted=weighted)
    kernels = gmm_kernels(backend)
    first, uniforms = _draws(X, w, 12, seed=2)
    seeds = kernels.kmeans_seed(X, w, first, uniforms)
    np.testing.assert_array_equal(seeds, _reference_seeds(X, w, first, uniforms))
    if weighted:
        assert (w[seeds] > 0).all()  # a row of weight 0 is never drawn
    labels = _kmeans.kmeans_labels(kernels, X, w, 12, np.random.RandomState(2))
    reference = _reference_lloyd(X, w, X[seeds].astype(np.float64), _kmeans.tolerance(X))
    np.testing.assert_array_equal(labels, reference)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lloyd_step_matches_the_reference(backend, dtype):
    X, w = _blobs(2000, 4, 6, dtype, seed=3, weighted=True)
    centres = np.random.RandomState(4).normal(scale=3.0, size=(6, 4))
    labels, distances, sums, counts = gmm_kernels(backend).kmeans_step(X, w, centres)
    d = _squared_distances(X, centres)
    np.testing.assert_array_equal(labels, d.argmin(axis=1))
    np.testing.assert_allclose(distances, d.min(axis=1), rtol=1e-13)
    np.testing.assert_allclose(counts, np.bincount(labels, weights=w, minlength=6), rtol=1e-13)
    Xd = X.astype(np.float64)
    np.testing.assert_allclose(sums, np.stack([w[labels == k] @ Xd[labels == k] for k in range(6)]), rtol=1e-12)


def test_empty_clusters_are_relocated_as_scikit_learn_relocates_them(backend):
    """Two centres far from every row: their clusters start empty and take the farthest rows."""
    X, w = _blobs(1500, 3, 5, seed=5, weighted=True)
    centres = np.concatenate([X[[0, 1, 2]].astype(np.float64), np.full((2, 3), 1e3)])
    kernels = gmm_kernels(backend)
    assert (kernels.kmeans_step(X, w, centres)[3][3:] == 0).all()
    labels = _kmeans.lloyd(kernels, X, w, centres, _kmeans.tolerance(X))
    np.testing.assert_array_equal(labels, _reference_lloyd(X, w, centres, _kmeans.tolerance(X)))
    assert len(np.unique(labels)) == 5


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_clustering_and_inertia_as_scikit_learns_kmeans(cpu_backend, dtype):
    """Same random_state, same draws: scikit-learn's partition (float64; float32, where
    scikit-learn computes in float32, an inertia within 1% of its)."""
    X, _ = _blobs(20000, 6, 16, dtype, seed=6)
    labels = _kmeans.kmeans_labels(gmm_kernels(cpu_backend), X, None, 16, np.random.RandomState(0))
    sk = KMeans(n_clusters=16, n_init=1, random_state=np.random.RandomState(0)).fit(X)
    Xd = X.astype(np.float64)
    centres = np.stack([Xd[labels == k].mean(axis=0) for k in range(16)])
    inertia = ((Xd - centres[labels]) ** 2).sum()
    assert inertia <= 1.01 * sk.inertia_
    if dtype == np.float64:
        assert adjusted_rand_score(labels, sk.labels_) == 1.0


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_default_init_fits_scikit_learns_model(cpu_backend, covariance_type):
    """GaussianMixture(init_params="kmeans"), the default: the k-means labels as one-hot
    responsibilities, as scikit-learn's, so the fit is scikit-learn's (float64, same random_state)."""
    X, _ = _blobs(6000, 4, 8, seed=7)
    ours = fastgen.GaussianMixture(8, covariance_type=covariance_type, random_state=0, backend=cpu_backend).fit(X)
    theirs = SkGaussianMixture(8, covariance_type=covariance_type, random_state=0).fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-6, atol=1e-8)


def test_fewer_distinct_rows_than_clusters_warns_as_kmeans_does(cpu_backend):
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]]), 10, axis=0)
    with pytest.warns(ConvergenceWarning, match=r"Number of distinct clusters \(3\) found smaller than n_clusters"):
        labels = _kmeans.kmeans_labels(gmm_kernels(cpu_backend), X, None, 4, np.random.RandomState(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = KMeans(n_clusters=4, n_init=1, random_state=np.random.RandomState(0)).fit(X)
    assert adjusted_rand_score(labels, sk.labels_) == 1.0
