"""fastgen.NADE: a scikit-learn estimator of binary data trained by minibatch SGD or Adam on
the exact log-likelihood, with the fused kernels of fastgen.nade."""
from __future__ import annotations

import copy
import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._arrays import host
from .._estimator import BACKEND_CONSTRAINT, FastgenEstimatorMixin, epoch_batches, public, validate_X
from .._validation import check_count, check_nade
from . import _training
from ._kernels import split_gradient

_MODEL = ("input_weights_", "output_weights_", "intercept_visible_", "intercept_hidden_")
_MARGINAL_CLIP = 1e-3  # the initial visible biases are the logits of the data means clipped to [1e-3, 1 - 1e-3]


@public
class NADE(FastgenEstimatorMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Neural autoregressive density estimator (Larochelle & Murray, 2011) of binary data:

        p(v) = prod_d p(v_d | v_<d),   p(v_d = 1 | v_<d) = sigmoid(b_d + V_d . h_d),
        h_d = sigmoid(c + sum_{k<d} v_k W_k),

    in the order of the columns. Unlike an RBM's, its log-likelihood is exact and cheap (O(D H)
    per row), and so is sampling (D steps, one fused kernel per call).

    Parameters
    ----------
    n_components : int, default 100
        Number of hidden units H.
    learning_rate : float > 0, default 1e-3
        Step size (Adam's, or SGD's).
    batch_size : int, default 100
        Rows per update; the last batch of an epoch may be shorter.
    n_iter : int >= 0, default 10
        Epochs over the training data.
    optimizer : "adam" or "sgd", default "adam"
        The update rule; both ascend the mean log-likelihood of the batch.
    momentum : float in [0, 1), default 0.0
        Classical momentum of "sgd" (ignored by "adam").
    shuffle : bool, default True
        Visit the rows in a new random order every epoch.
    verbose : int, default 0
        Print the mean training log-likelihood and time of each epoch.
    random_state : int, RandomState instance or None
        Draws the initial weights, the epochs' orders and seeds the Philox stream of `sample`.
    backend : "cpu", "numba", "cuda" or None
        The kernels' backend (None: the current default, see fastgen.set_backend).

    Attributes
    ----------
    input_weights_ : (n_features, n_components), W of fastgen.nade (row d is the paper's W[:, d])
    output_weights_ : (n_features, n_components), V
    intercept_visible_ : (n_features,), b
    intercept_hidden_ : (n_components,), c
    n_features_in_, feature_names_in_ : as scikit-learn's.
    All in the dtype of the training data (float32 or float64; other numbers become float64).
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "backend": BACKEND_CONSTRAINT,
    }

    def __init__(self, n_components=100, *, learning_rate=1e-3, batch_size=100, n_iter=10, optimizer="adam",
                 momentum=0.0, shuffle=True, verbose=0, random_state=None, backend=None):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.optimizer = optimizer
        self.momentum = momentum
        self.shuffle = shuffle
        self.verbose = verbose
        self.random_state = random_state
        self.backend = backend

    # ------------------------------------------------------------ validation

    def _check_X(self, X, reset):
        """X as a float32 or float64 array of binary rows (with the feature count of the fit)."""
        X = validate_X(self, X, dtype=(np.float64, np.float32), reset=reset)
        if not ((X == 0) | (X == 1)).all():
            raise ValueError("X must hold binary values (0 or 1 only): NADE models binary data")
        return X

    def _fitted(self):
        """(kernels, W, V, b, c) of a fitted (or hand-set) model, as the backend's C-contiguous
        arrays of one float dtype; NotFittedError first, then hand-set attributes of a wrong
        shape or with NaN as a ValueError naming them (weights so large that their sums
        overflow the dtype name W or V, as fastgen.nade's ops do)."""
        check_is_fitted(self, _MODEL)
        kernels = self._kernels()
        arrays = [np.asarray(getattr(self, name)) for name in _MODEL]
        if arrays[0].ndim != 2:
            raise ValueError(f"input_weights_ must be 2-D (n_features, n_components), got shape {arrays[0].shape}")
        D, H = arrays[0].shape
        for name, array, shape in zip(_MODEL, arrays, [(D, H), (D, H), (D,), (H,)]):
            if array.shape != shape:
                raise ValueError(f"{name} must have shape {shape} to match input_weights_ {(D, H)}, got {array.shape}")
            if array.dtype.kind not in "biuf":
                raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
            if not np.isfinite(array).all():
                raise ValueError(f"{name} contains NaN or infinity")
        dtype = arrays[0].dtype if arrays[0].dtype in (np.float32, np.float64) else np.float64
        xp = kernels.xp
        W, V, b, c = check_nade(xp, *(xp.ascontiguousarray(xp.asarray(a, dtype=dtype)) for a in arrays))
        return kernels, W, V, b, c

    # ------------------------------------------------------------ training

    def fit(self, X, y=None):
        """Fit the model to binary X (n_samples, n_features) by `n_iter` epochs of minibatch
        updates. All or nothing: the estimator changes only when every epoch has run; an
        exception (KeyboardInterrupt included) leaves it as it was. Parameters that become NaN
        or infinite stop the fit with a FloatingPointError."""
        kernels = self._check_hyperparameters()
        X, data_attributes = self._validate_for_fit(self._check_X, X)
        rng = check_random_state(self.random_state)
        params = self._initial_parameters(kernels.xp, rng, X)
        optimizer = _training.new_state(self.optimizer, kernels.xp, params)
        for epoch in range(1, self.n_iter + 1):
            self._epoch(kernels, X, params, optimizer, rng, f"epoch {epoch}")
        self._commit_fit(data_attributes, self._stored(params, optimizer))
        return self

    def partial_fit(self, X, y=None):
        """One epoch over X, in minibatches of batch_size (one update when X has at most
        batch_size rows), from the current model (initialised from X at the first call), with
        the optimizer's state (Adam's moments) carried over from the last call. All or nothing."""
        kernels = self._check_hyperparameters()
        xp = kernels.xp
        if not hasattr(self, "input_weights_"):
            X, data_attributes = self._validate_for_fit(self._check_X, X)
            rng = check_random_state(self.random_state)
            params = self._initial_parameters(xp, rng, X)
        else:
            _, *params = self._fitted()
            X = self._check_X(X, reset=False)
            data_attributes = None
            rng = check_random_state(self.random_state)
            params = [xp.array(p, copy=True, dtype=params[0].dtype) for p in params]
        previous = getattr(self, "_optimizer_state", None)
        if previous is not None and previous["kind"] == self.optimizer and data_attributes is None:
            optimizer = copy.deepcopy(previous)
        else:
            optimizer = _training.new_state(self.optimizer, xp, params)
        self._epoch(kernels, self._as_dtype(X, params[0].dtype), params, optimizer, rng, "partial_fit")
        state = self._stored(params, optimizer)
        if data_attributes is None:
            self.__dict__.update(state)
        else:
            self._commit_fit(data_attributes, state)
        return self

    @staticmethod
    def _as_dtype(X, dtype):
        return np.ascontiguousarray(X, dtype=dtype)

    def _initial_parameters(self, xp, rng, X):
        """[W, V, b, c] before any update: small normal weights, zero hidden biases and visible
        biases whose conditionals equal the data's marginals (what V = 0 would give)."""
        D, H, dtype = X.shape[1], self.n_components, X.dtype
        W = rng.normal(0, 0.01, (D, H))
        V = rng.normal(0, 0.01, (D, H))
        mean = np.clip(X.mean(axis=0, dtype=np.float64), _MARGINAL_CLIP, 1 - _MARGINAL_CLIP)
        b = np.log(mean) - np.log1p(-mean)
        c = np.zeros(H)
        return [xp.ascontiguousarray(xp.asarray(a, dtype=dtype)) for a in (W, V, b, c)]

    def _epoch(self, kernels, X, params, optimizer, rng, when):
        """One pass over X in minibatches, updating `params` in place; checks they stay finite."""
        xp = kernels.xp
        n = X.shape[0]
        batches = [slice(start, start + self.batch_size) for start in range(0, n, self.batch_size)]
        begin = time.time()
        total = 0.0
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging fit is reported below
            for rows in epoch_batches(X, batches, rng, self.shuffle):
                batch = xp.ascontiguousarray(xp.asarray(rows))
                grad, log_p = kernels.nade.gradient(batch, *params, 1.0 / batch.shape[0])
                total += float(log_p.sum())
                _training.step(optimizer, xp, params, split_gradient(grad, *params[0].shape), self.learning_rate,
                               self.momentum)
        for name, p in zip(_MODEL, params):
            if not bool(xp.isfinite(p).all()):
                raise FloatingPointError(
                    f"the training diverged: {name} holds NaN or infinity after {when}; the estimator is left as it "
                    f"was. Lower learning_rate (now {self.learning_rate}).")
        if self.verbose:
            print(f"[NADE] {when}, mean log-likelihood of its batches = {total / n:.2f}, "
                  f"time = {time.time() - begin:.2f}s")

    @staticmethod
    def _stored(params, optimizer):
        """The fitted attributes: NumPy copies of the parameters, and the optimizer's state."""
        state = {name: np.array(host(p)) for name, p in zip(_MODEL, params)}
        state["_optimizer_state"] = {key: [np.array(host(a)) for a in value] if isinstance(value, list) else value
                                     for key, value in optimizer.items()}
        return state

    # ------------------------------------------------------------ inference

    def score_samples(self, X):
        """The exact log-likelihood log p(v) of each row of binary X (float64, in nats)."""
        kernels, W, V, b, c = self._fitted()
        X = self._as_dtype(self._check_X(X, reset=False), W.dtype)
        return host(kernels.nade.log_likelihood(kernels.xp.asarray(X), W, V, b, c))

    def score(self, X, y=None):
        """The mean exact log-likelihood of the rows of X."""
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1, random_state=None):
        """`n_samples` binary rows drawn exactly from the model by ancestral sampling; the draws
        come from the estimator's Philox stream (the next counter at each call), or from a
        fresh one seeded by `random_state` when given."""
        n_samples = check_count("n_samples", n_samples, minimum=0)
        kernels, W, V, b, c = self._fitted()
        seed, counter = self._counters(random_state, 1)
        return host(kernels.nade.sample(n_samples, W, V, b, c, seed, counter))

    def transform(self, X):
        """The hidden units after the whole row, sigmoid(c + X W): (n_samples, n_components),
        the representation NADE's last conditional would see beyond the last column."""
        kernels, W, _, _, c = self._fitted()
        xp = kernels.xp
        X = xp.asarray(self._as_dtype(self._check_X(X, reset=False), W.dtype))
        return host(1.0 / (1.0 + xp.exp(-(X @ W + c))))

    @property
    def _n_features_out(self):
        return self.input_weights_.shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
