"""fastgen.GaussianBernoulliRBM: an RBM with real-valued visible units, on the machinery of the
RBM estimators (fastgen/rbm/_base.py) and the loops of fastgen.gbrbm."""
from __future__ import annotations

import math
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .. import gbrbm as ops
from .._arrays import host
from .._constants import RbmStream
from .._estimator import public
from .._progress import bar as progress_bar
from .._progress import check_progress
from .._typing import Array, Backend, RandomState
from .._validation import check_count, check_precisions, check_sigma_values
from ..rbm._base import Trainer, _RBMBase
from . import _loops


@public
class GaussianBernoulliRBM(_RBMBase):
    """Gaussian-Bernoulli restricted Boltzmann machine (real-valued visible units, binary
    hidden units) trained by CD-k or PCD-k.

    Model (fastgen.gbrbm), with W = components_.T, b = intercept_visible_,
    c = intercept_hidden_ and sigma = sigma_ (per-feature standard deviations)::

        E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h - sum_ij (v_i / sigma_i^2) W_ij h_j
        p(v | h) = N(b + W h, diag sigma^2),   p(h | v) = sigmoid(c + (v / sigma^2) W).

    Parameters
    ----------
    n_components : int, default 256
        Number of binary hidden units.
    learning_rate : float > 0, default 0.01
        Step size of the parameter updates; smaller than BernoulliRBM's 0.1, as the visible
        units are unbounded, and the gradients with them.
    batch_size : int, default 10
        Rows per update; the last batch of an epoch may be shorter.
    n_iter : int >= 0, default 10
        Epochs over the training data.
    verbose : int, default 0
        Print the mean free energy of X and the time of each epoch, in the format of
        scikit-learn's BernoulliRBM (which prints its pseudo-likelihood).
    random_state : int, RandomState instance or None
        Draws the initial weights and seeds the Philox streams of every draw.
    cd_k : int >= 1, default 1
        Gibbs sweeps per gradient estimate (the k of CD-k / PCD-k).
    persistent : bool, default True
        Keep the negative chains between updates (PCD) instead of restarting them from
        the batch (CD).
    n_chains : int or None, default None
        Number of persistent chains (None: batch_size).
    momentum : float in [0, 1), default 0.0
        Classical momentum of the updates.
    weight_decay : float >= 0, default 0.0
        L2 decay of the weights.
    sigma : float or array of shape (n_features,), default 1.0
        The standard deviations sigma_ start at (with learn_sigma=False, stay at).
    learn_sigma : bool, default False
        Learn z_i = log sigma_i^2 by gradient ascent as well (Cho, Ilin & Raiko, 2011):
        d log p / d z_i = e^{-z_i} (0.5 (v_i - b_i)^2 - v_i (W h)_i), data minus model.
    min_sigma : float > 0, default 0.01
        The floor of a learned sigma_ (after each update).
    learning_rate_schedule : "constant" or "linear", default "constant"
        "linear" lowers the step size of fit's updates from learning_rate towards zero over
        the n_iter epochs (update t of T takes learning_rate * (1 - t / T)), so that the
        stochastic updates settle; with "constant", PCD's model keeps moving with its
        chains to the end. partial_fit always uses learning_rate.
    shuffle : bool, default True
        Visit the rows in a fresh random order (drawn from random_state) each epoch: on by
        default (no peer's order to reproduce; reshuffled mini-batches train better).
    backend : "cpu", "numba", "cuda" or None
        The kernels' backend (None: the current default, see fastgen.set_backend).

    Notes
    -----
    intercept_visible_ starts at the mean of the training data (of the first batch for
    partial_fit), the weights as BernoulliRBM's (N(0, 0.01^2)) and the hidden bias at zero.

    Data: any finite real dense array (sparse matrices are refused). With sigma fixed at 1,
    standardise each feature to zero mean and unit variance first, e.g.::

        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        model = make_pipeline(StandardScaler(), fastgen.GaussianBernoulliRBM(n_components=64))
        H = model.fit_transform(X)     # p(h = 1 | v), shape (n_samples, 64)

    or pass sigma = the features' standard deviations, or learn them (learn_sigma=True).
    Randomness comes from Philox streams seeded by `random_state`; the same seed gives the
    same model on the same backend whatever the number of threads.

    log_partition / log_likelihood: method "exact" (fastgen.gbrbm.log_partition_exact, at
    most 25 hidden units) or "ais" (fastgen.gbrbm.log_partition_ais, options n_chains,
    betas, seed); log p(v) is a density, so it depends on the units of X.
    """

    _ops = ops
    _loops = _loops
    _model_attributes = ("components_", "intercept_visible_", "intercept_hidden_", "sigma_")
    _parameter_constraints: dict = {
        **_RBMBase._parameter_constraints,
        "sigma": [Interval(Real, 0, None, closed="neither"), "array-like"],
        "learn_sigma": ["boolean"],
        "min_sigma": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_components: int = 256,
        *,
        learning_rate: float = 0.01,
        batch_size: int = 10,
        n_iter: int = 10,
        verbose: int = 0,
        random_state: RandomState = None,
        cd_k: int = 1,
        persistent: bool = True,
        n_chains: int | None = None,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        sigma: float | Array = 1.0,
        learn_sigma: bool = False,
        min_sigma: float = 1e-2,
        learning_rate_schedule: str = "constant",
        shuffle: bool = True,
        backend: Backend = None,
    ) -> None:
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
        self.sigma = sigma
        self.learn_sigma = learn_sigma
        self.min_sigma = min_sigma
        self.learning_rate_schedule = learning_rate_schedule
        self.shuffle = shuffle
        self.backend = backend

    def _check_more_hyperparameters(self):
        check_sigma_values("sigma", self.sigma)

    def _initial_state(self, rng, X, dtype):
        sigma = check_sigma_values("sigma", self.sigma)
        if sigma.ndim == 1 and sigma.shape[0] != X.shape[1]:
            raise ValueError(f"sigma has {sigma.shape[0]} values but X has {X.shape[1]} features; "
                             "pass one standard deviation per feature, or a single number")
        state = super()._initial_state(rng, X, dtype)
        state["intercept_visible_"] = np.asarray(X.mean(axis=0), dtype=dtype)
        state["sigma_"] = check_precisions(np, "sigma", np.broadcast_to(sigma, (X.shape[1],)).astype(dtype))
        if self.learn_sigma:
            check_precisions(np, "min_sigma", np.array([self.min_sigma], dtype=dtype))
        return state

    def _fitted(self):
        kernels, *params = super()._fitted()
        check_precisions(kernels.xp, "sigma_", params[-1])
        return (kernels, *params)

    def _trainer(self, kernels, state, dtype, X):
        return _GaussianTrainer(self, kernels, state, dtype)

    def _progress(self, X, state):
        return f"mean free energy = {self._with(state).free_energy(X).mean():.2f}"

    # ------------------------------------------------------------ inference

    def transform(self, X: Array) -> np.ndarray:
        """Hidden-unit probabilities p(h = 1 | v = X), shape (n_samples, n_components)."""
        kernels, W, _, c, sigma = self._fitted()
        X = self._check_X(X, reset=False)
        v = self._dense(kernels.xp, X, W.dtype)
        _, p_h = _loops.sample_hidden(kernels, v * _loops.inverse_variance(sigma), W, c, 0, 0)
        return host(p_h)

    def gibbs(self, v: Array) -> np.ndarray:
        """One Gibbs step from visible states v: h ~ p(h|v), then a new v ~ p(v|h)."""
        kernels, W, b, c, sigma = self._fitted()
        v = self._check_X(v, reset=False)
        seed, counter = self._stream().take(1)
        v_new, _ = _loops.gibbs(kernels, self._dense(kernels.xp, v, W.dtype), W, b, c, sigma, 1, seed, counter)
        return host(v_new)

    def sample(self, n_samples: int, n_steps: int = 1000, random_state: RandomState = None, *,
               progress: bool = False) -> np.ndarray:
        """`n_samples` visible states, each the end of its own chain of `n_steps` Gibbs
        sweeps started from v ~ N(intercept_visible_, sigma_^2). `progress`: show a bar of
        the sweeps."""
        n_samples = check_count("n_samples", n_samples)
        n_steps = check_count("n_steps", n_steps)
        check_progress(progress)
        kernels, W, b, c, sigma = self._fitted()
        seed, counter = self._counters(random_state, n_steps)
        start = kernels.xp.zeros((n_samples, W.shape[0]), dtype=W.dtype)
        v, _ = kernels.gbrbm.gaussian(start, b, sigma, seed, counter, RbmStream.INIT)
        with progress_bar(progress, n_steps, "Gibbs sampling", unit="sweep") as shown:
            v, _ = _loops.gibbs(kernels, v, W, b, c, sigma, n_steps, seed, counter, shown)
        return host(v)


