"""The E-step kernels of every backend against a float64 NumPy reference written here
(log densities through explicit precision matrices, responsibilities by scipy's logsumexp).
The kernels take and return NumPy arrays on every backend (cuda copies to the device and back)."""
import numpy as np
import pytest
from gmm_layout import K, gmm_kernels, kernel_inputs, problem, reference_log_prob
from scipy.special import logsumexp


@pytest.mark.parametrize("kind", ["full", "diag"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weighted_log_prob_matches_reference(backend, kind, dtype):
    X, means, weights, precisions = problem(kind, dtype)
    inputs = kernel_inputs(kind, means, weights, precisions, dtype)
    got = gmm_kernels(backend).weighted_log_prob(X, *inputs)
    # the means and factors are rounded to dtype before use: compare with those
    ref = reference_log_prob(X, inputs[0].T.astype(np.float64), weights, precisions, kind)
    tol = 1e-10 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("kind", ["full", "diag"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_em_pass_statistics_match_reference(backend, kind, dtype):
    X, means, weights, precisions = problem(kind, dtype, seed=1)
    inputs = kernel_inputs(kind, means, weights, precisions, dtype)
    log_likelihood, nk, s1, s2 = gmm_kernels(backend).em_pass(X, *inputs)

    centre = inputs[0].T.astype(np.float64)
    log_prob = reference_log_prob(X, centre, weights, precisions, kind)
    resp = np.exp(log_prob - logsumexp(log_prob, axis=1)[:, None])
    Xd = X.astype(np.float64)
    ref_s1 = np.stack([resp[:, k] @ (Xd - centre[k]) for k in range(K)])
    if kind == "full":
        ref_s2 = np.stack([(resp[:, k] * (Xd - centre[k]).T) @ (Xd - centre[k]) for k in range(K)])
    else:
        ref_s2 = np.stack([resp[:, k] @ (Xd - centre[k]) ** 2 for k in range(K)])
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(log_likelihood, logsumexp(log_prob, axis=1).sum(), rtol=tol)
    np.testing.assert_allclose(nk, resp.sum(axis=0), rtol=tol)
    np.testing.assert_allclose(s1, ref_s1, rtol=tol, atol=tol * np.abs(ref_s1).max())
    np.testing.assert_allclose(s2, ref_s2, rtol=tol, atol=tol * np.abs(ref_s2).max())
    assert nk.dtype == s1.dtype == s2.dtype == np.float64


def test_em_pass_tied_factor_broadcast(backend):
    """A tied U repeated along K (a stride-0 view made contiguous) gives the full result with K copies."""
    X, means, weights, precisions = problem("full", np.float64, seed=2)
    tied = np.repeat(precisions[:1], K, axis=0)
    inputs = kernel_inputs("full", means, weights, tied, np.float64)
    _, nk, _, _ = gmm_kernels(backend).em_pass(X, *inputs)
    log_prob = reference_log_prob(X, means, weights, tied, "full")
    np.testing.assert_allclose(nk, np.exp(log_prob - logsumexp(log_prob, axis=1)[:, None]).sum(axis=0), rtol=1e-10)


def test_far_components_get_exactly_zero_responsibility(backend):
    """Responsibilities below e^-500 are exact zeros (no subnormals), the rest still sum to N."""
    X = np.zeros((8, 1))
    means_t = np.array([[0.0, 1e3]])
    prec_t = np.ones((1, 2))
    _, nk, s1, s2 = gmm_kernels(backend).em_pass(X, means_t, prec_t, False, np.zeros(2))
    assert nk.tolist() == [8.0, 0.0]
    assert s1[1, 0] == 0.0 and s2[1, 0] == 0.0


@pytest.mark.parametrize("kind", ["full", "diag"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_score_rows_match_reference(backend, kind, dtype):
    """log p(x) by scipy's logsumexp of the float64 reference log densities, the labels their
    argmax, the responsibilities their normalised exponentials, in X's dtype."""
    X, means, weights, precisions = problem(kind, dtype, seed=3)
    inputs = kernel_inputs(kind, means, weights, precisions, dtype)
    log_norm, labels, proba = gmm_kernels(backend).score_rows(X, *inputs, labels=True, proba=True)
    ref = reference_log_prob(X, inputs[0].T.astype(np.float64), weights, precisions, kind)
    ref_norm = logsumexp(ref, axis=1)
    tol = 1e-10 if dtype == np.float64 else 2e-4
    assert log_norm.dtype == np.float64 and labels.dtype == np.int64 and proba.dtype == dtype
    np.testing.assert_allclose(log_norm, ref_norm, rtol=tol, atol=tol * np.abs(ref_norm).max())
    np.testing.assert_allclose(proba, np.exp(ref - ref_norm[:, None]), rtol=tol * 10,
                               atol=1e-200 if dtype == np.float64 else 1e-6)
    np.testing.assert_allclose(proba.sum(axis=1, dtype=np.float64), 1.0, rtol=1e-12 if dtype == np.float64 else 1e-6)
    top_two = np.sort(ref, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-3  # rows where rounding cannot decide the label
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(labels[clear], ref.argmax(axis=1)[clear])


def test_score_rows_labels_are_the_first_of_equal_log_densities(backend):
    """Equal components (the same mean, factor and weight): the label is the first, as argmax."""
    X, means, weights, precisions = problem("full", np.float64, seed=4)
    means[2], precisions[2], weights[2] = means[1], precisions[1], weights[1]
    inputs = kernel_inputs("full", means, weights / weights.sum(), precisions, np.float64)
    _, labels, _ = gmm_kernels(backend).score_rows(X, *inputs, labels=True)
    ref = reference_log_prob(X, means, weights, precisions, "full")
    assert (labels != 2).all() and (labels == 1).sum() == (ref.argmax(axis=1) == 1).sum() + (ref.argmax(axis=1) == 2).sum()


def test_score_rows_gives_only_what_is_asked_the_same_each_time(backend):
    X, means, weights, precisions = problem("diag", np.float64, seed=5)
    inputs = kernel_inputs("diag", means, weights, precisions, np.float64)
    kernels = gmm_kernels(backend)
    log_norm, labels, proba = kernels.score_rows(X, *inputs)
    assert labels is None and proba is None
    for asked in ({"labels": True}, {"proba": True}, {"labels": True, "proba": True}):
        again = kernels.score_rows(X, *inputs, **asked)
        np.testing.assert_array_equal(again[0], log_norm)
        assert (again[1] is not None) == asked.get("labels", False)
        assert (again[2] is not None) == asked.get("proba", False)


def test_score_rows_far_components_and_zero_density(backend):
    """Responsibilities below e^-500 are exact zeros, as em_pass's; a point of zero density under
    every component (its squared distance overflows) scores -inf, label 0 (argmax of all -inf),
    and NaN responsibilities (undefined: the estimator refuses them)."""
    X = np.array([[0.0], [np.finfo(np.float64).max]])
    means_t, prec_t, bias = np.array([[0.0, 1e3]]), np.ones((1, 2)), np.log([0.5, 0.5])
    log_norm, labels, proba = gmm_kernels(backend).score_rows(X, means_t, prec_t, False, bias, labels=True, proba=True)
    assert log_norm[0] == np.log(0.5)  # the bias of component 0; component 1 adds e^-500000
    assert log_norm[1] == -np.inf
    assert labels.tolist() == [0, 0]
    assert proba[0].tolist() == [1.0, 0.0]
    assert np.isnan(proba[1]).all()
