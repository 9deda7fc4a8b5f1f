"""The GMM kernels' parameter layout (csrc/include/fastgen/gmm.h), built from float64 NumPy
parameters for the kernel tests."""
import numpy as np


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
