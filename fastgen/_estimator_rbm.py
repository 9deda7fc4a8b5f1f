"""fastgen.BernoulliRBM: a drop-in for sklearn.neural_network.BernoulliRBM on fastgen's kernels,
and _RBMBase, the machinery it shares with fastgen.GaussianBernoulliRBM."""
from __future__ import annotations

import copy
import dataclasses
import time
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state, gen_even_slices
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _backend
from . import rbm as ops
from ._rbm_tempering import _parallel_tempering
from ._validation import check_betas, check_count

_GOLDEN = 0x9E3779B97F4A7C15  # odd constant that re-keys the Philox seed when a counter wraps


class _PhiloxStream:
    """The (seed, counter) pair an estimator draws from: each call takes the next counters."""

    def __init__(self, random_state):
        rng = check_random_state(random_state)
        self.seed = int(rng.randint(0, 2**63, dtype=np.int64))
        self.counter = 0

    def take(self, n_counters):
        """(seed, first counter) of a block of `n_counters` consecutive counters."""
        if self.counter + n_counters >= 2**32:
            self.seed = (self.seed + _GOLDEN) % 2**64
            self.counter = 0
        first = self.counter
        self.counter += n_counters
        return self.seed, first


class _RBMBase(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """What the RBM estimators share: hyperparameter checks, the Philox stream, the epoch
    loop that commits only completed epochs, partial_fit, free_energy, log_partition with its
    cache and log_likelihood. A subclass names its ops module (`_ops`, with _free_energy,
    log_partition_exact and log_partition_ais), its parameters (`_model_attributes`, W
    first, in the order of the ops' arguments) and the options of each log_partition method,
    and provides __init__, _initial_state, _trainer and _progress."""

    _ops = None
    _model_attributes = ("components_", "intercept_visible_", "intercept_hidden_")
    _partition_options: ClassVar[dict] = {}
    _accept_sparse = False

    @property
    def _trained_attributes(self):
        return (*self._model_attributes, "h_samples_")

    # ------------------------------------------------------------ validation

    def _check_hyperparameters(self):
        check_count("n_components", self.n_components)
        check_count("batch_size", self.batch_size)
        check_count("cd_k", self.cd_k)
        check_count("n_iter", self.n_iter, minimum=0)
        if self.n_chains is not None:
            check_count("n_chains", self.n_chains)
        for name, low, high in (("learning_rate", 0.0, np.inf), ("momentum", 0.0, 1.0), ("weight_decay", 0.0, np.inf)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
                raise ValueError(f"{name} must be a real number, got {value!r}")
            if not (low <= value < high) or (name == "learning_rate" and value <= 0):
                raise ValueError(f"{name} must be in {'(' if name == 'learning_rate' else '['}{low}, {high}), got {value!r}")
        if not isinstance(self.persistent, (bool, np.bool_)):
            raise ValueError(f"persistent must be True or False, got {self.persistent!r}")
        return _backend.resolve(self.backend, on_device=False)

    def _check_X(self, X, reset):
        X = validate_data(self, X, accept_sparse="csr" if self._accept_sparse else False,
                          dtype=(np.float64, np.float32), reset=reset)
        if not reset and hasattr(self, "components_") and X.shape[1] != self.components_.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} has "
                f"{self.components_.shape[1]} visible units (components_.shape[1])"
            )
        return X

    def _check_likelihood_X(self, X):
        """X checked for log_likelihood (a subclass may narrow the data it scores)."""
        return self._check_X(X, reset=False)

    def _fitted(self):
        """(kernels, W, *the other parameters) of a fitted (or hand-set) model: W (n_features,
        n_components) and the others, in the order of `_model_attributes`, as the backend's
        arrays. NotFittedError comes before any input check."""
        check_is_fitted(self, self._model_attributes)
        _, kernels = _backend.resolve(self.backend, on_device=False)
        xp, dtype = kernels.xp, self._dtype()
        arrays = (self.components_.T, *(getattr(self, name) for name in self._model_attributes[1:]))
        return (kernels, *(xp.ascontiguousarray(xp.asarray(a, dtype=dtype)) for a in arrays))

    def _stream(self):
        if getattr(self, "_philox", None) is None:
            self._philox = _PhiloxStream(self.random_state)
        return self._philox

    def _counters(self, random_state, n_counters):
        """(seed, first counter) of `n_counters` counters: the next ones of the estimator's
        stream, or of a fresh stream seeded by `random_state` when it is given."""
        stream = self._stream() if random_state is None else _PhiloxStream(random_state)
        return stream.take(n_counters)

    def _dtype(self):
        return self.components_.dtype if self.components_.dtype in (np.float32, np.float64) else np.float64

    @staticmethod
    def _dense(xp, X, dtype):
        X = X.toarray() if sp.issparse(X) else X
        return xp.ascontiguousarray(xp.asarray(X, dtype=dtype))

    @staticmethod
    def _host(a):
        return a.get() if hasattr(a, "get") else a

    # ------------------------------------------------------------ training

    def fit(self, X, y=None):
        """Fit the model to X (n_samples, n_features) with `n_iter` epochs of CD-k/PCD-k."""
        for _ in self.fit_iter(X):
            pass
        return self

    def fit_iter(self, X, y=None):
        """Like `fit`, as a generator that yields the epoch number after each epoch.

        The estimator is updated after every completed epoch; an exception before the
        first one leaves a previously fitted model unchanged."""
        _, kernels = self._check_hyperparameters()
        X, data_attributes = _validate_for_fit(self, self._check_X, X)  # committed with the first epoch
        return self._epochs(kernels, X, data_attributes)

    def _commit(self, state, data_attributes, stream):
        _commit_fit(self, data_attributes, {**state, "_philox": stream})

    def _epochs(self, kernels, X, data_attributes):
        rng = check_random_state(self.random_state)
        dtype = X.dtype
        n_samples = X.shape[0]
        state = self._initial_state(rng, X, dtype)
        stream = _PhiloxStream(rng)
        n_batches = int(np.ceil(n_samples / self.batch_size))
        batches = list(gen_even_slices(n_batches * self.batch_size, n_batches, n_samples=n_samples))
        xp = kernels.xp
        data = X if sp.issparse(X) else self._dense(xp, X, dtype)
        trainer = self._trainer(kernels, state, dtype, X)
        begin = time.time()
        for epoch in range(1, self.n_iter + 1):
            for batch in batches:
                trainer.step(self._dense(xp, data[batch], dtype), stream)
            trainer.store(state)
            self._commit(state, data_attributes, stream)
            if self.verbose:
                end = time.time()
                print(f"[{type(self).__name__}] Iteration {epoch}, {self._progress(X)}, time = {end - begin:.2f}s")
                begin = end
            yield epoch
        if self.n_iter == 0:
            self._commit(state, data_attributes, stream)

    def _initial_state(self, rng, X, dtype):
        """The trained attributes before any update, drawn as scikit-learn draws them."""
        n_chains = self.batch_size if self.n_chains is None else self.n_chains
        return {
            "components_": np.asarray(rng.normal(0, 0.01, (self.n_components, X.shape[1])), order="F", dtype=dtype),
            "intercept_hidden_": np.zeros(self.n_components, dtype=dtype),
            "intercept_visible_": np.zeros(X.shape[1], dtype=dtype),
            "h_samples_": np.zeros((n_chains, self.n_components), dtype=dtype),
        }

    def partial_fit(self, X, y=None):
        """One CD-k/PCD-k update on X as a single batch (initialising the model if needed)."""
        _, kernels = self._check_hyperparameters()
        first_call = not hasattr(self, "components_")
        X = self._check_X(X, reset=first_call)
        dtype = X.dtype if first_call else self._dtype()
        if first_call:
            rng = check_random_state(self.random_state)
            self.__dict__.update(self._initial_state(rng, X, dtype))
            self._philox = _PhiloxStream(rng)
        state = {name: getattr(self, name) for name in self._trained_attributes}
        trainer = self._trainer(kernels, state, dtype, X)
        trainer.step(self._dense(kernels.xp, X, dtype), self._stream())
        trainer.store(state)
        self.__dict__.update(state)
        return self

    # ------------------------------------------------------------ inference

    def free_energy(self, X):
        """Free energy F(v) of each row of X (float64), F(v) = -log sum_h exp(-E(v, h))."""
        kernels, *params = self._fitted()
        X = self._check_X(X, reset=False)
        return self._host(self._ops._free_energy(kernels, self._dense(kernels.xp, X, params[0].dtype), *params))

    # ------------------------------------------------------------ log-likelihood

    def log_partition(self, method="ais", **kwargs):
        """log Z of the model: method "exact" (a float, the `log_partition_exact` of the
        model's ops module, fastgen.rbm or fastgen.gbrbm) or "ais" (an AISResult, its
        `log_partition_ais` with the options it takes besides the model). The result is
        cached for these arguments until the parameters change (by training or by hand)."""
        kernels, *params = self._fitted()
        functions = {"exact": self._ops.log_partition_exact, "ais": self._ops.log_partition_ais}
        return _cached_log_partition(
            self, tuple(getattr(self, name) for name in self._model_attributes), kernels.name, method, kwargs,
            self._partition_options, lambda options: functions[method](*params, backend=kernels.name, **options),
        )

    def log_likelihood(self, X, method="ais", **kwargs):
        """Mean over the rows of X of log p(v) = -F(v) - log Z, with log Z from
        `log_partition(method, **kwargs)` (cached; for "ais", its log_z)."""
        kernels, *params = self._fitted()
        X = self._check_likelihood_X(X)
        free = self._host(self._ops._free_energy(kernels, self._dense(kernels.xp, X, params[0].dtype), *params))
        log_z = self.log_partition(method, **kwargs)
        return float(-np.mean(free) - (log_z if method == "exact" else log_z.log_z))

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accept_sparse
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class BernoulliRBM(_RBMBase):
    """Bernoulli restricted Boltzmann machine trained by CD-k or PCD-k.

    Same parameters, methods and fitted attributes as scikit-learn's BernoulliRBM
    (whose training is PCD-1 with `n_chains = batch_size`), plus:

    cd_k : Gibbs sweeps per gradient estimate (k of CD-k / PCD-k).
    persistent : keep the negative chains between batches (PCD) instead of
        restarting them from the data (CD).
    n_chains : number of persistent chains (default: batch_size).
    momentum, weight_decay : classical momentum on the parameter updates and L2
        decay of the weights.
    backend : "cpu", "numba", "cuda" or None (the current default).

    Data: dense arrays or scipy sparse matrices with values in [0, 1] (probabilities
    are used as they are in the positive phase). Randomness comes from Philox streams
    seeded by `random_state`; the same seed gives the same model on the same backend
    whatever the number of threads.

    log_partition / log_likelihood: method "exact" (fastgen.rbm.log_partition_exact, at
    most 25 units in the smaller layer) or "ais" (fastgen.rbm.log_partition_ais, options
    n_chains, betas, base_visible_bias, seed); log_likelihood takes binary X only.
    """

    _ops = ops
    # The options of each log_partition method (those of fastgen.rbm's functions, less the model).
    _partition_options: ClassVar[dict] = {
        "exact": frozenset(), "ais": frozenset({"n_chains", "betas", "base_visible_bias", "seed"})
    }
    _accept_sparse = True

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        cd_k=1,
        persistent=True,
        n_chains=None,
        momentum=0.0,
        weight_decay=0.0,
        backend=None,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.cd_k = cd_k
        self.persistent = persistent
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.backend = backend

    def _check_X(self, X, reset):
        X = super()._check_X(X, reset)
        values = X.data if sp.issparse(X) else X
        if values.size and (values.min() < 0 or values.max() > 1):
            raise ValueError("X must hold values in [0, 1] (binary data or probabilities)")
        return X

    def _check_likelihood_X(self, X):
        X = self._check_X(X, reset=False)
        if not _is_binary(X):
            raise ValueError("X must hold binary states (0 or 1 only) for a log-likelihood")
        return X

    def _trainer(self, kernels, state, dtype, X):
        return _Trainer(self, kernels, state, dtype, _is_binary(X))

    def _progress(self, X):
        return f"pseudo-likelihood = {self.score_samples(X).mean():.2f}"

    # ------------------------------------------------------------ inference

    def transform(self, X):
        """Hidden-unit probabilities p(h = 1 | v = X), shape (n_samples, n_components)."""
        kernels, W, _, c = self._fitted()
        X = self._check_X(X, reset=False)
        v = self._dense(kernels.xp, X, W.dtype)
        _, p_h = ops._sample_hidden(kernels, v, W, c, 0, 0, _is_binary(X) and ops._sparse(kernels, v))
        return self._host(p_h)

    def score_samples(self, X):
        """Pseudo-log-likelihood of each row, as scikit-learn defines it: n_features times
        log sigmoid(F(v') - F(v)), with v' = v with one random unit flipped per row."""
        kernels, W, b, c = self._fitted()
        X = self._check_X(X, reset=False)
        v = X.toarray() if sp.issparse(X) else np.array(X)
        rng = check_random_state(self.random_state)
        rows = np.arange(v.shape[0])
        flip = rng.randint(0, v.shape[1], v.shape[0])
        v_flipped = v.copy()
        v_flipped[rows, flip] = 1 - v_flipped[rows, flip]
        fe, fe_flipped = (
            self._host(ops._free_energy(kernels, self._dense(kernels.xp, a, W.dtype), W, b, c)) for a in (v, v_flipped)
        )
        return -v.shape[1] * np.logaddexp(0, -(fe_flipped - fe))

    def gibbs(self, v):
        """One Gibbs step from visible states v: h ~ p(h|v), then a new v ~ p(v|h)."""
        kernels, W, b, c = self._fitted()
        v = self._check_X(v, reset=False)
        seed, counter = self._stream().take(1)
        v_new, _ = ops._gibbs(kernels, self._dense(kernels.xp, v, W.dtype), W, b, c, 1, seed, counter, _is_binary(v))
        return self._host(v_new)

    def sample(self, n_samples, n_steps=1000, random_state=None, method="gibbs", n_temperatures=10, betas=None,
               return_acceptance=False):
        """`n_samples` visible states, each the end of its own chain of `n_steps` sweeps
        started from uniformly random binary states.

        method : "gibbs" (block Gibbs sweeps) or "pt" (parallel tempering: replicas at the
            inverse temperatures `betas`, default np.linspace(0, 1, n_temperatures), exchange
            states between neighbouring temperatures after each sweep; the beta = 1 chains
            are returned, see fastgen.rbm.parallel_tempering).
        return_acceptance : with method "pt", return (samples, acceptance), the swap
            acceptance rate of each pair of neighbouring temperatures.
        """
        n_samples = check_count("n_samples", n_samples)
        n_steps = check_count("n_steps", n_steps)
        if method not in ("gibbs", "pt"):
            raise ValueError(f"method must be 'gibbs' or 'pt', got {method!r}")
        if method == "pt":
            if betas is None:
                betas = np.linspace(0.0, 1.0, check_count("n_temperatures", n_temperatures, minimum=2))
            betas = check_betas(betas, from_zero=False)
        elif betas is not None or return_acceptance:
            raise ValueError("betas and return_acceptance apply to method='pt' only")
        kernels, W, b, c = self._fitted()
        seed, counter = self._counters(random_state, n_steps)
        v = kernels.random_binary((n_samples, W.shape[0]), W.dtype, seed, counter)
        if method == "gibbs":
            v, _ = ops._gibbs(kernels, v, W, b, c, n_steps, seed, counter)
            return self._host(v)
        v = kernels.xp.ascontiguousarray(kernels.xp.broadcast_to(v, (betas.size, *v.shape)))
        states, acceptance = _parallel_tempering(kernels, v, W, b, c, n_steps, betas, seed, counter)
        samples = self._host(states[-1])
        return (samples, acceptance) if return_acceptance else samples


