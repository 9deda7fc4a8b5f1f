"""The float64 NumPy reference of the MMD family: the kernel matrices materialised, and the
estimators written from their definitions (Gretton et al. 2012)."""
import numpy as np


def kernel_matrix(A, B, kernel, sigmas=(1.0,), degree=3, gamma=None, coef0=1.0):
    A, B = np.asarray(A, np.float64), np.asarray(B, np.float64)
    if kernel == "polynomial":
        gamma = 1.0 / A.shape[1] if gamma is None else gamma
        return (gamma * A @ B.T + coef0) ** degree
    distance = np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=-1))
    if kernel == "gaussian":
        return sum(np.exp(-distance**2 / (2 * s * s)) for s in sigmas)
    return sum(np.exp(-distance / s) for s in sigmas)


def mmd2(X, Y, kernel, estimator="unbiased", **params):
    if estimator == "linear":
        n = min(len(X), len(Y)) // 2
        x0, x1, y0, y1 = X[0:2 * n:2], X[1:2 * n:2], Y[0:2 * n:2], Y[1:2 * n:2]

        def paired(A, B):
            return np.array([kernel_matrix(a[None], b[None], kernel, **params)[0, 0] for a, b in zip(A, B)])

        return float(np.mean(paired(x0, x1) + paired(y0, y1) - paired(x0, y1) - paired(x1, y0)))
    Kxx, Kyy, Kxy = (kernel_matrix(A, B, kernel, **params) for A, B in ((X, X), (Y, Y), (X, Y)))
    N, M = len(X), len(Y)
    if estimator == "unbiased":
        return float((Kxx.sum() - np.trace(Kxx)) / (N * (N - 1)) + (Kyy.sum() - np.trace(Kyy)) / (M * (M - 1))
                     - 2 * Kxy.mean())
    return float(Kxx.mean() + Kyy.mean() - 2 * Kxy.mean())


def torchmetrics_kid(real, fake, degree=3, gamma=None, coef=1.0):
    """torchmetrics' poly_mmd (image/kid.py), in NumPy float64: the unbiased MMD^2 of equal-size samples."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    gamma = 1.0 / real.shape[1] if gamma is None else gamma
    k_11 = (real @ real.T * gamma + coef) ** degree
    k_22 = (fake @ fake.T * gamma + coef) ** degree
    k_12 = (real @ fake.T * gamma + coef) ** degree
    m = k_11.shape[0]
    kt_xx_sum = (k_11.sum(axis=-1) - np.diag(k_11)).sum()
    kt_yy_sum = (k_22.sum(axis=-1) - np.diag(k_22)).sum()
    k_xy_sum = k_12.sum(axis=0).sum()
    return (kt_xx_sum + kt_yy_sum) / (m * (m - 1)) - 2 * k_xy_sum / m**2


def gaussian_mmd2_closed_form(mu1, s1, mu2, s2, sigma, D):
    """MMD^2 of N(mu1, s1^2 I) and N(mu2, s2^2 I) in D dimensions (mu1, mu2 vectors) under the
    Gaussian kernel of bandwidth sigma: E exp(-|z|^2 / (2 sigma^2)) for z ~ N(m, v I) is
    (sigma^2 / (sigma^2 + v))^(D/2) exp(-|m|^2 / (2 (sigma^2 + v)))."""
    def expected_kernel(m, v):
        return (sigma**2 / (sigma**2 + v)) ** (D / 2) * np.exp(-np.sum(m**2) / (2 * (sigma**2 + v)))

    zero = np.zeros(D)
    return (expected_kernel(zero, 2 * s1**2) + expected_kernel(zero, 2 * s2**2)
            - 2 * expected_kernel(mu1 - mu2, s1**2 + s2**2))
