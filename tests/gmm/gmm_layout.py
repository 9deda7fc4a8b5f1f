"""The GMM kernel tests' shared problem: float64 NumPy parameters of a random mixture, and the
kernels' parameter layout (csrc/include/fastgen/gmm.h) built from them."""
import numpy as np

from fastgen import _backend

N, D, K = 203, 5, 4  # N not a multiple of the 4-point tile


def gmm_kernels(name):
    return _backend.kernels(name).gmm


def problem(kind, dtype, seed=0, weighted=False):
    """(X, means, weights, precisions), and integer sample weights in [0, 3] when `weighted`."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(N, D)) * 2 + rng.normal(size=D)
    means = rng.normal(size=(K, D))
    weights = rng.dirichlet(np.ones(K))
    if kind == "full":
        A = rng.normal(size=(K, D, D))
        precisions = A @ np.swapaxes(A, 1, 2) + D * np.eye(D)
    else:
        precisions = rng.uniform(0.5, 2.0, size=(K, D))
    if weighted:
        return X.astype(dtype), means, weights, precisions, rng.randint(0, 4, size=N).astype(np.float64)
    return X.astype(dtype), means, weights, precisions


def kernel_inputs(kind, means, weights, precisions, dtype):
    """gmm.h's layout: U with U U^T = precision (upper triangular), component index last."""
    D = means.shape[1]
    if kind == "full":
        U = np.linalg.cholesky(precisions[:, ::-1, ::-1])[:, ::-1, ::-1]
        prec_t = np.moveaxis(U, 0, -1)
        log_det = np.log(np.diagonal(U, axis1=1, axis2=2)).sum(axis=1)
    else:
        prec_t = np.sqrt(precisions).T
        log_det = 0.5 * np.log(precisions).sum(axis=1)
    bias = np.log(weights) + log_det - 0.5 * D * np.log(2 * np.pi)
    return np.ascontiguousarray(means.T, dtype=dtype), np.ascontiguousarray(prec_t, dtype=dtype), kind == "full", bias


def reference_log_prob(X, centre, weights, precisions, kind):
    """float64 log(weight_k) + log N(x; centre_k, precision_k^-1) of every row and component,
    through explicit precision matrices (diag: their diagonals)."""
    X = X.astype(np.float64)
    out = np.empty((len(X), K))
    for k in range(K):
        P = precisions[k] if kind == "full" else np.diag(precisions[k])
        diff = X - centre[k]
        quad = np.einsum("ni,ij,nj->n", diff, P, diff)
        out[:, k] = np.log(weights[k]) + 0.5 * np.linalg.slogdet(P)[1] - 0.5 * D * np.log(2 * np.pi) - 0.5 * quad
    return out
