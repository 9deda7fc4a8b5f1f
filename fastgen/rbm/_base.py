"""_RBMBase, the machinery of the RBM estimators (fastgen.BernoulliRBM and
fastgen.GaussianBernoulliRBM): the epoch loop that commits only completed epochs,
partial_fit, free_energy, log_partition with its cache, log_likelihood, and the CD-k/PCD-k
trainer."""
from __future__ import annotations

import copy
import time
from numbers import Integral, Real
from typing import Any, Iterator, TypeVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state, gen_even_slices
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._arrays import host
from .._blas import blas_threads_for
from .._dask import check_row_blocks, is_dask_array
from .._estimator import (
    BACKEND_CONSTRAINT,
    LEARNING_RATE_SCHEDULES,
    FastgenEstimatorMixin,
    _PhiloxStream,
    epoch_batches,
    learning_rates,
    reworded,
    validate_X,
)
from .._progress import bar as progress_bar
from .._typing import Array
from .._validation import check_products
from . import _dask, _loops

_Self = TypeVar("_Self", bound="_RBMBase")  # what fit returns: the estimator itself, of its own class


class _RBMBase(FastgenEstimatorMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """What the RBM estimators share. A subclass names its public ops module (`_ops`, with
    log_partition_exact and log_partition_ais), its loops module (`_loops`, with
    free_energy), its parameters (`_model_attributes`, W first, in the order of the ops'
    arguments), and provides __init__, _initial_state, _trainer and _progress (the verbose
    line's measure of a fitted state)."""

    _ops: Any = None
    _loops: Any = None
    _model_attributes: tuple[str, ...] = ("components_", "intercept_visible_", "intercept_hidden_")
    _accept_sparse = False

    # scikit-learn's BernoulliRBM constraints, and fastgen's own hyperparameters
    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "cd_k": [Interval(Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "learning_rate_schedule": [StrOptions(set(LEARNING_RATE_SCHEDULES))],
        "shuffle": ["boolean"],
        "backend": BACKEND_CONSTRAINT,
    }

    @property
    def _trained_attributes(self):
        return (*self._model_attributes, "h_samples_")

    # ------------------------------------------------------------ validation

    def _check_X(self, X, reset):
        if is_dask_array(X):  # checked by shape and chunks here; its values where they are read
            X = check_row_blocks("X", X)
            if reset:
                self.n_features_in_ = X.shape[1]
                self.__dict__.pop("feature_names_in_", None)
            elif getattr(self, "n_features_in_", X.shape[1]) != X.shape[1]:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input.")
        else:
            X = validate_X(self, X, accept_sparse="csr" if self._accept_sparse else False,
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
        C-contiguous arrays of one float dtype. NotFittedError comes before any input check,
        and hand-set attributes of the wrong shape or with NaN are a ValueError naming them."""
        check_is_fitted(self, self._model_attributes)
        kernels = self._kernels()
        xp, dtype = kernels.xp, self._dtype()
        arrays = [np.asarray(getattr(self, name)) for name in self._model_attributes]
        if arrays[0].ndim != 2:
            raise ValueError(f"components_ must be 2-D (n_components, n_features), got shape {arrays[0].shape}")
        for name, array, shape in zip(self._model_attributes, arrays, self._parameter_shapes(*arrays[0].shape)):
            if array.shape != shape:
                raise ValueError(f"{name} must have shape {shape} to match components_ {arrays[0].shape}, "
                                 f"got {array.shape}")
            if array.dtype.kind not in "biuf":
                raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
            if not np.isfinite(array).all():
                raise ValueError(f"{name} contains NaN or infinity")
        arrays[0] = arrays[0].T
        W, *others = (xp.ascontiguousarray(xp.asarray(a, dtype=dtype)) for a in arrays)
        check_products(xp, W, biases=others[:2], name="components_")
        return (kernels, W, *others)

    def _parameter_shapes(self, n_components, n_features):
        """The shapes of the `_model_attributes`, components_ first."""
        return [(n_components, n_features), (n_features,), (n_components,), (n_features,)][:len(self._model_attributes)]

    def _dtype(self):
        return self.components_.dtype if self.components_.dtype in (np.float32, np.float64) else np.float64

    @staticmethod
    def _dense(xp, X, dtype):
        X = X.toarray() if sp.issparse(X) else X
        return xp.ascontiguousarray(xp.asarray(X, dtype=dtype))

    # ------------------------------------------------------------ training

    def fit(self: _Self, X: Array, y: None = None, *, progress: bool = False) -> _Self:
        """Fit the model to X (n_samples, n_features) with `n_iter` epochs of CD-k/PCD-k.

        All or nothing: the estimator changes only once every epoch has run; an exception
        (KeyboardInterrupt included) leaves it as it was. A parameter that becomes NaN or
        infinite stops the fit with a FloatingPointError naming it and the epoch.
        `progress`: show a bar of the epochs (`verbose` prints a line per epoch instead)."""
        kernels = self._check_hyperparameters()
        X, data_attributes = self._validate_for_fit(self._check_X, X)
        with progress_bar(progress, self.n_iter, type(self).__name__, unit="epoch") as shown:
            for epoch, state in self._epochs(kernels, X):
                if epoch:
                    shown.update()
        self._commit_fit(data_attributes, state)
        return self

    def fit_iter(self, X: Array, y: None = None) -> Iterator[int]:
        """Like `fit`, as a generator that yields the epoch number after each epoch.

        Unlike `fit`, the estimator is updated after every completed epoch (so that it can be
        looked at between them); an exception before the first one leaves a previously
        fitted model unchanged, one later leaves the model of the last completed epoch."""
        kernels = self._check_hyperparameters()
        X, data_attributes = self._validate_for_fit(self._check_X, X)  # committed with the first epoch
        return self._commit_each_epoch(kernels, X, data_attributes)

    def _commit_each_epoch(self, kernels, X, data_attributes):
        for epoch, state in self._epochs(kernels, X):
            if epoch or self.n_iter == 0:
                self._commit_fit(data_attributes, state)
            if epoch:
                yield epoch

    def _epochs(self, kernels, X):
        """The training, as a generator of (epoch, the fitted attributes after it), epoch 0 the
        initial ones. Each state is new arrays: the training goes on in other ones."""
        rng = check_random_state(self.random_state)
        dtype = X.dtype
        n_samples = X.shape[0]
        state = self._initial_state(rng, X, dtype)
        stream = _PhiloxStream(rng)
        n_batches = int(np.ceil(n_samples / self.batch_size))
        batches = list(gen_even_slices(n_batches * self.batch_size, n_batches, n_samples=n_samples))
        xp = kernels.xp
        streamed = is_dask_array(X)  # a Dask array: batches streamed from its chunks (rbm/_dask.py)
        if streamed and self.shuffle:
            raise ValueError("shuffle=True needs X in memory: a Dask array's mini-batches are streamed from its "
                             "chunks in order; set shuffle=False (or shuffle the rows of X in Dask first)")
        data = X if sp.issparse(X) or streamed else self._dense(xp, X, dtype)
        trainer = self._trainer(kernels, state, dtype, X)
        rates = learning_rates(self.learning_rate, self.learning_rate_schedule, self.n_iter * n_batches)
        yield 0, {**state, "_philox": stream}
        begin = time.time()
        # the largest product of an update: a batch or the chains times W
        blas_threads = blas_threads_for(max(self.batch_size, len(state["h_samples_"])) * X.shape[1] * self.n_components)
        for epoch in range(1, self.n_iter + 1):
            # shuffle: a fresh order of the rows each epoch, drawn from random_state after the
            # initial parameters and the Philox seed (so shuffle=False draws as before)
            rows = _dask.row_batches(X, batches) if streamed else epoch_batches(data, batches, rng, self.shuffle, xp)
            with np.errstate(over="ignore", invalid="ignore"), blas_threads:  # a diverging fit is reported below
                for batch in rows:
                    trainer.learning_rate = next(rates)
                    trainer.step(self._dense(xp, batch, dtype), stream)
            state = trainer.stored()
            self._check_finite(state, f"epoch {epoch}")
            state["_philox"] = stream
            if self.verbose:
                end = time.time()
                progress = "" if streamed else f"{self._progress(X, state)}, "  # it would read all of X again
                print(f"[{type(self).__name__}] Iteration {epoch}, {progress}time = {end - begin:.2f}s")
                begin = end
            yield epoch, state

    def _check_finite(self, state, when):
        for name in self._trained_attributes:
            if not np.isfinite(state[name]).all():
                raise FloatingPointError(
                    f"the training diverged: {name} holds NaN or infinity after {when}; the estimator is left as it "
                    f"was. Lower learning_rate (now {self.learning_rate}) or scale the data.")

    def _with(self, state):
        """A copy of the estimator with the fitted attributes `state` (for the progress line)."""
        model = copy.copy(self)
        model.__dict__.update(state)
        return model

    def _new_chains(self, n_units, dtype):
        """The persistent chains' hidden states, all zero: n_chains rows (batch_size when
        n_chains is None, as scikit-learn's h_samples_). A count too large to allocate is an
        error naming the hyperparameter it came from, before any training."""
        name, n_chains = ("batch_size", self.batch_size) if self.n_chains is None else ("n_chains", self.n_chains)
        try:
            return np.zeros((n_chains, n_units), dtype=dtype)
        except (ValueError, MemoryError) as exc:
            raise reworded(exc, f"{name}={n_chains} persistent chains of {n_units} hidden units cannot be allocated "
                            f"({exc}); set n_chains to fewer chains") from exc

    def _initial_state(self, rng, X, dtype):
        """The trained attributes before any update, drawn as scikit-learn draws them."""
        return {
            "components_": np.asarray(rng.normal(0, 0.01, (self.n_components, X.shape[1])), order="F", dtype=dtype),
            "intercept_hidden_": np.zeros(self.n_components, dtype=dtype),
            "intercept_visible_": np.zeros(X.shape[1], dtype=dtype),
            "h_samples_": self._new_chains(self.n_components, dtype),
        }

    def partial_fit(self: _Self, X: Array, y: None = None) -> _Self:
        """One CD-k/PCD-k update on X as a single batch (initialising the model if needed).
        All or nothing, as `fit`. A Dask X gives one update per row chunk, in order, streamed
        (partial_fit of each chunk in turn), and is all or nothing as a whole."""
        if is_dask_array(X):
            saved = copy.deepcopy(self.__dict__)  # deep: an update trains the fitted arrays in place
            try:
                for chunk in _dask.chunks(check_row_blocks("X", X)):
                    self.partial_fit(chunk)
            except BaseException:
                self.__dict__.clear()
                self.__dict__.update(saved)
                raise
            return self
        kernels = self._check_hyperparameters()
        first_call = not hasattr(self, "components_")
        if first_call:
            X, data_attributes = self._validate_for_fit(self._check_X, X)
            dtype = X.dtype
            rng = check_random_state(self.random_state)
            state = self._initial_state(rng, X, dtype)
            stream = _PhiloxStream(rng)
        else:
            _, *params = self._fitted()  # the hand-set or fitted parameters, checked
            X = self._check_X(X, reset=False)
            dtype = params[0].dtype
            # copies: the trainer updates its parameters in place, and a step that diverges (or
            # is interrupted) must leave the estimator's own arrays as they were
            state = {name: getattr(self, name).copy() for name in self._model_attributes}
            chains = getattr(self, "h_samples_", None)
            state["h_samples_"] = None if chains is None else chains.copy()
            stream = copy.deepcopy(self._stream())
        trainer = self._trainer(kernels, state, dtype, X)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging step is reported below
            trainer.step(self._dense(kernels.xp, X, dtype), stream)
        state = trainer.stored()
        self._check_finite(state, "partial_fit")
        state["_philox"] = stream
        if first_call:
            self._commit_fit(data_attributes, state)
        else:
            self.__dict__.pop("_log_partition_cache", None)
            self.__dict__.update(state)
        return self

    # ------------------------------------------------------------ inference

    def free_energy(self, X: Array) -> np.ndarray:
        """Free energy F(v) of each row of X (float64), F(v) = -log sum_h exp(-E(v, h))."""
        kernels, *params = self._fitted()
        X = self._check_X(X, reset=False)
        return host(self._loops.free_energy(kernels, self._dense(kernels.xp, X, params[0].dtype), *params))

    # ------------------------------------------------------------ log-likelihood

    def log_partition(self, method: str = "ais", *, progress: bool = False, **kwargs: Any) -> Any:
        """log Z of the model: method "exact" (a float, the `log_partition_exact` of the
        model's ops module, fastgen.rbm or fastgen.gbrbm) or "ais" (an AISResult, its
        `log_partition_ais` with the options it takes besides the model). The result is
        cached for these arguments until the parameters change (by training or by hand).
        `progress`: show a bar while AIS runs."""
        _, *params = self._fitted()
        functions = {"exact": self._ops.log_partition_exact, "ais": self._ops.log_partition_ais}
        parameters = [getattr(self, name) for name in self._model_attributes]
        return self._cached_log_partition(method, kwargs, functions, parameters, params, progress)

    def log_likelihood(self, X: Array, method: str = "ais", *, progress: bool = False, **kwargs: Any) -> float:
        """Mean over the rows of X of log p(v) = -F(v) - log Z, with log Z from
        `log_partition(method, progress=progress, **kwargs)` (cached; for "ais", its log_z)."""
        kernels, *params = self._fitted()
        X = self._check_likelihood_X(X)
        free = host(self._loops.free_energy(kernels, self._dense(kernels.xp, X, params[0].dtype), *params))
        log_z = self.log_partition(method, progress=progress, **kwargs)
        return float(-np.mean(free) - (log_z if method == "exact" else log_z.log_z))

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accept_sparse
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def is_binary(X):
    """Whether X (dense or sparse) holds only zeros and ones."""
    values = X.data if sp.issparse(X) else X
    return bool(((values == 0) | (values == 1)).all())


class Trainer:
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
        self.b = xp.ascontiguousarray(xp.asarray(state["intercept_visible_"], dtype=dtype))
        self.c = xp.ascontiguousarray(xp.asarray(state["intercept_hidden_"], dtype=dtype))
        chains = state["h_samples_"]
        if chains is None or np.shape(chains)[1:] != (self.W.shape[1],):  # a hand-set model has none yet
            chains = estimator._new_chains(self.W.shape[1], dtype)
        self.chains = xp.ascontiguousarray(xp.asarray(chains, dtype=dtype))
        self.velocity = None  # made at the first step with momentum: one per parameter

    def _parameters(self):
        """The trained arrays, updated in place, W first."""
        return [self.W, self.b, self.c]

    def _statistics(self, v_data, chains, seed, counter):
        """(the updates of _parameters(), already times the learning rate; the new hidden chains)."""
        dW, db, dc, chains = _loops.cd_statistics(
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

    def stored(self):
        """Copies of the trained parameters (NumPy arrays, as scikit-learn's): the training goes
        on in place, so what is committed must not move with it."""
        return {
            "components_": np.array(host(self.W).T, order="F"),
            "intercept_visible_": np.array(host(self.b)),
            "intercept_hidden_": np.array(host(self.c)),
            "h_samples_": np.array(host(self.chains)),
        }
