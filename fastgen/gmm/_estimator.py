"""fastgen.GaussianMixture: scikit-learn's GaussianMixture (a subclass of it) whose EM iterations
run on fastgen's fused E-step (log densities, log-sum-exp and sufficient statistics in one pass,
never an N x K responsibility matrix; csrc/include/fastgen/gmm.h and fastgen/gmm/_kernels.py).

What is overridden, and why (scikit-learn's BaseMixture.fit_predict runs the loop: validation,
_check_parameters, n_init x (_initialize_parameters, max_iter x (_e_step, _m_step,
_compute_lower_bound)), the convergence warning, _set_parameters and a final _e_step whose
argmax(axis=1) are the labels):

- fit / fit_predict take `sample_weight`, and make the fit all-or-nothing;
- _check_parameters validates sample_weight and picks the kernels (a fit of non-NumPy arrays
  under array_api_dispatch runs scikit-learn's own code instead);
- _e_step, inside a fastgen fit, is one fused `em_pass`: it returns the mean log-likelihood
  (the lower bound, as scikit-learn's) and the float64 statistics centred on the current means,
  which _m_step turns into parameters in float64 (never E[x^2] - E[x]^2):
      s1_k = sum w r (x - mu_k),  s2_k = sum w r (x - mu_k)(x - mu_k)^T,  n_k = sum w r,
      mean_k = (s1_k + n_k mu_k) / nk_k,  delta = mean_k - mu_k (small),
      nk_k cov_k = s2_k - s1_k delta^T - delta s1_k^T + n_k delta delta^T  (nk = n + 10 eps);
  the precisions' Cholesky factors (and the error on an ill-defined covariance) are
  scikit-learn's _compute_precision_cholesky;
- _set_parameters casts the float64 parameters to X's dtype, and the _e_step after it (the
  labels of fit_predict) is one fused pass (score_rows) that keeps each row's argmax only;
- _initialize_parameters / _initialize: fastgen's k-means for init_params="kmeans"
  (fastgen/gmm/_kmeans.py), sample weights in the initialisation, and the initial parameters
  from responsibilities (or the k-means labels) in float64, centred, like the M-step;
- score_samples, predict, predict_proba: one fused pass of the kernels (score_rows: log densities,
  log-sum-exp, labels or responsibilities), no N x K array but predict_proba's result; score,
  bic and aic call score_samples.
"""
from __future__ import annotations

import copy
import math
import typing
import warnings

import numpy as np
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as _SkGaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils._array_api import get_namespace
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .. import _backend
from .._blas import one_blas_thread
from .._dask import check_row_blocks, check_row_weights, is_dask_array
from .._estimator import BACKEND_CONSTRAINT, public
from .._progress import OFF
from .._progress import bar as progress_bar
from . import _kmeans

# scikit-learn's nk = sum(resp) + 10 eps, which keeps an empty component's mean finite. Its eps is
# that of X's dtype, the dtype it computes in; fastgen computes in float64 whatever X's dtype, so
# its eps is float64's (float32's, 1.2e-6, would shrink a one-point component's mean by that
# much: 0.012 at 1e4, a spurious variance of 1.4e-4).
_NK_GUARD = 10 * np.finfo(np.float64).eps
# Rows of a Dask X that the initialisation gathers to the client and runs on (all rows, and
# then the in-memory fit's initialisation exactly, when X has no more): 100,000 rows of 16
# float64 features are 12.8 MB, and k-means on them takes about a second.
_DASK_INIT_ROWS = 100_000


class _FusedFit:
    """What one fastgen fit (fit / fit_predict on NumPy data) carries between scikit-learn's steps."""

    def __init__(self, sample_weight, labels_wanted=True):
        self.sample_weight = sample_weight  # as given; (N,) float64 once _check_parameters has validated it
        self.labels_wanted = labels_wanted  # False for fit, which discards fit_predict's labels
        self.kernels = None
        self.dtype = None  # X's: the fitted attributes' dtype
        self.X = None  # X as scikit-learn validated it, and its C-contiguous copy for the kernels
        self.X_c = None
        self.total_weight = None  # N, or sum(sample_weight): the lower bound is the log-likelihood over it
        self.labels_next = False  # set by _set_parameters: the next _e_step is fit_predict's labels
        self.bar = OFF  # ticked after each EM iteration (fastgen._progress)


