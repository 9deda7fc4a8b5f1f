"""fastgen.GaussianMixture: a drop-in for sklearn.mixture.GaussianMixture whose EM runs on
fastgen's fused E-step (log densities, log-sum-exp and sufficient statistics in one pass,
never an N x K responsibility matrix; see csrc/include/fastgen/gmm.h and fastgen/gmm/_kernels.py).

The EM follows scikit-learn's order exactly (E-step, M-step, lower bound = mean log
likelihood of the E-step, convergence on its change, n_init keeps the best, a final
E-step for the labels), so that from the same initial parameters both reach the same fit.
The M-step works in float64 from statistics centred on the current means:
    s1_k = sum r (x - mu_k),  s2_k = sum r (x - mu_k)(x - mu_k)^T,
    mean_k = (s1_k + n_k mu_k) / nk_k,  delta = mean_k - mu_k (small),
    nk_k cov_k = s2_k - s1_k delta^T - delta s1_k^T + n_k delta delta^T
(nk = n + 10 eps as in scikit-learn), never E[x^2] - E[x]^2.
"""
from __future__ import annotations

import math
import numbers
import typing
import warnings
from time import time

import numpy as np
from scipy import linalg
from sklearn import cluster
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as _SkGaussianMixture
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _backend
from .._estimator import BACKEND_CONSTRAINT, public

_ROWS_PER_CHUNK = 65536  # rows of X per call when an (N, K) result is asked for (predict, ...)
_RETRIES = 12  # reg_covar tries (each 10x larger) before a covariance is declared ill-defined
_ILL_DEFINED = (
    "Fitting the mixture model failed because some components have ill-defined empirical covariance "
    "(for instance caused by singleton or collapsed samples), even with reg_covar raised to {reg:.3g}. "
    "Try to decrease the number of components, or scale the input data."
)


class InvalidInputError(ValueError, TypeError):
    """Input that is not an array of numbers: a ValueError (as fastgen promises) that is also
    the TypeError scikit-learn's estimator checks expect for such input."""


