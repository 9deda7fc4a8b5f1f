"""Machinery that every fastgen estimator shares, so that none reaches into another's:
its Philox stream, the validate-then-commit of a fit, the log-partition cache, the backend
hyperparameter, and pickles that name only public classes.

Hyperparameters are checked by scikit-learn's `_parameter_constraints` (each estimator
declares them; `_fit_context` runs the check), so a wrong one is scikit-learn's
InvalidParameterError, a ValueError and a TypeError at once.
"""
from __future__ import annotations

import copy
import dataclasses
import inspect
import re
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from . import _backend
from ._arrays import host
from ._progress import check_progress

# An estimator's `backend` hyperparameter: a backend name (available or not: resolving it
# says which are) or None for the current default.
BACKEND_CONSTRAINT = [StrOptions(set(_backend.BACKEND_ORDER)), None]

_GOLDEN = 0x9E3779B97F4A7C15  # odd constant that re-keys the Philox seed when a counter wraps


def epoch_batches(data, batches, rng, shuffle, xp=np):
    """The mini-batches of one epoch: data[batch] for each slice of `batches`, over the rows in
    their order, or (`shuffle`) in a fresh permutation of them drawn from `rng` now."""
    if not shuffle:
        return (data[batch] for batch in batches)
    order = xp.asarray(rng.permutation(data.shape[0]))
    return (data[order[batch]] for batch in batches)


LEARNING_RATE_SCHEDULES = ("constant", "linear")


def learning_rates(learning_rate, schedule, n_updates):
    """The step size of each of a fit's `n_updates` updates, in order: `learning_rate`
    throughout ("constant"), or falling linearly towards zero ("linear": update t of T, from
    0, takes learning_rate * (1 - t / T), the last one learning_rate / T). A stochastic
    gradient needs the falling steps to settle: with a constant one, PCD's parameters keep
    moving with the chains, and the fitted model is wherever the last updates left it."""
    if schedule == "constant":
        return (learning_rate for _ in range(n_updates))
    return (learning_rate * (1.0 - t / n_updates) for t in range(n_updates))


def validate_X(estimator, X, **options):
    """scikit-learn's validate_data(estimator, X, **options), with its errors naming X: some of
    its messages say what is wrong but not which argument ("Expected 2D array, got scalar array
    instead"), and a user calling fit(X, y) should not have to guess. The error type and the
    rest of the message stay scikit-learn's."""
    try:
        return validate_data(estimator, X, **options)
    except (ValueError, TypeError) as exc:
        if re.search(r"\bX\b", str(exc)):
            raise
        raise reworded(exc, f"X: {exc}") from exc


def reworded(exc, message):
    """An exception of `exc`'s kind with another message: its own class where that can be made
    from a message alone (NumPy's _ArrayMemoryError cannot), else the builtin it derives from."""
    try:
        return type(exc)(message)
    except TypeError:
        return next(kind(message) for kind in (MemoryError, TypeError, ValueError, Exception) if isinstance(exc, kind))


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

    @classmethod
    def resume(cls, seed, counter):
        stream = cls.__new__(cls)
        stream.seed, stream.counter = int(seed), int(counter)
        return stream