class _Statistics:
    """The fused E-step's result, passed by scikit-learn's loop from _e_step to _m_step where
    scikit-learn passes the (N, K) log responsibilities: float64 nk (K,), s1 (K, D), s2 (K, D, D)
    or (K, D), centred on `centre` (K, D), the means the kernel used."""

    def __init__(self, nk, s1, s2, centre):
        self.nk, self.s1, self.s2, self.centre = nk, s1, s2, centre


class _HardLabels:
    """What fastgen's k-means initialisation gives _initialize in place of scikit-learn's (N, K)
    one-hot responsibilities: the cluster of each row, (N,) int64."""

    def __init__(self, labels):
        self.labels = labels


class _Labels:
    """What the final E-step of a fastgen fit gives scikit-learn's fit_predict in place of the
    (N, K) log responsibilities, of which it takes only argmax(axis=1): that argmax."""

    def __init__(self, labels):
        self.labels = labels

    def argmax(self, axis=None, out=None, **kwargs):
        if axis not in (1, -1) or out is not None or kwargs.get("keepdims"):
            raise ValueError("the labels pass of a fastgen fit gives argmax(axis=1) only")
        return self.labels


@public
class GaussianMixture(_SkGaussianMixture):
    """Gaussian mixture fitted by EM: scikit-learn's `sklearn.mixture.GaussianMixture` (this class
    is a subclass of it: the same parameters, defaults, validation, initialisation, messages,
    methods and fitted attributes) whose EM iterations run on fastgen's fused kernels.

    How it differs from scikit-learn's GaussianMixture, exactly:

    backend : "cpu", "numba", "cuda" or None (the current default), a parameter scikit-learn's
        lacks. Data and fitted attributes are NumPy arrays; with "cuda" the E-step runs on the GPU.

    init_params="kmeans" (the default): the k-means is fastgen's own (fastgen/gmm/_kmeans.py),
        not scikit-learn's KMeans, which took most of a diagonal fit's time. The same algorithm
        as KMeans(n_clusters, n_init=1, random_state=random_state): greedy k-means++ seeds,
        Lloyd iterations to KMeans's convergence test, empty clusters relocated as KMeans
        relocates them, and the same draws from random_state (random_state.choice for the first
        seed, random_state.uniform for the 2 + int(log n_components) candidates of each next
        one); computed in float64 on fused kernels, where KMeans computes in X's dtype. So the
        labels (and the fit) are scikit-learn's unless rounding decides a pick: as a rule on
        float64 data (tested), while on float32 data the two k-means can part ways, to
        clusterings of equal quality (inertia tested within 1%). The labels become one-hot
        responsibilities, as scikit-learn's.

    fit(X, y=None, sample_weight=None), fit_predict(X, y=None, sample_weight=None): sample
        weights, which scikit-learn's lacks (its issue #15647). A row of weight w counts as w
        copies of itself in every EM statistic and in the lower bound (sum w log p / sum w);
        integer weights give the statistics of the data with rows repeated. Weights must be
        finite, non-negative, with at least n_components of them positive. The initialisation
        uses them too: "kmeans" runs its k-means (below) with sample_weight and weighs the
        rows of each cluster; "random" draws scikit-learn's random responsibilities and weighs
        them; "k-means++" (kmeans_plusplus with sample_weight) and "random_from_data" (rows
        drawn with probability proportional to their weights, unless the weights are all equal:
        then scikit-learn's draws) pick one row per component, which counts once, as one copy
        of the row would. So with "kmeans" and "k-means++" integer weights give the fit of the
        data with rows repeated (same draws; the rows in the same order); with "random" and
        "random_from_data" the draws differ. Without sample_weight, or with weights all 1, a
        fit is the unweighted one exactly.

    Numerics. Each EM iteration is one fused pass over X (log densities, log-sum-exp,
    responsibilities and their sufficient statistics), with no N x K responsibility matrix;
    the labels fit_predict returns come from a final fused pass that keeps only each row's
    most probable component (fit, which has no use for them, skips that pass; scikit-learn's
    fit makes it). The statistics are accumulated in float64, centred on the current means,
    and the M-step (and the initial parameters computed from responsibilities) are computed in
    float64 from them, whatever X's dtype: float32 data get no negative or NaN variances from cancellation
    (scikit-learn's issue #30382), where scikit-learn computes in X's dtype with E[x^2] -
    E[x]^2 for "diag", "spherical" and "tied"; scikit-learn's guard nk = sum(resp) + 10 eps
    takes float64's eps accordingly. The log densities are evaluated in X's dtype, as
    scikit-learn's. The fitted attributes are cast to X's dtype at the end, as scikit-learn's
    have it, and lower_bound_ / lower_bounds_ are float64 whatever X's dtype. So on float64
    data the fit is scikit-learn's up to rounding (the tests hold it to 1e-6 relative from the
    same initial parameters); on float32 data scikit-learn's is the less accurate.

    Also: a failed fit (invalid input, an ill-defined covariance, ...) leaves the estimator
    as it was, fitted or not (scikit-learn's leaves it half-updated); with max_iter=0 and
    precisions_init given, covariances_ is set from precisions_init (scikit-learn's raises
    AttributeError); score_samples, predict and predict_proba (and so score, bic, aic) are
    one fused pass over X each (log densities, log-sum-exp, labels or responsibilities per
    row), whose only N x K array is predict_proba's result, in X's dtype; its responsibilities
    are the fit's (exactly 0 below e^-500, where scikit-learn's are below 1e-217 anyway), and
    where a row has zero density under every component (its log-likelihood -inf in X's dtype)
    predict_proba raises ValueError (scikit-learn's returns NaN rows).

    Dask arrays (the extra fastgen[dask]): fit, fit_predict, predict, predict_proba,
        score_samples, score, bic and aic take a Dask X (rows chunked, features in one chunk:
        rechunked if split; chunk sizes known), and fit a Dask or NumPy sample_weight aligned
        with its rows. Each EM iteration runs the fused E-step on every chunk where it lives
        and brings back only the chunks' summed statistics; the n_init restarts iterate
        together (fastgen/gmm/_dask.py). From the same initial parameters the fit is the
        in-memory one up to the order of the float64 sums. The initialisation is the
        in-memory one run on the rows of X gathered to the client: all of them when X has at
        most 100,000 rows (the in-memory fit's initialisation, the same draws), else about
        100,000 drawn uniformly. Predictions are lazy Dask arrays; score, bic and aic are
        floats. Persist X on the cluster first where it fits: an unpersisted X is read again
        from its source by every iteration.

    Private API: inside a fit on NumPy data, `_e_step` returns (mean log-likelihood, the
    fused pass's statistics) instead of (mean log-likelihood, log responsibilities), and
    `_m_step` takes those statistics; scikit-learn's `_estimate_gaussian_parameters` is not
    called; the final `_e_step`, after `_set_parameters`, returns (nan, an object whose
    argmax(axis=1) is the labels, None in `fit`). Outside a fit, and for fits of non-NumPy arrays under scikit-learn's
    array_api_dispatch (scikit-learn's own code then runs, without sample_weight), every
    private method is scikit-learn's.
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
        super().__init__(
            n_components=n_components,
            covariance_type=covariance_type,
            tol=tol,
            reg_covar=reg_covar,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            weights_init=weights_init,
            means_init=means_init,
            precisions_init=precisions_init,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            verbose_interval=verbose_interval,
        )
        self.backend = backend

    # ------------------------------------------------------------ fitting: scikit-learn's loop

    def fit(self, X, y=None, sample_weight=None, *, progress=False):
        """Estimate the parameters with the EM algorithm (scikit-learn's GaussianMixture.fit).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows of X (None: all 1); see the class docstring.
        progress : bool, default=False
            Show a bar of the EM iterations (its total, n_init * max_iter, is the most
            there can be: a fit that converges stops short of it).
        """
        self._fit(X, y, sample_weight, progress, labels_wanted=False)
        return self

    def fit_predict(self, X, y=None, sample_weight=None, *, progress=False):
        """Fit as `fit`, then return the component label of each row of X
        (scikit-learn's GaussianMixture.fit_predict, plus `sample_weight` and `progress`)."""
        return self._fit(X, y, sample_weight, progress, labels_wanted=True)

    def _fit(self, X, y, sample_weight, progress, labels_wanted):
        """scikit-learn's fit_predict, all or nothing; on NumPy data its final pass labels the rows
        only when `labels_wanted` (fit discards them: a third of an EM iteration's work saved)."""
        self._validate_params()  # n_init and max_iter are numbers before the bar counts with them
        saved = dict(self.__dict__)
        try:
            if is_dask_array(X):
                labels = self._fit_dask(X, sample_weight, progress)
            else:
                self._fused = _FusedFit(sample_weight, labels_wanted)
                # BLAS on one thread during the fit: between fastgen's passes scikit-learn's M-step
                # makes only small BLAS/LAPACK calls (K Choleskys and triangular solves of D x D),
                # and OpenBLAS's threads spin after each call, taking the cores from the next pass's
                # OpenMP team (measured, full f64, N 200k, D 16, K 32, 2 cores: 112 ms an EM
                # iteration with OpenBLAS on 2 threads, 69 ms on one).
                with one_blas_thread, \
                        progress_bar(progress, self.n_init * self.max_iter, type(self).__name__, unit="iteration") as bar:
                    self._fused.bar = bar
                    labels = super().fit_predict(X, y)
            _check_fitted_finite(self)
            return labels
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        finally:
            self.__dict__.pop("_fused", None)

    # ------------------------------------------------------------ fitting a Dask array

    def _fit_dask(self, X, sample_weight, progress):
        """fit_predict of a Dask X: scikit-learn's loop (fit_predict of BaseMixture) with the
        restarts advancing together and each E-step run on X's chunks (fastgen/gmm/_dask.py);
        the initialisation is the in-memory one on a row sample of X (_DASK_INIT_ROWS).
        Returns the lazy labels."""
        from . import _dask

        self._validate_params()
        X = check_row_blocks("X", X)
        n_samples, n_features = X.shape
        if n_samples < max(2, self.n_components):
            raise ValueError(f"Expected n_samples >= n_components and at least 2 samples but got "
                             f"n_components = {self.n_components}, n_samples = {n_samples}")
        weights = None if sample_weight is None else check_row_weights("sample_weight", sample_weight, X)
        xp, _ = get_namespace(np.empty(0))  # scikit-learn's namespace of NumPy arrays: the client's parameters
        self._check_parameters(X, xp=xp)  # the *_init arrays and a warm start's features, against X's shape
        backend = _dask.backend_name(self.backend)
        total_weight = float(n_samples)
        if weights is not None:
            total_weight, n_positive = _dask.weight_summary(weights)
            if n_positive < self.n_components:
                raise ValueError(f"sample_weight must have at least n_components={self.n_components} positive "
                                 f"entries, got {n_positive}")

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        random_state = check_random_state(self.random_state)
        runs = []
        if do_init:
            rows, row_weights = _dask.row_sample(X, weights, _DASK_INIT_ROWS, random_state)
            # scikit-learn's KMeans, the former default init, checked this; fastgen's k-means takes X as it is
            assert_all_finite(rows, input_name="X")
            for init in range(self.n_init):
                run = copy.copy(self)
                run._print_verbose_msg_init_beg(init)
                run._fused = _FusedFit(row_weights)
                run._check_parameters(rows, xp=xp)
                run._initialize_parameters(rows, random_state, xp=xp)
                del run._fused
                runs.append(run)
        else:
            runs.append(copy.copy(self))
        lower_bounds = [-np.inf if do_init else self.lower_bound_] * len(runs)
        history = [[] for _ in runs]
        converged = [False] * len(runs)
        n_iter = [0] * len(runs)
        iterating = list(range(len(runs))) if self.max_iter > 0 else []
        with progress_bar(progress, self.max_iter, type(self).__name__, unit="iteration") as bar:
            for iteration in range(1, self.max_iter + 1):
                if not iterating:
                    break
                params = [runs[r]._kernel_params(X.dtype) for r in iterating]
                for r, p, (log_likelihood, nk, s1, s2) in zip(iterating, params,
                                                              _dask.em_statistics(X, weights, backend, params)):
                    runs[r]._m_step(X, _Statistics(nk, s1, s2, p[0].T.astype(np.float64)))
                    previous, lower_bounds[r] = lower_bounds[r], log_likelihood / total_weight
                    history[r].append(np.float64(lower_bounds[r]))
                    n_iter[r] = iteration
                    runs[r]._print_verbose_msg_iter_end(iteration, lower_bounds[r] - previous)
                    converged[r] = abs(lower_bounds[r] - previous) < self.tol
                iterating = [r for r in iterating if not converged[r] and iteration < self.max_iter]
                for r in range(len(runs)):
                    if r not in iterating and n_iter[r] == iteration:
                        runs[r]._print_verbose_msg_init_end(lower_bounds[r], converged[r])
                bar.update()  # the restarts advance together: one tick per iteration

        best, max_lower_bound = len(runs) - 1, -np.inf  # max_iter=0: the last initialisation, as scikit-learn's
        if self.max_iter > 0:
            for r in range(len(runs)):  # scikit-learn's choice: the first of the highest lower bounds
                if lower_bounds[r] > max_lower_bound or max_lower_bound == -np.inf:
                    best, max_lower_bound = r, lower_bounds[r]
        self.converged_ = converged[best]
        if not self.converged_ and self.max_iter > 0:
            warnings.warn("Best performing initialization did not converge. Try different init parameters, or "
                          "increase max_iter, tol, or check for degenerate data.", ConvergenceWarning)
        self._set_parameters(tuple(np.asarray(p, dtype=X.dtype) for p in runs[best]._get_parameters()))
        self.n_iter_ = n_iter[best]
        self.lower_bound_ = max_lower_bound
        self.lower_bounds_ = history[best]
        self.n_features_in_ = n_features
        self.__dict__.pop("feature_names_in_", None)
        return self.predict(X)

    def _print_verbose_msg_iter_end(self, n_iter, diff_ll):
        super()._print_verbose_msg_iter_end(n_iter, diff_ll)
        fused = self._fused_fit()
        if fused is not None:
            fused.bar.update()

    def _fused_fit(self):
        """The state of the fastgen fit in progress, or None (no fit, or scikit-learn's own code)."""
        return self.__dict__.get("_fused")

    def _check_parameters(self, X, **kwargs):
        super()._check_parameters(X, **kwargs)
        if self.warm_start and hasattr(self, "converged_") and self.means_.shape[1] != X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, but this warm-started GaussianMixture was fitted on "
                             f"{self.means_.shape[1]}: refit with warm_start=False")
        fused = self._fused_fit()
        if fused is None:
            return
        if not isinstance(X, np.ndarray):  # array_api_dispatch with another namespace's array
            if fused.sample_weight is not None:
                raise ValueError("sample_weight is supported for NumPy X only (not under array_api_dispatch "
                                 f"with {type(X).__module__} arrays)")
            self._fused = None
            return
        fused.kernels = _backend.resolve(self.backend, on_device=False).gmm
        fused.dtype = X.dtype
        fused.X, fused.X_c = X, np.ascontiguousarray(X)
        if fused.sample_weight is None:
            fused.total_weight = float(X.shape[0])
            return
        weights = _check_sample_weight(fused.sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        n_positive = int(np.count_nonzero(weights))
        if n_positive < self.n_components:
            raise ValueError(f"sample_weight must have at least n_components={self.n_components} positive "
                             f"entries, got {n_positive}")
        fused.sample_weight = np.ascontiguousarray(weights)
        fused.total_weight = float(weights.sum())

    def _initialize_parameters(self, X, random_state, **kwargs):
        fused = self._fused_fit()
        if fused is None:
            return super()._initialize_parameters(X, random_state, **kwargs)
        if self.weights_init is not None and self.means_init is not None and self.precisions_init is not None:
            return self._initialize(X, None, **kwargs)
        weights = fused.sample_weight
        init = self.init_params
        n_samples, K = X.shape[0], self.n_components
        if init == "kmeans":  # fastgen's k-means in place of scikit-learn's KMeans (fastgen/gmm/_kmeans.py)
            X_c = fused.X_c if X is fused.X else np.ascontiguousarray(X)
            labels = _kmeans.kmeans_labels(fused.kernels, X_c, weights, K, random_state)
            return self._initialize(X, _HardLabels(labels), **kwargs)
        if weights is None or init == "random" or (init == "random_from_data" and np.all(weights == weights[0])):
            # scikit-learn's draws; _initialize weighs the responsibilities
            return super()._initialize_parameters(X, random_state, **kwargs)
        resp = np.zeros((n_samples, K))
        if init == "k-means++":
            _, indices = kmeans_plusplus(X, K, random_state=random_state, sample_weight=weights)
            resp[indices, np.arange(K)] = 1
        else:  # random_from_data, rows drawn in proportion to their weights
            indices = random_state.choice(n_samples, size=K, replace=False, p=weights / weights.sum())
            resp[indices, np.arange(K)] = 1
        return self._initialize(X, resp, **kwargs)

    def _initialize(self, X, resp, **kwargs):
        fused = self._fused_fit()
        if fused is None:
            return super()._initialize(X, resp, **kwargs)
        ct = self.covariance_type
        weights = means = covariances = None
        if resp is not None:
            # "kmeans" and "random" give every row responsibilities, which its weight multiplies;
            # "k-means++" and "random_from_data" pick one row per component (as one copy of it)
            if isinstance(resp, _HardLabels):
                nk, means, covariances = _estimate_from_labels(X, resp.labels, self.n_components, fused.sample_weight,
                                                               self.reg_covar, ct)
            else:
                picks = self.init_params in ("k-means++", "random_from_data")
                row_weights = None if picks else fused.sample_weight
                nk, means, covariances = _estimate_from_resp(X, resp, row_weights, fused.sample_weight,
                                                             self.reg_covar, ct)
            weights = nk / fused.total_weight
        self.weights_ = weights if self.weights_init is None else np.asarray(self.weights_init, dtype=np.float64)
        self.means_ = means if self.means_init is None else np.asarray(self.means_init, dtype=np.float64)
        if self.precisions_init is None:
            self.covariances_ = covariances
            self.precisions_cholesky_ = _compute_precision_cholesky(covariances, ct)
        else:
            self.precisions_cholesky_ = _prec_chol_from_precisions(np.asarray(self.precisions_init, np.float64), ct)
            self.covariances_ = _covariances_from_prec_chol(self.precisions_cholesky_, ct)

    def _e_step(self, X, **kwargs):
        fused = self._fused_fit()
        if fused is None:
            return super()._e_step(X, **kwargs)
        X_c = fused.X_c if X is fused.X else np.ascontiguousarray(X)
        if fused.labels_next:  # fit_predict's final E-step: the labels only (fit: none)
            return math.nan, _Labels(self._labels(X_c, fused.kernels) if fused.labels_wanted else None)
        means_t, prec_t, full, bias = self._kernel_params(X.dtype)
        log_likelihood, nk, s1, s2 = fused.kernels.em_pass(X_c, means_t, prec_t, full, bias, fused.sample_weight)
        return np.float64(log_likelihood / fused.total_weight), _Statistics(nk, s1, s2, means_t.T.astype(np.float64))

    def _m_step(self, X, log_resp, **kwargs):
        if not isinstance(log_resp, _Statistics):
            return super()._m_step(X, log_resp, **kwargs)
        weights, means, covariances = _estimate_from_statistics(log_resp, self.reg_covar, self.covariance_type)
        self.weights_, self.means_, self.covariances_ = weights, means, covariances
        self.precisions_cholesky_ = _compute_precision_cholesky(covariances, self.covariance_type)

    def _set_parameters(self, params, **kwargs):
        fused = self._fused_fit()
        if fused is not None:
            with np.errstate(over="ignore"):  # parameters beyond X's dtype become inf: _check_fitted_finite refuses them
                params = tuple(np.asarray(p, dtype=fused.dtype) for p in params)
            fused.labels_next = True
        super()._set_parameters(params, **kwargs)

    # ------------------------------------------------------------ the kernels' log densities

    def _kernel_params(self, dtype):
        """means_t, prec_t (component index last, in X's dtype), full flag and bias (gmm.h's layout)
        of the current parameters."""
        weights, means, prec_chol = (np.asarray(a, dtype=np.float64) for a in
                                     (self.weights_, self.means_, self.precisions_cholesky_))
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

    def _scores(self, X, kernels, labels=False, proba=False):
        """(log p(x) (N,) float64, labels or None, responsibilities or None) of the rows of X
        (NumPy) in one fused pass of the kernels (score_rows): no N x K array but the
        responsibilities, written once in X's dtype."""
        return kernels.score_rows(np.ascontiguousarray(X), *self._kernel_params(X.dtype), labels=labels, proba=proba)

    def _labels(self, X, kernels):
        return self._scores(X, kernels, labels=True)[1].astype(np.intp, copy=False)

    def _validated(self, X):
        """X checked as scikit-learn's score_samples / predict check it, and whether the kernels take it."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        if not isinstance(X, np.ndarray):  # array_api_dispatch with another namespace's array
            return X, False
        return (X if X.dtype in (np.float32, np.float64) else X.astype(np.float64)), True

    def _kernels(self):
        return _backend.resolve(self.backend, on_device=False).gmm

    def _map_dask(self, X, method, dtype=None, n_columns=None):
        """`method` of a copy of this fitted model on each row chunk of the Dask array X, lazily."""
        from . import _dask

        check_is_fitted(self)
        X = check_row_blocks("X", X)
        if X.shape[1] != self.means_.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.means_.shape[1]} features as input.")
        return _dask.map_rows(X, copy.copy(self), method, X.dtype if dtype is None else dtype, n_columns)

    def score(self, X, y=None):
        """Mean log-likelihood of the samples of X (scikit-learn's score); a float, computed, for a Dask X too."""
        if is_dask_array(X):
            return float(self.score_samples(X).mean().compute())
        return super().score(X, y)

    def score_samples(self, X):
        """Log-likelihood of each sample of X under the model (scikit-learn's score_samples);
        a lazy Dask array for a Dask X."""
        if is_dask_array(X):
            return self._map_dask(X, "score_samples")
        X, ours = self._validated(X)
        if not ours:
            return super().score_samples(X)
        return self._scores(X, self._kernels())[0].astype(X.dtype)

    def predict(self, X):
        """The most probable component of each sample of X (scikit-learn's predict); lazy for a Dask X."""
        if is_dask_array(X):
            return self._map_dask(X, "predict", dtype=np.intp)
        X, ours = self._validated(X)
        return self._labels(X, self._kernels()) if ours else super().predict(X)

    def predict_proba(self, X):
        """Posterior probability of each component for each sample of X (scikit-learn's predict_proba);
        lazy for a Dask X."""
        if is_dask_array(X):
            return self._map_dask(X, "predict_proba", n_columns=self.n_components)
        X, ours = self._validated(X)
        if not ours:
            return super().predict_proba(X)
        log_norm, _, proba = self._scores(X, self._kernels(), proba=True)
        zero = np.flatnonzero(log_norm == -np.inf)
        if zero.size:  # scikit-learn's would be NaN rows
            raise ValueError(f"X has {zero.size} row(s) of zero density under every component (log-likelihood "
                             f"-inf in {X.dtype}; the first is row {zero[0]}): their component probabilities are "
                             f"undefined")
        return proba


# ---------------------------------------------------------------- float64 helpers


def _check_fitted_finite(model):
    """A fit whose parameters overflowed X's dtype (float32 data of a huge scale) is an error,
    not a model with infinite covariances."""
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        value = np.asarray(getattr(model, name))
        if not np.isfinite(value).all():
            raise ValueError(f"the fitted {name} are not finite in {value.dtype}: X's scale overflows it (its "
                             f"squares reach {np.finfo(value.dtype).max:.3g}); rescale X or fit it in float64")


def _estimate_from_statistics(stats, reg_covar, covariance_type):
    """(weights, means, covariances) in float64 from the fused pass's centred statistics (the
    M-step; the formulas are in the module docstring)."""
    n, s1, s2, centre = stats.nk, stats.s1, stats.s2, stats.centre
    nk = n + _NK_GUARD
    means = (s1 + n[:, None] * centre) / nk[:, None]
    delta = means - centre
    if covariance_type in ("full", "tied"):
        cross = s1[:, :, None] * delta[:, None, :]
        scatter = s2 - cross - np.swapaxes(cross, 1, 2) + n[:, None, None] * delta[:, :, None] * delta[:, None, :]
        covariances = scatter / nk[:, None, None] if covariance_type == "full" else scatter.sum(axis=0) / nk.sum()
        covariances = covariances + reg_covar * np.eye(centre.shape[1])
    else:
        covariances = (s2 - 2 * delta * s1 + n[:, None] * delta**2) / nk[:, None] + reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    return nk / nk.sum(), means, covariances


def _estimate_from_resp(X, resp, resp_weight, sample_weight, reg_covar, covariance_type):
    """(nk, means, covariances) from explicit responsibilities (the initialisation), in float64:
    the responsibilities of each row times resp_weight (None: 1), and the rows of X counted
    sample_weight times (None: once) where all of X is used (tied).

    Full, diag, spherical: sums centred on the new means. Tied: scikit-learn's
    (X^T W X - sum_k nk mean_k mean_k^T) / sum(nk), which takes all of X even when the
    responsibilities cover only K points (random_from_data, k-means++), evaluated around
    the weighted mean c of X: (X - c)^T W (X - c) - sum_k nk e_k e_k^T - c s^T - s c^T +
    (sum W - sum nk) c c^T with e_k = mean_k - c and s = sum_k nk e_k (0 when each row of
    resp sums to 1)."""
    X = X.astype(np.float64, copy=False)
    resp = np.asarray(resp, dtype=np.float64)
    w = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    if resp_weight is not None:
        resp = resp * resp_weight[:, None]
    nk = resp.sum(axis=0) + _NK_GUARD
    means = resp.T @ X / nk[:, None]
    if covariance_type == "tied":
        c = w @ X / w.sum()
        e = means - c
        s = nk @ e
        centred = X - c
        scatter = (w * centred.T) @ centred - (nk * e.T) @ e - np.outer(c, s) - np.outer(s, c)
        scatter += (w.sum() - nk.sum()) * np.outer(c, c)
        return nk, means, scatter / nk.sum() + reg_covar * np.eye(X.shape[1])
    parts = [_component_rows(resp, X, k) for k in range(len(nk))]
    return nk, means, _covariances_from_parts(parts, means, nk, reg_covar, covariance_type)


def _estimate_from_labels(X, labels, n_components, sample_weight, reg_covar, covariance_type):
    """(nk, means, covariances) of hard assignments (the k-means initialisation): those of
    _estimate_from_resp with one-hot responsibilities times sample_weight, each cluster's rows
    gathered once (a stable sort of the labels: the rows in X's order) instead of an (N, K)
    matrix of responsibilities (which took longer than fastgen's k-means itself)."""
    if covariance_type == "tied":  # takes all of X anyway
        resp = np.zeros((len(labels), n_components))
        resp[np.arange(len(labels)), labels] = 1
        return _estimate_from_resp(X, resp, sample_weight, sample_weight, reg_covar, covariance_type)
    X = X.astype(np.float64, copy=False)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_components + 1))
    parts = []
    for k in range(n_components):
        rows = order[bounds[k]:bounds[k + 1]]
        parts.append((np.ones(len(rows)) if sample_weight is None else sample_weight[rows], X[rows]))
    nk = np.array([r.sum() for r, _ in parts]) + _NK_GUARD
    means = np.stack([r @ rows for r, rows in parts]) / nk[:, None]
    return nk, means, _covariances_from_parts(parts, means, nk, reg_covar, covariance_type)


def _covariances_from_parts(parts, means, nk, reg_covar, covariance_type):
    """Full, diag or spherical covariances from each component's (responsibilities, rows),
    centred on its mean."""
    D = means.shape[1]
    if covariance_type == "full":
        scatter = np.empty((len(nk), D, D))
        for k, (r, rows) in enumerate(parts):
            diff = rows - means[k]
            scatter[k] = (r * diff.T) @ diff
        return scatter / nk[:, None, None] + reg_covar * np.eye(D)
    variances = np.stack([r @ (rows - means[k]) ** 2 for k, (r, rows) in enumerate(parts)]) / nk[:, None] + reg_covar
    return variances.mean(axis=1) if covariance_type == "spherical" else variances


def _component_rows(resp, X, k):
    """(resp[:, k], X) restricted to the rows where resp[:, k] is not 0 when they are fewer than
    half (the hard assignments of the k-means and pick-a-row initialisations: a row of another
    cluster adds exact zeros, and skipping it makes the init O(N D) instead of O(N K D))."""
    r = resp[:, k]
    rows = np.flatnonzero(r)
    if 2 * len(rows) >= len(r):
        return r, X
    return r[rows], X[rows]


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