class _GaussianTrainer(Trainer):
    """_Trainer with the Gaussian-Bernoulli statistics, and log sigma^2 as a fourth
    parameter when it is learned."""

    def __init__(self, estimator, kernels, state, dtype):
        super().__init__(estimator, kernels, state, dtype, binary_data=False)
        xp = kernels.xp
        self.sigma = xp.asarray(state["sigma_"], dtype=dtype)
        self.learn_sigma = estimator.learn_sigma
        if self.learn_sigma:
            self.log_var = 2 * xp.log(self.sigma)
            self.min_log_var = 2 * math.log(estimator.min_sigma)

    def _parameters(self):
        return [self.W, self.b, self.c, self.log_var] if self.learn_sigma else [self.W, self.b, self.c]

    def _statistics(self, v_data, chains, seed, counter):
        dW, db, dc, d_log_var, chains = _loops.cd_statistics(
            self.kernels, v_data, self.W, self.b, self.c, self.sigma, self.k, chains, seed, counter,
            scale=self.learning_rate, sigma_gradient=self.learn_sigma,
        )
        return ([dW, db, dc, d_log_var] if self.learn_sigma else [dW, db, dc]), chains

    def _updated(self):
        if self.learn_sigma:
            xp = self.kernels.xp
            xp.maximum(self.log_var, self.min_log_var, out=self.log_var)
            self.sigma = xp.exp(0.5 * self.log_var)

    def stored(self):
        return {**super().stored(), "sigma_": np.array(host(self.sigma))}
