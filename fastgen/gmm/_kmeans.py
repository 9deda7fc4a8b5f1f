"""fastgen's k-means: the "kmeans" initialisation of fastgen.GaussianMixture, in place of
scikit-learn's KMeans(n_clusters=K, n_init=1, random_state=random_state).fit(X, sample_weight).labels_,
which took most of a diagonal fit's time (its k-means++ seeding, a Python loop of K steps over
N x L distance matrices, above all).

The same algorithm, with the same draws from random_state, on fused kernels (interface in
_kernels.py, loops in csrc/cpu/gmm_kmeans.h): greedy k-means++ seeds (first row drawn by
random_state.choice with p proportional to the weights, then 2 + int(log K) candidates per seed
from random_state.uniform, as scikit-learn's _kmeans_plusplus draws them), Lloyd iterations until
the labels repeat or the centres move by at most 1e-4 times the mean variance of X's columns
(at most 300 iterations), empty clusters given the rows farthest from their centres, as
scikit-learn relocates them. What differs is the arithmetic: distances and sums in float64
(scikit-learn's KMeans computes in X's dtype, with |x|^2 - 2 x.c + |c|^2 on X centred), in the
kernels' fixed order. So the seeds and labels are scikit-learn's wherever no two candidates'
potentials, and no point's two nearest centres, are closer than that rounding; the tests hold the
result to a float64 NumPy k-means from the same draws, exactly, and its inertia to scikit-learn's.
"""
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

MAX_ITER = 300  # scikit-learn's KMeans defaults
TOL = 1e-4


def n_local_trials(n_clusters):
    """Candidates per seed after the first: scikit-learn's 2 + int(log K)."""
    return 2 + int(np.log(n_clusters))


def kmeans_labels(kernels, X, sample_weight, n_clusters, random_state):
    """(N,) int64: the k-means cluster of each row of X (C-contiguous, float32 or float64),
    sample_weight None or (N,) float64, random_state a NumPy RandomState (draws taken as
    scikit-learn's KMeans takes them)."""
    n_samples = X.shape[0]
    seed_weight = np.ones(n_samples, dtype=X.dtype) if sample_weight is None else sample_weight.astype(X.dtype)
    first = random_state.choice(n_samples, p=seed_weight / seed_weight.sum())
    uniforms = random_state.uniform(size=(n_clusters - 1, n_local_trials(n_clusters)))
    seeds = kernels.kmeans_seed(X, sample_weight, first, uniforms)
    labels = lloyd(kernels, X, sample_weight, X[seeds].astype(np.float64), tolerance(X))
    if len(np.unique(labels)) < n_clusters:  # scikit-learn's KMeans warns so
        warnings.warn(f"Number of distinct clusters ({len(np.unique(labels))}) found smaller than n_clusters "
                      f"({n_clusters}). Possibly due to duplicate points in X.", ConvergenceWarning, stacklevel=2)
    return labels


def tolerance(X):
    """scikit-learn's: TOL times the mean variance of X's columns (the bound on the centres' total squared move)."""
    return np.mean(np.var(X, axis=0)) * TOL


def lloyd(kernels, X, sample_weight, centres, tol, max_iter=MAX_ITER):
    """The labels of Lloyd's iterations from `centres` (K, D) float64, stopped as scikit-learn's
    _kmeans_single_lloyd stops: labels equal to the previous iteration's, or a total squared
    centre shift <= tol (then one more assignment, so that the labels are those of the final
    centres), or max_iter."""
    labels_old = None
    for _ in range(max_iter):
        labels, distances, sums, counts = kernels.kmeans_step(X, sample_weight, centres)
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            _relocate_empty_clusters(X, sample_weight, labels, distances, sums, counts, empty)
        # scikit-learn's _average_centers: times 1 / weight, an empty cluster (all its weights 0) at its sums
        scale = np.ones_like(counts)
        np.divide(1.0, counts, out=scale, where=counts > 0)
        new_centres = sums * scale[:, None]
        shift = ((new_centres - centres) ** 2).sum()
        centres = new_centres
        if labels_old is not None and np.array_equal(labels, labels_old):
            return labels
        if shift <= tol:
            break
        labels_old = labels
    return kernels.kmeans_step(X, sample_weight, centres)[0]


def _relocate_empty_clusters(X, sample_weight, labels, distances, sums, counts, empty):
    """scikit-learn's _relocate_empty_clusters_dense, in place on sums and counts: each empty
    cluster takes one of the rows farthest from their centres (and its weight from that row's cluster)."""
    n_empty = len(empty)
    far = np.argpartition(distances, -n_empty)[: -n_empty - 1: -1]
    for new_id, row in zip(empty, far):
        weight = 1.0 if sample_weight is None else sample_weight[row]
        old_id = labels[row]
        x = X[row].astype(np.float64)
        sums[old_id] -= x * weight
        sums[new_id] = x * weight
        counts[new_id] = weight
        counts[old_id] -= weight