@public
class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM: scikit-learn's GaussianMixture (same parameters,
    methods and fitted attributes) with fastgen's fused E-step, plus

    backend : "cpu", "numba", "cuda" or None (the current default). Data and fitted
        attributes are NumPy arrays; with "cuda" the E-step runs on the GPU.

    Differences from scikit-learn, all on the side of robustness: the M-step is computed
    in float64 from centred sums whatever the dtype of X (fitted attributes take X's
    dtype); a covariance that is not positive definite is retried with a larger
    `reg_covar` (with a warning naming the value used) instead of failing; a failed
    `fit` leaves the estimator as it was.
    """

    _parameter_constraints: typing.ClassVar[dict] = {
        **_SkGaussianMixture._parameter_constraints,
        "backend": BACKEND_CONSTRAINT,
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        backend=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.backend = backend

    # ------------------------------------------------------------ validation

    def _validate_X(self, X, reset):
        """X as a C-contiguous float32/float64 array; errors name X."""
        kwargs = {"ensure_min_samples": 2} if reset else {}
        try:
            X = validate_data(self, X, dtype=[np.float64, np.float32], reset=reset, **kwargs)
        except (TypeError, ValueError) as exc:
            if "X" in str(exc):
                raise
            raise InvalidInputError(f"X must be a 2-D array of finite numbers: {exc}") from exc
        return np.ascontiguousarray(X)

    def _checked_init(self, name, value, shape):
        try:
            value = check_array(value, dtype=[np.float64, np.float32], ensure_2d=False, allow_nd=True,
                                input_name=name)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"{name} must be an array of finite numbers: {exc}") from exc
        if value.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
        return value.astype(np.float64)

    def _check_inits(self, n_features, dtype):
        """(weights, means, precisions) given by the user, validated, float64 (or None)."""
        K, D, ct = self.n_components, n_features, self.covariance_type
        weights = means = precisions = None
        if self.weights_init is not None:
            weights = self._checked_init("weights_init", self.weights_init, (K,))
            if weights.min() < 0 or weights.max() > 1:
                raise ValueError(f"weights_init must lie in [0, 1], got values in [{weights.min()}, {weights.max()}]")
            atol = 1e-6 if dtype == np.float32 else 1e-8
            if abs(1.0 - weights.sum()) > atol:
                raise ValueError(f"weights_init must sum to 1, got sum(weights_init) = {weights.sum():.8g}")
        if self.means_init is not None:
            means = self._checked_init("means_init", self.means_init, (K, D))
        if self.precisions_init is not None:
            shape = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}[ct]
            precisions = self._checked_init("precisions_init", self.precisions_init, shape)
            if ct in ("full", "tied"):
                for k, matrix in enumerate(precisions.reshape(-1, D, D)):
                    if not np.allclose(matrix, matrix.T) or np.linalg.eigvalsh(matrix).min() <= 0:
                        where = f"precisions_init[{k}]" if ct == "full" else "precisions_init"
                        raise ValueError(f"{where} must be symmetric positive definite")
            elif precisions.min() <= 0:
                raise ValueError(f"precisions_init must be positive ('{ct}' precisions), got min {precisions.min()}")
        return weights, means, precisions

    # ------------------------------------------------------------ fitting

    def fit(self, X, y=None):
        """Estimate the parameters with the EM algorithm (see scikit-learn's GaussianMixture.fit)."""
        self.fit_predict(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None):
        """Fit as `fit`, then return the component label of each row of X."""
        state = dict(self.__dict__)
        try:
            return self._fit_predict(X)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit_predict(self, X):
        X = self._validate_X(X, reset=True)
        n_samples = X.shape[0]
        if n_samples < self.n_components:
            raise ValueError(
                f"n_components={self.n_components} must be <= the number of samples in X ({n_samples}): "
                f"expected n_samples >= n_components"
            )
        kernels = _backend.resolve(self.backend, on_device=False).gmm
        inits = self._check_inits(X.shape[1], X.dtype)

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        best = None  # (lower bound, params, n_iter, lower bounds, converged)
        for init in range(n_init):
            self._verbose_init_begin(init)
            params = self._initial_params(X, random_state, inits) if do_init else self._current_params()
            lower_bound = -np.inf if do_init else self.lower_bound_
            lower_bounds, converged, n_iter = [], False, 0
            for n_iter in range(1, self.max_iter + 1):
                previous = lower_bound
                log_likelihood, stats, centre = self._e_step_stats(kernels, X, params)
                lower_bound = log_likelihood / n_samples
                params = self._m_step(stats, centre, X.dtype)
                lower_bounds.append(lower_bound)
                change = lower_bound - previous
                self._verbose_iter_end(n_iter, change)
                if abs(change) < self.tol:
                    converged = True
                    break
            self._verbose_init_end(lower_bound, converged)
            if best is None or lower_bound > best[0]:
                best = (lower_bound, params, n_iter, lower_bounds, converged)

        lower_bound, params, n_iter, lower_bounds, converged = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, "
                "or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
            )
        self._set_params(params, X.dtype)
        self.converged_ = converged
        self.n_iter_ = n_iter
        self.lower_bound_ = lower_bound
        self.lower_bounds_ = lower_bounds
        # the labels of a final E-step, so that fit_predict(X) == fit(X).predict(X)
        return self.predict(X)

    def _initial_params(self, X, random_state, inits):
        """(weights, means, covariances, prec_chol), float64, as scikit-learn initialises them."""
        weights_init, means_init, precisions_init = inits
        n_samples = X.shape[0]
        weights = means = covariances = None
        if weights_init is None or means_init is None or precisions_init is None:
            resp = self._initial_resp(X, random_state)
            nk, means, covariances = _estimate_from_resp(X, resp, self.reg_covar, self.covariance_type)
            weights = nk / n_samples
        if weights_init is not None:
            weights = weights_init
        if means_init is not None:
            means = means_init
        if precisions_init is None:
            covariances, prec_chol = self._precision_cholesky(covariances)
        else:
            prec_chol = _prec_chol_from_precisions(precisions_init, self.covariance_type)
            covariances = _covariances_from_prec_chol(prec_chol, self.covariance_type)
        return weights, means, covariances, prec_chol

    def _initial_resp(self, X, random_state):
        n_samples, K = X.shape[0], self.n_components
        if self.init_params == "kmeans":
            labels = cluster.KMeans(n_clusters=K, n_init=1, random_state=random_state).fit(X).labels_
            resp = np.zeros((n_samples, K))
            resp[np.arange(n_samples), labels] = 1
        elif self.init_params == "random":
            resp = random_state.uniform(size=(n_samples, K)).astype(X.dtype).astype(np.float64)
            resp /= resp.sum(axis=1)[:, np.newaxis]
        elif self.init_params == "random_from_data":
            resp = np.zeros((n_samples, K))
            resp[random_state.choice(n_samples, size=K, replace=False), np.arange(K)] = 1
        else:  # k-means++
            _, indices = kmeans_plusplus(X, K, random_state=random_state)
            resp = np.zeros((n_samples, K))
            resp[indices, np.arange(K)] = 1
        return resp

    def _current_params(self):
        """The fitted parameters as float64 (warm start)."""
        return tuple(np.asarray(a, dtype=np.float64) for a in
                     (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_))

    def _kernel_params(self, weights, means, prec_chol, dtype):
        """means_t, prec_t (component index last, in X's dtype), full flag and bias: gmm.h's layout."""
        D, K, ct = means.shape[1], means.shape[0], self.covariance_type
        means_t = np.ascontiguousarray(means.T, dtype=dtype)
        if ct == "full":
            prec_t = np.moveaxis(prec_chol, 0, -1)
            log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
        elif ct == "tied":
            prec_t = np.broadcast_to(prec_chol[:, :, None], (D, D, K))
            log_det = np.full(K, np.log(np.diag(prec_chol)).sum())
        elif ct == "diag":
            prec_t = prec_chol.T
            log_det = np.log(prec_chol).sum(axis=1)
        else:
            prec_t = np.broadcast_to(prec_chol, (D, K))
            log_det = D * np.log(prec_chol)
        with np.errstate(divide="ignore"):  # a zero weight has log weight -inf
            bias = np.log(weights) + log_det - 0.5 * D * math.log(2 * math.pi)
        return means_t, np.ascontiguousarray(prec_t, dtype=dtype), ct in ("full", "tied"), bias

    def _e_step_stats(self, kernels, X, params):
        """(sum of log p(x), statistics, the float64 means they are centred on)."""
        weights, means, _, prec_chol = params
        means_t, prec_t, full, bias = self._kernel_params(weights, means, prec_chol, X.dtype)
        log_likelihood, *stats = kernels.em_pass(X, means_t, prec_t, full, bias)
        return log_likelihood, stats, means_t.T.astype(np.float64)

    def _m_step(self, stats, centre, dtype):
        n, s1, s2 = stats
        nk = n + 10 * np.finfo(dtype).eps
        means = (s1 + n[:, None] * centre) / nk[:, None]
        delta = means - centre
        ct, reg = self.covariance_type, self.reg_covar
        if ct in ("full", "tied"):
            cross = s1[:, :, None] * delta[:, None, :]
            scatter = s2 - cross - np.swapaxes(cross, 1, 2) + n[:, None, None] * delta[:, :, None] * delta[:, None, :]
            if ct == "full":
                covariances = scatter / nk[:, None, None]
            else:
                covariances = scatter.sum(axis=0) / nk.sum()
            covariances = covariances + reg * np.eye(centre.shape[1])
        else:
            covariances = (s2 - 2 * delta * s1 + n[:, None] * delta**2) / nk[:, None] + reg
            if ct == "spherical":
                covariances = covariances.mean(axis=1)
        covariances, prec_chol = self._precision_cholesky(covariances)
        return nk / nk.sum(), means, covariances, prec_chol

    def _precision_cholesky(self, covariances):
        """(covariances, prec_chol): the upper-triangular U with U U^T = inverse(cov); a
        covariance that is not positive definite gets reg_covar raised 10x at a time."""
        ct = self.covariance_type
        if ct in ("full", "tied"):
            matrices = covariances.reshape(-1, *covariances.shape[-2:]).copy()
            prec_chol = np.empty_like(matrices)
            for k, matrix in enumerate(matrices):
                matrices[k], lower = _cholesky_with_retry(matrix, self.reg_covar)
                prec_chol[k] = linalg.solve_triangular(lower, np.eye(len(lower)), lower=True).T
            return matrices.reshape(covariances.shape), prec_chol.reshape(covariances.shape)
        covariances = _positive_with_retry(covariances, self.reg_covar)
        return covariances, 1.0 / np.sqrt(covariances)

    def _set_params(self, params, dtype):
        weights, means, covariances, prec_chol = (np.asarray(a, dtype=dtype) for a in params)
        self.weights_, self.means_, self.covariances_ = weights, means, covariances
        self.precisions_cholesky_ = prec_chol
        if self.covariance_type == "full":
            self.precisions_ = prec_chol @ np.swapaxes(prec_chol, 1, 2)
        elif self.covariance_type == "tied":
            self.precisions_ = prec_chol @ prec_chol.T
        else:
            self.precisions_ = prec_chol**2

    # ------------------------------------------------------------ inference

    def _weighted_log_prob_chunks(self, X):
        """log(w_k N(x | mean_k, cov_k)) of X, float64, one chunk of rows at a time."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        kernels = _backend.resolve(self.backend, on_device=False).gmm
        params = self._kernel_params(*(np.asarray(a, dtype=np.float64) for a in
                                       (self.weights_, self.means_, self.precisions_cholesky_)), X.dtype)
        for start in range(0, X.shape[0], _ROWS_PER_CHUNK):
            yield X.dtype, kernels.weighted_log_prob(np.ascontiguousarray(X[start:start + _ROWS_PER_CHUNK]), *params)

    def score_samples(self, X):
        """Log-likelihood of each sample of X under the model."""
        parts = [(dtype, _logsumexp(wlp)) for dtype, wlp in self._weighted_log_prob_chunks(X)]
        return np.concatenate([p for _, p in parts]).astype(parts[0][0]) if parts else np.empty(0)

    def score(self, X, y=None):
        """Mean log-likelihood of the samples of X."""
        return float(np.mean(self.score_samples(X)))

    def predict(self, X):
        """The most probable component of each sample of X."""
        return np.concatenate([wlp.argmax(axis=1) for _, wlp in self._weighted_log_prob_chunks(X)])

    def predict_proba(self, X):
        """Posterior probability of each component for each sample of X, (n_samples, n_components)."""
        parts = []
        for dtype, wlp in self._weighted_log_prob_chunks(X):
            with np.errstate(under="ignore"):
                parts.append(np.exp(wlp - _logsumexp(wlp)[:, None]).astype(dtype))
        return np.concatenate(parts)

    def sample(self, n_samples=1):
        """Draw (X, labels) from the fitted mixture, with the draws of scikit-learn's `sample`."""
        check_is_fitted(self)
        if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
        n_features = self.means_.shape[1]
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        if self.covariance_type == "full":
            parts = [rng.multivariate_normal(m, c, int(n)) for m, c, n in zip(self.means_, self.covariances_, counts)]
        elif self.covariance_type == "tied":
            parts = [rng.multivariate_normal(m, self.covariances_, int(n)) for m, n in zip(self.means_, counts)]
        else:
            parts = [m + rng.standard_normal(size=(n, n_features)) * np.sqrt(c)
                     for m, c, n in zip(self.means_, self.covariances_, counts)]
        labels = np.concatenate([np.full(int(n), k, dtype=np.int64) for k, n in enumerate(counts)])
        return np.vstack(parts).astype(np.float64), labels

    def _n_parameters(self):
        D, K = self.means_.shape[1], self.n_components
        cov_params = {"full": K * D * (D + 1) / 2.0, "diag": K * D, "tied": D * (D + 1) / 2.0, "spherical": K}
        return int(cov_params[self.covariance_type] + D * K + K - 1)

    def bic(self, X):
        """Bayesian information criterion of the model on X (lower is better)."""
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * math.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion of the model on X (lower is better)."""
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()

    # ------------------------------------------------------------ verbose output, as scikit-learn

    def _verbose_init_begin(self, init):
        if self.verbose >= 1:
            print(f"Initialization {init}")
        if self.verbose >= 2:
            self._init_prev_time = self._iter_prev_time = time()

    def _verbose_iter_end(self, n_iter, change):
        if n_iter % self.verbose_interval != 0:
            return
        if self.verbose == 1:
            print(f"  Iteration {n_iter}")
        elif self.verbose >= 2:
            now = time()
            print(f"  Iteration {n_iter}\t time lapse {now - self._iter_prev_time:.5f}s\t ll change {change:.5f}")
            self._iter_prev_time = now

    def _verbose_init_end(self, lower_bound, converged):
        message = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {message}.")
        elif self.verbose >= 2:
            print(f"Initialization {message}. time lapse {time() - self._init_prev_time:.5f}s\t "
                  f"lower bound {lower_bound:.5f}.")


# ---------------------------------------------------------------- float64 helpers


def _logsumexp(a):
    top = a.max(axis=1)
    with np.errstate(under="ignore", divide="ignore"):
        return top + np.log(np.exp(a - top[:, None]).sum(axis=1))


def _estimate_from_resp(X, resp, reg_covar, covariance_type):
    """(nk, means, covariances) from explicit responsibilities (the initialisation), in float64.

    Full, diag, spherical: sums centred on the new means. Tied: scikit-learn's
    (X^T X - sum_k nk mean_k mean_k^T) / sum(nk), which takes all of X even when the
    responsibilities cover only K points (random_from_data, k-means++), evaluated around
    the mean c of X: (X - c)^T (X - c) - sum_k nk e_k e_k^T - c s^T - s c^T + (N - sum nk) c c^T
    with e_k = mean_k - c and s = sum_k nk e_k (0 when each row of resp sums to 1)."""
    nk = resp.sum(axis=0) + 10 * np.finfo(X.dtype).eps
    X = X.astype(np.float64, copy=False)
    means = resp.T @ X / nk[:, None]
    D = X.shape[1]
    if covariance_type == "full":
        scatter = np.empty((len(nk), D, D))
        for k in range(len(nk)):
            diff = X - means[k]
            scatter[k] = (resp[:, k] * diff.T) @ diff
        return nk, means, scatter / nk[:, None, None] + reg_covar * np.eye(D)
    if covariance_type == "tied":
        c = X.mean(axis=0)
        e = means - c
        s = nk @ e
        scatter = (X - c).T @ (X - c) - (nk * e.T) @ e - np.outer(c, s) - np.outer(s, c)
        scatter += (X.shape[0] - nk.sum()) * np.outer(c, c)
        return nk, means, scatter / nk.sum() + reg_covar * np.eye(D)
    variances = np.stack([resp[:, k] @ (X - means[k]) ** 2 for k in range(len(nk))]) / nk[:, None] + reg_covar
    return nk, means, variances.mean(axis=1) if covariance_type == "spherical" else variances


def _raised_reg(reg_covar, scale):
    """The first reg_covar of the retries: 10x the given one, at least 1e-10 of the data's scale."""
    return max(10 * reg_covar, 1e-10 * max(scale, np.finfo(np.float64).tiny))


