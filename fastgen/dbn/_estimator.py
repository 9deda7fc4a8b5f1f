"""fastgen.DBN: a deep belief net, a stack of RBMs trained greedily (Hinton, Osindero & Teh, 2006)."""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import gbrbm as gbrbm_ops
from .. import rbm as rbm_ops
from .._constants import RbmStream
from .._estimator import (
    BACKEND_CONSTRAINT,
    FastgenEstimatorMixin,
    _PhiloxStream,
    public,
    validate_X,
)
from .._progress import check_progress
from .._typing import Array, Backend, RandomState
from .._validation import check_count, check_probabilities, check_real, check_sigma_values
from ..gbrbm._estimator import GaussianBernoulliRBM
from ..rbm._estimator import BernoulliRBM

_FIRST_LAYERS = ("bernoulli", "gaussian")


def _per_layer(name, value, n_layers, check):
    """`value` for each of `n_layers` layers: one value for all, or a sequence of n_layers."""
    values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value] * n_layers
    if len(values) != n_layers:
        raise ValueError(f"{name} must be one value or {n_layers} values (one per layer), got {len(values)}")
    return [check(name, v) for v in values]


def _check_rate(name, value):
    return check_real(name, value, 0.0, math.inf, low_open=True, high_open=True)


@public
class DBN(FastgenEstimatorMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Deep belief net: RBMs stacked and trained greedily, layer by layer.

    layer_sizes : the hidden layer sizes (n_1, ..., n_L), at least one; n_0 comes from X.
    first_layer : "bernoulli" (a fastgen.BernoulliRBM on data in [0, 1]) or "gaussian" (a
        fastgen.GaussianBernoulliRBM on real data, with `sigma` and `learn_sigma`; standardise
        the data first, see there). The layers above are BernoulliRBMs.
    learning_rate, n_iter : one value for every layer or one per layer.
    batch_size, cd_k, persistent, momentum, weight_decay, learning_rate_schedule : as in
        BernoulliRBM, for every layer (the schedule spans each layer's own epochs).
    shuffle : bool, default True
        Each layer visits the rows in a fresh random order each epoch (see BernoulliRBM).
    propagate : what each layer is trained on: "mean" (the posterior means p(h = 1 | x) of
        the layer below, the usual choice) or "sample" (binary states drawn from them).

    Training: the RBM of layer l is fitted to the up-pass of the data through layers < l.
    `transform` is that up-pass (posterior means) to the top layer. `sample` runs Gibbs in the
    top RBM (the DBN's undirected top two layers), then the directed down-pass: each lower
    layer drawn from p(x_l | x_{l+1}) of its RBM, down to the visible units.

    Fitted attributes: `rbms_` (the fitted RBM estimators, bottom first), `n_features_in_`.
    """

    # those shared by every layer are the layers' own constraints
    _parameter_constraints: dict = {
        **{name: BernoulliRBM._parameter_constraints[name]
           for name in ("batch_size", "cd_k", "persistent", "momentum", "weight_decay", "learning_rate_schedule",
                        "shuffle")},
        **{name: GaussianBernoulliRBM._parameter_constraints[name] for name in ("sigma", "learn_sigma")},
        "layer_sizes": ["array-like"],
        "first_layer": [StrOptions(set(_FIRST_LAYERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "n_iter": [Interval(Integral, 0, None, closed="left"), "array-like"],
        "propagate": [StrOptions({"mean", "sample"})],
        "random_state": ["random_state"],
        "backend": BACKEND_CONSTRAINT,
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        layer_sizes: Sequence[int] = (256, 256),
        *,
        first_layer: str = "bernoulli",
        learning_rate: float = 0.1,
        batch_size: int = 10,
        n_iter: int = 10,
        cd_k: int = 1,
        persistent: bool = True,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        learning_rate_schedule: str = "constant",
        propagate: str = "mean",
        sigma: float | Array = 1.0,
        learn_sigma: bool = False,
        shuffle: bool = True,
        random_state: RandomState = None,
        backend: Backend = None,
        verbose: int = 0,
    ) -> None:
        self.layer_sizes = layer_sizes
        self.first_layer = first_layer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.cd_k = cd_k
        self.persistent = persistent
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.learning_rate_schedule = learning_rate_schedule
        self.propagate = propagate
        self.sigma = sigma
        self.learn_sigma = learn_sigma
        self.shuffle = shuffle
        self.random_state = random_state
        self.backend = backend
        self.verbose = verbose

    # ------------------------------------------------------------ construction

    def _layer_sizes(self):
        try:
            sizes = list(self.layer_sizes)
        except TypeError:
            raise ValueError(f"layer_sizes must be a sequence of hidden layer sizes, got {self.layer_sizes!r}") \
                from None
        if not sizes:
            raise ValueError("layer_sizes must hold at least one hidden layer size")
        return [check_count("layer_sizes[{}]".format(i), n) for i, n in enumerate(sizes)]

    def _layers(self):
        """(size, learning rate, epochs) of each layer."""
        sizes = self._layer_sizes()
        rates = _per_layer("learning_rate", self.learning_rate, len(sizes), _check_rate)
        epochs = _per_layer("n_iter", self.n_iter, len(sizes), lambda name, v: check_count(name, v, minimum=0))
        return list(zip(sizes, rates, epochs))

    def _check_more_hyperparameters(self):
        self._layers()
        if self.first_layer == "gaussian":
            check_sigma_values("sigma", self.sigma)

    def _make_rbms(self, rng):
        """Unfitted RBM estimators of every layer, their hyperparameters checked, seeded from `rng`."""
        self._check_hyperparameters()
        common = dict(batch_size=self.batch_size, cd_k=self.cd_k, persistent=self.persistent,
                      momentum=self.momentum, weight_decay=self.weight_decay,
                      learning_rate_schedule=self.learning_rate_schedule, shuffle=self.shuffle, backend=self.backend)
        rbms = []
        for layer, (size, rate, n_iter) in enumerate(self._layers()):
            seed = int(rng.randint(0, 2**31 - 1))
            options = dict(common, n_components=size, learning_rate=rate, n_iter=n_iter, random_state=seed)
            if layer == 0 and self.first_layer == "gaussian":
                rbm = GaussianBernoulliRBM(sigma=self.sigma, learn_sigma=self.learn_sigma, **options)
            else:
                rbm = BernoulliRBM(**options)
            rbms.append(rbm)
        return rbms

    # ------------------------------------------------------------ training

    def fit(self, X: Array, y: None = None, *, progress: bool = False) -> DBN:
        """Train the layers greedily, bottom first. A failure leaves a fitted model as it was.
        `progress`: show a bar of each layer's epochs."""
        check_progress(progress)
        rng = check_random_state(self.random_state)
        rbms = self._make_rbms(rng)
        X, data_attributes = self._validate_for_fit(self._check_X, X)
        stream = _PhiloxStream(rng)
        data = X
        for layer, rbm in enumerate(rbms):
            rbm.fit(data, progress=progress)
            below_top = layer + 1 < len(rbms)
            if self.verbose or below_top:
                means = rbm.transform(data)
            if self.verbose:
                print(f"[DBN] layer {layer + 1}/{len(rbms)} trained, reconstruction error "
                      f"{_reconstruction_error(rbm, data, means):.4f}")
            if below_top:
                data = self._propagate(rbm, means, stream)
        self._commit_fit(data_attributes, {"rbms_": rbms, "_philox": stream})
        return self

    def _check_X(self, X, reset):
        X = validate_X(self, X, accept_sparse=self._accepts_sparse(), dtype=(np.float64, np.float32), reset=reset)
        if self.first_layer == "bernoulli":  # binary visible units: probabilities only (no peer says otherwise)
            check_probabilities(np, "X", X.data if sp.issparse(X) else X)
        return X

    def _accepts_sparse(self):
        return "csr" if self.first_layer == "bernoulli" else False

    def _propagate(self, rbm, means, stream):
        """The training data of the next layer from the posterior means of `rbm`: the means,
        or states drawn from them."""
        if self.propagate == "mean":
            return means
        seed, counter = stream.take(1)
        uniforms = self._kernels().random.uniforms(means.size, seed, counter, RbmStream.HIDDEN).reshape(means.shape)
        return (uniforms < means).astype(means.dtype)

    # ------------------------------------------------------------ inference

    def _check_fitted_X(self, X):
        check_is_fitted(self, "rbms_")
        return self._check_X(X, reset=False)

    def transform(self, X: Array) -> np.ndarray:
        """The up-pass: posterior means of the top hidden layer, shape (n_samples, layer_sizes[-1])."""
        data = self._check_fitted_X(X)
        for rbm in self.rbms_:
            data = rbm.transform(data)
        return data

    def reconstruction_errors(self, X: Array) -> list[float]:
        """Mean squared error of each layer's mean reconstruction of its own input (the
        up-pass of X to that layer): E[x | h] at h = p(h = 1 | x), one value per layer."""
        data = self._check_fitted_X(X)
        errors = []
        for rbm in self.rbms_:
            means = rbm.transform(data)
            errors.append(_reconstruction_error(rbm, data, means))
            data = means
        return errors

    def sample(self, n_samples: int, n_steps: int = 1000, random_state: RandomState = None, *,
               progress: bool = False) -> np.ndarray:
        """`n_samples` visible vectors: `n_steps` Gibbs sweeps in the top RBM from random
        states, then the ancestral down-pass through the lower layers (each layer drawn, the
        visible layer too: binary states, or real values for a Gaussian first layer).
        `progress`: show a bar of the sweeps."""
        check_is_fitted(self, "rbms_")
        n_samples = check_count("n_samples", n_samples)
        n_steps = check_count("n_steps", n_steps)
        # The top RBM and the down-pass draw from Philox streams of different seeds.
        rng = None if random_state is None else check_random_state(random_state)
        x = self.rbms_[-1].sample(n_samples, n_steps, random_state=rng, progress=progress)
        stream = self._stream() if rng is None else _PhiloxStream(rng)
        for rbm in reversed(self.rbms_[:-1]):
            seed, counter = stream.take(1)
            x = _visible_given_hidden(rbm, x, seed, counter)
        return x

    @property
    def _n_features_out(self):
        return self.rbms_[-1].components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.first_layer == "bernoulli"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _visible_given_hidden(rbm, h, seed, counter):
    """A draw of x ~ p(x | h) from one fitted layer, for binary h."""
    W = np.ascontiguousarray(rbm.components_.T)
    h = np.asarray(h, dtype=W.dtype)
    if hasattr(rbm, "sigma_"):
        x, _ = gbrbm_ops.sample_visible(h, W, rbm.intercept_visible_, rbm.sigma_, seed=seed, counter=counter,
                                    backend=rbm.backend)
    else:
        x, _ = rbm_ops.sample_visible(h, W, rbm.intercept_visible_, seed=seed, counter=counter, backend=rbm.backend)
    return x


def _reconstruction_error(rbm, data, means):
    """Mean squared error between `data` and E[x | h = means] of one layer (float64), `means`
    = p(h = 1 | data)."""
    dense = data.toarray() if hasattr(data, "toarray") else np.asarray(data, dtype=np.float64)
    activation = np.asarray(means, dtype=np.float64) @ rbm.components_ + rbm.intercept_visible_
    mean = activation if hasattr(rbm, "sigma_") else 0.5 * (1.0 + np.tanh(0.5 * activation))
    return float(np.mean((mean - dense) ** 2))