class _PartitionCache:
    """log Z results of one set of parameters: copies of them, to tell when they change
    (training replaces the arrays, but a user may also edit them in place), and of the
    options of each result (array options may be edited in place too)."""

    def __init__(self, parameters, backend):
        self.parameters = [np.array(p, copy=True) for p in parameters]
        self.backend = backend
        self.entries = []

    def holds(self, parameters, backend):
        return backend == self.backend and all(
            np.asarray(p).dtype == q.dtype and np.array_equal(p, q) for p, q in zip(parameters, self.parameters)
        )

    @staticmethod
    def _same_options(a, b):
        return a.keys() == b.keys() and all(
            np.asarray(a[k]).dtype == np.asarray(b[k]).dtype and np.array_equal(a[k], b[k]) for k in a
        )

    def lookup(self, method, options):
        for entry_method, entry_options, value in self.entries:
            if entry_method == method and self._same_options(entry_options, options):
                return True, value
        return False, None

    def store(self, method, options, value):
        self.entries.append((method, {k: copy.deepcopy(v) for k, v in options.items()}, value))


def _cached_log_partition(estimator, parameters, backend, method, options, accepted, compute):
    """log Z of `estimator` for `method` ("exact" or "ais") with its `options` checked
    against `accepted` (method -> option names), from `compute(options)` (AIS log weights
    brought to the host), cached in the estimator's _log_partition_cache while
    `parameters` and `backend` stay the same."""
    if method not in accepted:
        raise ValueError(f"method must be 'ais' or 'exact', got {method!r}")
    unknown = sorted(set(options) - accepted[method])
    if unknown:
        raise ValueError(f"unknown options for method={method!r}: {', '.join(unknown)}; "
                         f"accepted: {', '.join(sorted(accepted[method])) or 'none'}")
    cache = getattr(estimator, "_log_partition_cache", None)
    if cache is None or not cache.holds(parameters, backend):
        cache = estimator._log_partition_cache = _PartitionCache(parameters, backend)
    found, value = cache.lookup(method, options)
    if not found:
        value = compute(options)
        if method == "ais":
            value = dataclasses.replace(value, log_weights=BernoulliRBM._host(value.log_weights))
        cache.store(method, options, value)
    return value


