"""fastgen.DBM: a binary deep Boltzmann machine with a scikit-learn API on fastgen.dbm's kernels."""
from __future__ import annotations

import itertools
import time
from numbers import Integral, Real
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state, gen_even_slices
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import dbm as ops
from .._arrays import host
from .._blas import blas_threads_for
from .._constants import RbmStream
from .._estimator import (
    BACKEND_CONSTRAINT,
    LEARNING_RATE_SCHEDULES,
    FastgenEstimatorMixin,
    _PhiloxStream,
    epoch_batches,
    learning_rates,
    public,
    validate_X,
)
from .._progress import OFF
from .._progress import bar as progress_bar
from .._progress import check_progress
from .._typing import Array, Backend, RandomState
from .._validation import check_count, check_dbm
from . import _loops


@public
class DBM(FastgenEstimatorMixin, TransformerMixin, BaseEstimator):
    """Binary deep Boltzmann machine (Salakhutdinov & Hinton, 2009) trained by greedy
    layer-wise pretraining, then stochastic maximum likelihood (SML).

    Parameters
    ----------
    layer_sizes : sequence of int
        The hidden layer sizes n_1 .. n_L (at least two layers, each >= 1); the visible
        size n_0 comes from X.
    learning_rate : float, default 0.005
        SML step size.
    learning_rate_schedule : "constant" or "linear", default "constant"
        "linear" lowers the SML step size from learning_rate towards zero over the n_iter
        epochs (update t of T takes learning_rate * (1 - t / T)), so that the stochastic
        updates settle (Salakhutdinov & Hinton lower it too); the pretraining keeps
        pretrain_learning_rate.
    batch_size : int, default 100
        Rows per SML (and pretraining) update.
    n_iter : int, default 10
        SML epochs (0: the pretrained model only).
    n_chains : int, default 100
        Persistent Gibbs chains of the SML negative phase.
    n_gibbs_steps : int, default 5
        Gibbs sweeps of the chains per update.
    mean_field_steps : int, default 10
        Mean-field sweeps of the positive phase (and of `mean_field`, `transform`,
        `log_likelihood`).
    mean_field_tol : float or None, default None
        Stop the mean-field sweeps early once no value changes by this much.
    pretrain : bool, default True
        Greedy pretraining: L RBMs trained with CD-1 on the up-pass means of the layer
        below; the bottom RBM uses doubled weights upward (p(h|v) = sigmoid(2 v W + c)),
        the top one doubled weights downward, the middle ones are ordinary RBMs whose
        weights are halved in the DBM. Biases: b_0 is the bottom RBM's visible bias, b_L
        the top RBM's hidden bias, and a middle layer takes the mean of the hidden bias of
        the RBM below it and the visible bias of the RBM above it. Without pretraining the
        weights start as N(0, 0.01^2) and the biases at 0.
    pretrain_n_iter : int, default 10
        CD-1 epochs per pretraining RBM.
    pretrain_learning_rate : float, default 0.05
    centering : bool, default False
        Train the centred parametrisation (Montavon & Mueller, 2012): gradients of the
        energy of the states minus offsets (the data mean for v; 0.5 at first, then a slow
        running average of the mean-field means for the hidden layers). The fitted
        `weights_` and `biases_` are the same distribution in the uncentred form that
        every method uses.
    momentum : float in [0, 1), default 0.5
        Classical momentum of the SML updates.
    weight_decay : float, default 0.0
        L2 decay of the weights in the SML updates.
    random_state : int, RandomState or None
        Seeds the initial weights and the Philox streams of every draw; the same seed
        gives the same model on the same backend whatever the number of threads.
    shuffle : bool, default True
        Visit the rows in a fresh random order (drawn from random_state) each epoch, in the
        pretraining and in the training.
    backend : "cpu", "numba", "cuda" or None (the current default).
    verbose : int, default 0
        Print the epochs' times (and the variational bound of the data) when > 0.

    Attributes
    ----------
    weights_ : list of arrays
        [W_0 .. W_{L-1}], W_l of shape (n_l, n_{l+1}).
    biases_ : list of arrays
        [b_0 .. b_L].
    chains_ : list of arrays
        The persistent chain states [x_0 .. x_L].
    offsets_ : list of arrays
        The centring offsets [o_0 .. o_L], zeros without centering.
    n_features_in_ : int
        Number of visible units.

    The arrays are NumPy arrays of X's float dtype.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        *,
        learning_rate: float = 0.005,
        learning_rate_schedule: str = "constant",
        batch_size: int = 100,
        n_iter: int = 10,
        n_chains: int = 100,
        n_gibbs_steps: int = 5,
        mean_field_steps: int = 10,
        mean_field_tol: float | None = None,
        pretrain: bool = True,
        pretrain_n_iter: int = 10,
        pretrain_learning_rate: float = 0.05,
        centering: bool = False,
        momentum: float = 0.5,
        weight_decay: float = 0.0,
        shuffle: bool = True,
        random_state: RandomState = None,
        backend: Backend = None,
        verbose: int = 0,
    ) -> None:
        self.layer_sizes = layer_sizes
        self.shuffle = shuffle
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.n_chains = n_chains
        self.n_gibbs_steps = n_gibbs_steps
        self.mean_field_steps = mean_field_steps
        self.mean_field_tol = mean_field_tol
        self.pretrain = pretrain
        self.pretrain_n_iter = pretrain_n_iter
        self.pretrain_learning_rate = pretrain_learning_rate
        self.centering = centering
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.backend = backend
        self.verbose = verbose

    _parameter_constraints: dict = {
        "layer_sizes": ["array-like"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions(set(LEARNING_RATE_SCHEDULES))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "mean_field_steps": [Interval(Integral, 0, None, closed="left")],
        "mean_field_tol": [Interval(Real, 0, None, closed="neither"), None],
        "pretrain": ["boolean"],
        "shuffle": ["boolean"],
        "pretrain_n_iter": [Interval(Integral, 1, None, closed="left")],
        "pretrain_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "centering": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "backend": BACKEND_CONSTRAINT,
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------ validation

    def _check_layer_sizes(self):
        sizes = self.layer_sizes
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ValueError(f"layer_sizes must list at least two hidden layer sizes, got {sizes!r}")
        return [check_count(f"layer_sizes[{i}]", n) for i, n in enumerate(sizes)]

    def _check_more_hyperparameters(self):
        self._check_layer_sizes()

    def _check_X(self, X, reset):
        X = validate_X(self, X, dtype=(np.float64, np.float32), reset=reset)
        if not reset and X.shape[1] != self.weights_[0].shape[0]:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} has "
                             f"{self.weights_[0].shape[0]} visible units (weights_[0].shape[0])")
        if X.size and (X.min() < 0 or X.max() > 1):
            raise ValueError("X must hold values in [0, 1] (binary data or probabilities)")
        return X

    def _fitted(self):
        """(kernels, weights, biases) of a fitted (or hand-set) model as the backend's
        arrays. NotFittedError comes before any input check."""
        check_is_fitted(self, ("weights_", "biases_"))
        kernels = self._kernels()
        xp = kernels.xp
        dtype = np.asarray(self.weights_[0]).dtype
        dtype = dtype if dtype in (np.float32, np.float64) else np.float64
        weights, biases = check_dbm(xp, [xp.asarray(W, dtype=dtype) for W in self.weights_],
                                    [xp.asarray(b, dtype=dtype) for b in self.biases_])
        return kernels, weights, biases

    # ------------------------------------------------------------ training

    def fit(self, X: Array, y: None = None, *, progress: bool = False) -> DBM:
        """Pretrain (if `pretrain`), then `n_iter` SML epochs on X (n_samples, n_features),
        values in [0, 1]. An exception leaves a previously fitted model unchanged: the
        fitted attributes are committed only at the end. `progress`: show a bar of the
        epochs, pretraining included (`verbose` prints a line per SML epoch instead)."""
        kernels = self._check_hyperparameters()
        X, data_attributes = self._validate_for_fit(self._check_X, X)
        n_layers = len(self._check_layer_sizes())
        total = self.n_iter + (n_layers * self.pretrain_n_iter if self.pretrain else 0)
        with progress_bar(progress, total, type(self).__name__, unit="epoch") as shown:
            self._commit_fit(data_attributes, self._train(kernels, X, shown))
        return self

    def _train(self, kernels, X, bar=OFF):
        xp = kernels.xp
        dtype = X.dtype
        rng = check_random_state(self.random_state)
        sizes = [X.shape[1]] + self._check_layer_sizes()
        stream = _PhiloxStream(rng)
        data = xp.ascontiguousarray(xp.asarray(X))
        n_batches = int(np.ceil(X.shape[0] / self.batch_size))
        batches = list(gen_even_slices(n_batches * self.batch_size, n_batches, n_samples=X.shape[0]))
        if self.pretrain:
            weights, biases = self._pretrain(kernels, data, sizes, batches, rng, stream, bar)
        else:
            weights = [xp.asarray(rng.normal(0, 0.01, (a, b)), dtype=dtype) for a, b in itertools.pairwise(sizes)]
            biases = [xp.zeros(n, dtype=dtype) for n in sizes]
        seed, counter = stream.take(len(sizes))
        chains = [kernels.random.random_binary((self.n_chains, n), dtype, seed, counter + i)
                  for i, n in enumerate(sizes)]
        trainer = _SML(self, kernels, weights, biases, chains, data.mean(axis=0))
        rates = learning_rates(self.learning_rate, self.learning_rate_schedule, self.n_iter * n_batches)
        blas_threads = blas_threads_for(max(self.batch_size, self.n_chains)
                                        * max(a * b for a, b in itertools.pairwise(sizes)))  # the largest product
        begin = time.time()
        for epoch in range(1, self.n_iter + 1):
            with np.errstate(over="ignore", invalid="ignore"), blas_threads:  # a diverging fit is reported below
                for batch in epoch_batches(data, batches, rng, self.shuffle, xp):
                    trainer.learning_rate = next(rates)
                    trainer.step(batch, stream)
            for name, arrays in (("weights_", trainer.weights), ("biases_", trainer.biases)):
                if not all(bool(kernels.xp.isfinite(a).all()) for a in arrays):
                    raise FloatingPointError(
                        f"the training diverged: {name} holds NaN or infinity after epoch {epoch}; the estimator is "
                        f"left as it was. Lower learning_rate (now {self.learning_rate}).")
            bar.update()
            if self.verbose:
                mu = trainer.mean_field(data)
                bound = float(_loops.variational_bound(data, mu, trainer.weights, trainer.biases).mean())
                print(f"[{type(self).__name__}] Iteration {epoch}, mean variational bound of log p*(v) = "
                      f"{bound:.2f}, time = {time.time() - begin:.2f}s")
                begin = time.time()
        return {
            "weights_": [np.array(host(W)) for W in trainer.weights],
            "biases_": [np.array(host(b)) for b in trainer.biases],
            "offsets_": [np.array(host(o)) for o in trainer.offsets],
            "chains_": [np.array(host(x)) for x in trainer.chains],
            "_philox": stream,
        }

    def _pretrain(self, kernels, data, sizes, batches, rng, stream, bar=OFF):
        """Greedy layer-wise pretraining (see the class docstring): weights and biases; each
        epoch ticks `bar`."""
        xp = kernels.xp
        n_layers = len(sizes) - 1
        rbms = []
        below = data
        for layer in range(n_layers):
            up = 2.0 if layer == 0 else 1.0  # the bottom RBM doubles its weights upward
            down = 2.0 if layer == n_layers - 1 else 1.0  # the top RBM doubles them downward
            W, b, c = _pretrain_rbm(kernels, below, sizes[layer + 1], up, down, self.pretrain_n_iter,
                                    self.pretrain_learning_rate, batches, rng, stream, bar, self.shuffle)
            rbms.append((W, b, c))
            if layer < n_layers - 1:  # the next RBM's data: these means (the draws are not used)
                _, below = kernels.rbm.bernoulli(below @ W * below.dtype.type(up), c, 0, 0, RbmStream.HIDDEN)
        weights = [W if layer in (0, n_layers - 1) else W * W.dtype.type(0.5) for layer, (W, _, _) in enumerate(rbms)]
        biases = [rbms[0][1]]
        for layer in range(1, n_layers):
            biases.append((rbms[layer - 1][2] + rbms[layer][1]) * rbms[0][1].dtype.type(0.5))
        biases.append(rbms[-1][2])
        return [xp.ascontiguousarray(W) for W in weights], biases

    # ------------------------------------------------------------ inference

    def mean_field(self, X: Array, n_steps: int | None = None, tol: float | None = None) -> list[np.ndarray]:
        """Mean-field posterior [mu_1 .. mu_L] of the hidden layers given the rows of X, by
        fastgen.dbm.mean_field; `n_steps` and `tol` default to `mean_field_steps` and
        `mean_field_tol`."""
        kernels, weights, biases = self._fitted()
        X = self._check_X(X, reset=False)
        n_steps = self.mean_field_steps if n_steps is None else n_steps
        tol = self.mean_field_tol if tol is None else tol
        mu = ops.mean_field(X, weights, biases, n_steps=n_steps, tol=tol, backend=kernels.name)
        return [np.asarray(host(m)) for m in mu]

    def transform(self, X: Array) -> np.ndarray:
        """The top layer's mean-field posterior, shape (n_samples, layer_sizes[-1])."""
        return self.mean_field(X)[-1]

    def sample(self, n_samples: int, n_steps: int = 1000, random_state: RandomState = None, *,
               progress: bool = False) -> np.ndarray:
        """`n_samples` binary visible states, each the end of its own chain of `n_steps`
        Gibbs sweeps (fastgen.dbm.gibbs) started from uniformly random states of every layer.
        `progress`: show a bar of the sweeps."""
        n_samples = check_count("n_samples", n_samples)
        n_steps = check_count("n_steps", n_steps)
        check_progress(progress)
        kernels, weights, biases = self._fitted()
        seed, counter = self._counters(random_state, n_steps + len(biases))
        dtype = weights[0].dtype
        states = [kernels.random.random_binary((n_samples, b.shape[0]), dtype, seed, counter + n_steps + i)
                  for i, b in enumerate(biases)]
        with progress_bar(progress, n_steps, "Gibbs sampling", unit="sweep") as shown:
            states = _loops.gibbs(kernels, states, weights, biases, n_steps, seed, counter, shown)
        return np.asarray(host(states[0]))

    # ------------------------------------------------------------ log-likelihood

    def log_partition(self, method: str = "ais", *, progress: bool = False, **kwargs: Any) -> Any:
        """log Z: method "exact" (a float, fastgen.dbm.log_partition_exact; at most 25 units
        in the smaller parity class) or "ais" (an AISResult, fastgen.dbm.log_partition_ais
        with the options n_chains, betas, base_visible_bias, seed). Cached for these
        arguments until the parameters change (by training or by hand). `progress`: show
        a bar of the AIS steps."""
        _, weights, biases = self._fitted()
        functions = {"exact": ops.log_partition_exact, "ais": ops.log_partition_ais}
        return self._cached_log_partition(method, kwargs, functions, [*self.weights_, *self.biases_],
                                          (weights, biases), progress)

    def log_likelihood(self, X: Array, method: str = "ais", return_bounds: bool = False, *, progress: bool = False,
                       **kwargs: Any) -> float | tuple[float, float, float]:
        """Estimate of the mean log p(v) over the rows of binary X: the mean of the mean-field
        variational lower bounds of log p*(v) (fastgen.dbm.variational_bound, with
        `mean_field_steps` sweeps) minus log Z from `log_partition(method, **kwargs)`.
        Being built on a lower bound of each log p*(v), it is itself a lower bound when
        log Z is exact, and an estimate of one with AIS.

        return_bounds : return (estimate, lower, upper) instead of the estimate alone: the
            range that the uncertainty of log Z gives, lower = mean bound - log_z_upper and
            upper = mean bound - log_z_lower of the AISResult (+inf when AIS's lower bound
            is -inf); with "exact" all three are the estimate.
        progress : show a bar of the AIS steps (when log Z is not cached yet)."""
        if not isinstance(return_bounds, (bool, np.bool_)):
            raise TypeError(f"return_bounds must be True or False, got {return_bounds!r}")
        self._fitted()
        X = self._check_X(X, reset=False)
        if not bool(((X == 0) | (X == 1)).all()):
            raise ValueError("X must hold binary states (0 or 1 only) for a log-likelihood")
        mu = self.mean_field(X)
        bound = float(np.mean(_loops.variational_bound(X, mu, self.weights_, self.biases_)))
        log_z = self.log_partition(method, progress=progress, **kwargs)
        if method == "exact":
            estimate = bound - log_z
            return (estimate, estimate, estimate) if return_bounds else estimate
        estimate = bound - log_z.log_z
        return (estimate, bound - log_z.log_z_upper, bound - log_z.log_z_lower) if return_bounds else estimate

    @property
    def _n_features_out(self):
        return self.weights_[-1].shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _pretrain_rbm(kernels, data, n_hidden, up, down, n_iter, learning_rate, batches, rng, stream, bar=OFF,
                  shuffle=False):
    """CD-1 on an RBM whose weights count `up` times in p(h | v) = sigmoid(up v W + c) and
    `down` times in p(v | h) = sigmoid(down h W^T + b) (Salakhutdinov & Hinton, 2009):
    h0 ~ p(h | v), reconstruction means p(v | h0), their hidden means, as in their code.
    Returns (W, b, c)."""
    xp = kernels.xp
    dtype = data.dtype
    up, down = dtype.type(up), dtype.type(down)
    W = xp.asarray(rng.normal(0, 0.01, (data.shape[1], n_hidden)), dtype=dtype)
    b = xp.zeros(data.shape[1], dtype=dtype)
    c = xp.zeros(n_hidden, dtype=dtype)
    for _ in range(n_iter):
        for v in epoch_batches(data, batches, rng, shuffle, xp):
            seed, call = stream.take(1)
            h, p_h = kernels.rbm.bernoulli(v @ W * up, c, seed, call, RbmStream.HIDDEN)
            _, p_v = kernels.rbm.bernoulli(h @ W.T * down, b, seed, call, RbmStream.VISIBLE)
            _, p_h_model = kernels.rbm.bernoulli(p_v @ W * up, c, seed, call, RbmStream.HIDDEN)  # means only
            scale = dtype.type(learning_rate / v.shape[0])
            W += (v.T @ p_h - p_v.T @ p_h_model) * scale
            b += (v.sum(axis=0) - p_v.sum(axis=0)) * scale
            c += (p_h.sum(axis=0) - p_h_model.sum(axis=0)) * scale
        bar.update()
    return W, b, c