def _cholesky_with_retry(matrix, reg_covar):
    """(matrix, its lower Cholesky factor); when `matrix` is not positive definite, reg_covar
    is raised 10x at a time (added to the diagonal, with a warning) until it is."""
    try:
        return matrix, linalg.cholesky(matrix, lower=True)
    except linalg.LinAlgError:
        pass
    extra = _raised_reg(reg_covar, float(np.abs(np.diag(matrix)).mean()))
    for _ in range(_RETRIES):
        candidate = matrix + (extra - reg_covar) * np.eye(len(matrix))
        try:
            lower = linalg.cholesky(candidate, lower=True)
        except linalg.LinAlgError:
            extra *= 10
            continue
        warnings.warn(f"a covariance was not positive definite with reg_covar={reg_covar:.3g}; "
                      f"fitted with reg_covar={extra:.3g} for it", RuntimeWarning)
        return candidate, lower
    raise ValueError(_ILL_DEFINED.format(reg=extra))


def _positive_with_retry(variances, reg_covar):
    """Diagonal or spherical variances, those <= 0 raised as in _cholesky_with_retry."""
    bad = ~(variances > 0)
    if not bad.any():
        return variances
    extra = _raised_reg(reg_covar, float(np.abs(variances).mean()))
    variances = variances.copy()
    for _ in range(_RETRIES):
        candidate = variances[bad] + (extra - reg_covar)
        if (candidate > 0).all():
            variances[bad] = candidate
            warnings.warn(f"a variance was not positive with reg_covar={reg_covar:.3g}; "
                          f"fitted with reg_covar={extra:.3g} for it", RuntimeWarning)
            return variances
        extra *= 10
    raise ValueError(_ILL_DEFINED.format(reg=extra))


def _flip(a):
    return a[..., ::-1, ::-1]


def _prec_chol_from_precisions(precisions, covariance_type):
    """Upper-triangular U with U U^T = precision, as scikit-learn: cholesky of the flipped matrix, flipped back."""
    if covariance_type in ("full", "tied"):
        return _flip(np.linalg.cholesky(_flip(precisions))).copy()
    return np.sqrt(precisions)


def _covariances_from_prec_chol(prec_chol, covariance_type):
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(prec_chol @ np.swapaxes(prec_chol, -1, -2))
    return 1.0 / prec_chol**2