def _validate_for_fit(estimator, check_X, X):
    """(check_X(X, reset=True), the data attributes it recorded), with those attributes
    (n_features_in_, feature_names_in_) taken off the estimator again: a fit commits them
    with its results (_commit_fit), so that a failed fit leaves a fitted estimator as it was."""
    saved = dict(estimator.__dict__)
    try:
        X = check_X(X, reset=True)
        return X, {name: estimator.__dict__.get(name) for name in ("n_features_in_", "feature_names_in_")}
    finally:
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)


def _commit_fit(estimator, data_attributes, state):
    """Set the results of a fit on the estimator: its fitted attributes `state` and the data
    attributes from _validate_for_fit (those that validation did not record are removed)."""
    for name, value in data_attributes.items():
        if value is None:
            estimator.__dict__.pop(name, None)
        else:
            setattr(estimator, name, value)
    estimator.__dict__.update(state)


def _is_binary(X):
    """Whether X (dense or sparse) holds only zeros and ones."""
    values = X.data if sp.issparse(X) else X
    return bool(((values == 0) | (values == 1)).all())


class _Trainer:
    """Parameters of one fit on the backend's arrays, and the CD-k/PCD-k update step."""

    def __init__(self, estimator, kernels, state, dtype, binary_data):
        xp = kernels.xp
        self.kernels = kernels
        self.binary_data = binary_data
        self.k = estimator.cd_k
        self.persistent = estimator.persistent
        self.learning_rate = estimator.learning_rate
        self.momentum = estimator.momentum
        self.weight_decay = estimator.weight_decay
        # W as the kernels want it: (n_features, n_components), C-contiguous.
        self.W = xp.ascontiguousarray(xp.asarray(state["components_"].T, dtype=dtype))
        self.b = xp.asarray(state["intercept_visible_"], dtype=dtype)
        self.c = xp.asarray(state["intercept_hidden_"], dtype=dtype)
        self.chains = xp.asarray(state["h_samples_"], dtype=dtype)
        self.velocity = None  # made at the first step with momentum: one per parameter

    def _parameters(self):
        """The trained arrays, updated in place, W first."""
        return [self.W, self.b, self.c]

    def _statistics(self, v_data, chains, seed, counter):
        """(the updates of _parameters(), already times the learning rate; the new hidden chains)."""
        dW, db, dc, chains = ops._cd_statistics(
            self.kernels, v_data, self.W, self.b, self.c, self.k, chains, seed, counter, self.binary_data,
            scale=self.learning_rate,
        )
        return [dW, db, dc], chains

    def _updated(self):
        """Called after each update of the parameters."""

    def step(self, v_data, stream):
        """One CD-k/PCD-k update of the parameters."""
        seed, counter = stream.take(self.k + 1)
        chains = self.chains if self.persistent else None
        steps, chains = self._statistics(v_data, chains, seed, counter)
        if self.persistent:
            self.chains = chains
        if self.weight_decay:
            steps[0] -= (self.learning_rate * self.weight_decay) * self.W
        parameters = self._parameters()
        if self.momentum and self.velocity is None:
            self.velocity = [self.kernels.xp.zeros_like(p) for p in parameters]
        for i, (param, step) in enumerate(zip(parameters, steps)):
            if self.velocity is not None:
                velocity = self.velocity[i]
                velocity *= self.momentum
                velocity += step
                step = velocity
            param += step
        self._updated()

    def store(self, state):
        """Copies of the trained parameters into `state` (NumPy arrays, as scikit-learn's):
        the training goes on in place, so what is committed must not move with it."""
        host = _RBMBase._host
        state["components_"] = np.array(host(self.W).T, order="F")
        state["intercept_visible_"] = np.array(host(self.b))
        state["intercept_hidden_"] = np.array(host(self.c))
        state["h_samples_"] = np.array(host(self.chains))