class _SML:
    """Parameters of one fit, the persistent chains, and the SML step.

    With centering (Montavon & Mueller, 2012) the trained parameters are those of the
    centred energy -sum_l (x_l - o_l).c_l - sum_l (x_l - o_l) W_l (x_{l+1} - o_{l+1});
    without it the offsets o_l stay 0 and c_l are the biases. The kernels always run the
    same distribution in uncentred form, with the biases b_l = c_l - o_{l-1} W_{l-1} -
    W_l o_{l+1} (`biases`). Offsets: the data mean for v, 0.5 at first for the hidden
    layers, then a running average (rate OFFSET_RATE) of the mean-field means of the
    batches; when an offset moves, c is changed so that b (the model) stays the same."""

    OFFSET_RATE = 0.01

    def __init__(self, estimator, kernels, weights, biases, chains, data_mean):
        xp = kernels.xp
        self.kernels = kernels
        self.weights, self.chains = weights, chains
        self.centering = estimator.centering
        self.offsets = [xp.zeros_like(b) for b in biases]
        if self.centering:
            self.offsets = [data_mean.astype(biases[0].dtype)] + [xp.full_like(b, 0.5) for b in biases[1:]]
        self.centred = [b + shift for b, shift in zip(biases, self._bias_shifts(self.offsets))]
        self.biases = biases
        self.learning_rate = estimator.learning_rate
        self.momentum = estimator.momentum
        self.weight_decay = estimator.weight_decay
        self.n_gibbs_steps = estimator.n_gibbs_steps
        self.mean_field_steps = estimator.mean_field_steps
        self.mean_field_tol = estimator.mean_field_tol
        self.velocity = [xp.zeros_like(p) for p in weights + self.centred] if self.momentum else None

    def _bias_shifts(self, offsets):
        """o_{l-1} W_{l-1} + W_l o_{l+1} for every layer l: c_l - shift_l = b_l."""
        shifts = [self.kernels.xp.zeros_like(o) for o in offsets]
        for layer, W in enumerate(self.weights):
            shifts[layer] += W @ offsets[layer + 1]
            shifts[layer + 1] += offsets[layer] @ W
        return shifts

    def mean_field(self, v):
        return _loops.mean_field(self.kernels, v, self.weights, self.biases, self.mean_field_steps,
                               self.mean_field_tol, 0.0)

    def step(self, v, stream):
        """One update: mean-field positive phase, `n_gibbs_steps` sweeps of the chains for
        the negative phase, then ascend the (data - model) statistics of the centred states."""
        data = [v] + self.mean_field(v)
        seed, counter = stream.take(self.n_gibbs_steps)
        self.chains = _loops.gibbs(self.kernels, self.chains, self.weights, self.biases, self.n_gibbs_steps, seed,
                                 counter)
        dtype = v.dtype.type
        scale_data = dtype(self.learning_rate / v.shape[0])
        scale_model = dtype(self.learning_rate / self.chains[0].shape[0])
        data_c = [x - o for x, o in zip(data, self.offsets)] if self.centering else data
        model_c = [x - o for x, o in zip(self.chains, self.offsets)] if self.centering else self.chains
        steps = []
        for layer, W in enumerate(self.weights):
            dW = data_c[layer].T @ data_c[layer + 1]
            dW *= scale_data
            dW -= (model_c[layer].T @ model_c[layer + 1]) * scale_model
            if self.weight_decay:
                dW -= dtype(self.learning_rate * self.weight_decay) * W
            steps.append(dW)
        for layer in range(len(self.centred)):
            steps.append(data[layer].sum(axis=0) * scale_data - self.chains[layer].sum(axis=0) * scale_model)
        for i, (param, step) in enumerate(zip(self.weights + self.centred, steps)):
            if self.velocity is not None:
                velocity = self.velocity[i]
                velocity *= dtype(self.momentum)
                velocity += step
                step = velocity
            param += step
        if self.centering:
            moved = [self.kernels.xp.zeros_like(self.offsets[0])]
            moved += [dtype(self.OFFSET_RATE) * (m.mean(axis=0) - o) for m, o in zip(data[1:], self.offsets[1:])]
            for offset, delta, centred, shift in zip(self.offsets, moved, self.centred, self._bias_shifts(moved)):
                offset += delta
                centred += shift
        self.biases = [c - shift for c, shift in zip(self.centred, self._bias_shifts(self.offsets))]