class _PartitionCache:
    """log Z results of one set of parameters: copies of them, to tell when they change
    (training replaces the arrays, but a user may also edit them in place), and of the
    options of each result (array options may be edited in place too)."""

    def __init__(self, parameters, backend, entries=()):
        self.parameters = [np.array(p, copy=True) for p in parameters]
        self.backend = backend
        self.entries = list(entries)

    def holds(self, parameters, backend):
        return backend == self.backend and len(parameters) == len(self.parameters) and all(
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


def keyword_options(function):
    """The keyword-only parameters of an op, less `backend` and `progress`: the options an
    estimator passes on (and caches its results by)."""
    return frozenset(name for name, p in inspect.signature(function).parameters.items()
                     if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("backend", "progress"))


class FastgenEstimatorMixin:
    """Put before scikit-learn's BaseEstimator in the bases of every fastgen estimator."""

    def _kernels(self):
        """The Kernels of the `backend` hyperparameter (host data: CPU, or CUDA when asked)."""
        return _backend.resolve(self.backend, on_device=False)

    def _check_hyperparameters(self):
        """The Kernels of a fit, after every hyperparameter is checked: the declared
        `_parameter_constraints`, then `_check_more_hyperparameters` (what constraints cannot
        say), whose errors are raised as the constraints' are, as InvalidParameterError."""
        self._validate_params()
        self._reject_bool_counts()
        try:
            self._check_more_hyperparameters()
            return self._kernels()
        except InvalidParameterError:
            raise
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(str(exc)) from exc

    def _reject_bool_counts(self):
        """scikit-learn's Interval(Integral, ...) admits True and False (bool is an Integral), which
        would train True hidden units in batches of True rows: refused, naming the parameter."""
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name, None)
            counts = any(isinstance(c, Interval) and c.type is Integral for c in constraints)
            if counts and isinstance(value, (bool, np.bool_)):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be an int, not a bool; got {value!r}."
                )

    def _check_more_hyperparameters(self):
        """Checks beyond `_parameter_constraints` (an estimator overrides it)."""

    def _stream(self):
        """The estimator's own Philox stream (made from random_state at first use)."""
        if getattr(self, "_philox", None) is None:
            self._philox = _PhiloxStream(self.random_state)
        return self._philox

    def _counters(self, random_state, n_counters):
        """(seed, first counter) of `n_counters` counters: the next ones of the estimator's
        stream, or of a fresh stream seeded by `random_state` when it is given."""
        stream = self._stream() if random_state is None else _PhiloxStream(random_state)
        return stream.take(n_counters)

    # ------------------------------------------------------------ all-or-nothing fits

    def _validate_for_fit(self, check_X, X):
        """(check_X(X, reset=True), the data attributes it recorded), with those attributes
        (n_features_in_, feature_names_in_) taken off the estimator again: a fit commits them
        with its results (_commit_fit), so that a failed fit leaves a fitted estimator as it was."""
        saved = dict(self.__dict__)
        try:
            X = check_X(X, reset=True)
            return X, {name: self.__dict__.get(name) for name in ("n_features_in_", "feature_names_in_")}
        finally:
            self.__dict__.clear()
            self.__dict__.update(saved)

    def _commit_fit(self, data_attributes, state):
        """Set the results of a fit: its fitted attributes `state` and the data attributes from
        _validate_for_fit (those that validation did not record are removed). A cached log Z
        belongs to the parameters it was computed for and goes with them."""
        for name, value in data_attributes.items():
            if value is None:
                self.__dict__.pop(name, None)
            else:
                setattr(self, name, value)
        self.__dict__.pop("_log_partition_cache", None)
        self.__dict__.update(state)

    # ------------------------------------------------------------ log Z

    def _cached_log_partition(self, method, options, functions, parameters, model, progress=False):
        """`functions[method](*model, backend=..., **options)` (log Z of the model by "exact" or
        "ais", the options checked against the function's keyword options), cached while
        `parameters` (the fitted attributes it depends on) and the backend stay the same.
        `progress` goes to the functions that take it (fastgen._progress); it is not an
        option of the result."""
        check_progress(progress)
        if method not in functions:
            raise ValueError(f"method must be one of {', '.join(map(repr, functions))}, got {method!r}")
        accepted = keyword_options(functions[method])
        unknown = sorted(set(options) - accepted)
        if unknown:
            raise ValueError(f"unknown options for method={method!r}: {', '.join(unknown)}; "
                             f"accepted: {', '.join(sorted(accepted)) or 'none'}")
        backend = self._kernels().name
        # where the chains run does not change the result (bit for bit), so it is no part of the key
        placement = {name: options.pop(name) for name in ("client",) if name in options}
        cache = getattr(self, "_log_partition_cache", None)
        if cache is None or not cache.holds(parameters, backend):
            cache = self._log_partition_cache = _PartitionCache(parameters, backend)
        found, value = cache.lookup(method, options)
        if not found:
            shown = {"progress": progress} if "progress" in inspect.signature(functions[method]).parameters else {}
            value = functions[method](*model, backend=backend, **options, **placement, **shown)
            if dataclasses.is_dataclass(value):  # an AISResult: its log weights on the host
                value = dataclasses.replace(value, log_weights=host(value.log_weights))
            cache.store(method, options, value)
        return value

    # ------------------------------------------------------------ pickles of public classes only

    def __getstate__(self):
        state = dict(super().__getstate__())
        stream = state.get("_philox")
        if stream is not None:
            state["_philox"] = (stream.seed, stream.counter)
        cache = state.get("_log_partition_cache")
        if cache is not None:
            state["_log_partition_cache"] = (cache.parameters, cache.backend, cache.entries)
        return state

    def __setstate__(self, state):
        state = dict(state)
        stream = state.get("_philox")
        if isinstance(stream, tuple):
            state["_philox"] = _PhiloxStream.resume(*stream)
        cache = state.get("_log_partition_cache")
        if isinstance(cache, tuple):
            state["_log_partition_cache"] = _PartitionCache(*cache)
        super().__setstate__(state)


def public(cls):
    """Class decorator: report the public module `fastgen`, where users (and pickles) find the class."""
    cls.__module__ = "fastgen"
    return cls
