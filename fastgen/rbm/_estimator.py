"""fastgen.BernoulliRBM: a drop-in for sklearn.neural_network.BernoulliRBM on fastgen's kernels."""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn import neural_network
from sklearn.utils import check_random_state

from .. import rbm as ops
from .._arrays import host
from .._dask import check_rows_per_worker
from .._estimator import public
from .._progress import bar as progress_bar
from .._progress import check_progress
from .._typing import Array, Backend, RandomState
from .._validation import check_betas, check_count
from . import _dask, _loops, _sampling, _tempering
from ._base import Trainer, _RBMBase, is_binary


@public
class BernoulliRBM(_RBMBase, neural_network.BernoulliRBM):
    """Bernoulli restricted Boltzmann machine trained by CD-k or PCD-k: scikit-learn's
    BernoulliRBM (a subclass of it) with the training, inference and sampling loops on
    fastgen's kernels, and log-likelihoods on top.

    Energy E(v, h) = -b.v - c.h - v W h with W = components_.T, b = intercept_visible_,
    c = intercept_hidden_; p(h = 1 | v) = sigmoid(c + v W), p(v = 1 | h) = sigmoid(b + h W^T).

    Parameters
    ----------
    n_components : int, default 256
        Number of binary hidden units.
    learning_rate : float > 0, default 0.1
        Step size of the parameter updates.
    batch_size : int, default 10
        Rows per update; the last batch of an epoch may be shorter (as scikit-learn's).
    n_iter : int >= 0, default 10
        Epochs over the training data.
    verbose : int, default 0
        Print the pseudo-likelihood and time of each epoch, as scikit-learn does.
    random_state : int, RandomState instance or None
        Draws the initial weights (the same numbers as scikit-learn's for the same seed) and
        seeds the Philox streams of every Gibbs draw.
    cd_k : int >= 1, default 1
        Gibbs sweeps per gradient estimate (the k of CD-k / PCD-k).
    persistent : bool, default True
        Keep the negative chains between updates (PCD, scikit-learn's algorithm) instead of
        restarting them from the batch (CD).
    n_chains : int or None, default None
        Number of persistent chains (None: batch_size, as scikit-learn).
    momentum : float in [0, 1), default 0.0
        Classical momentum of the updates.
    weight_decay : float >= 0, default 0.0
        L2 decay of the weights.
    learning_rate_schedule : "constant" or "linear", default "constant"
        "linear" lowers the step size of fit's updates from learning_rate towards zero over
        the n_iter epochs (update t of T takes learning_rate * (1 - t / T)), so that the
        stochastic updates settle; with "constant" (scikit-learn's), PCD's model keeps
        moving with its chains to the end, and which digits it favours depends on where it
        stopped. partial_fit always uses learning_rate.
    shuffle : bool, default False
        Visit the rows in a fresh random order (drawn from random_state) each epoch. Off by
        default, as scikit-learn's BernoulliRBM, whose fixed batch order it then reproduces.
    backend : "cpu", "numba", "cuda" or None
        The kernels' backend (None: the current default, see fastgen.set_backend).

    Attributes
    ----------
    components_ : array of shape (n_components, n_features)
        The weights W^T, in the dtype of X (float32 or float64), as all the arrays below.
    intercept_hidden_ : array of shape (n_components,)
        The hidden bias c.
    intercept_visible_ : array of shape (n_features,)
        The visible bias b.
    h_samples_ : array of shape (n_chains, n_components)
        The hidden states of the persistent chains.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : array of str
        Names of the features seen in fit, when X has column names.

    Notes
    -----
    Differences from scikit-learn's BernoulliRBM:

    - The Gibbs draws come from Philox streams (csrc/include/fastgen/random.h), not from
      the NumPy RandomState: the same random_state gives the same initial weights as
      scikit-learn but other draws, so fitted weights differ (their distribution does not).
      The same seed gives the same model on the same backend, whatever the number of threads.
    - Extra hyperparameters cd_k, n_chains, momentum, weight_decay, learning_rate_schedule,
      shuffle, backend (with their defaults, training is scikit-learn's PCD-1).
    - fit and partial_fit take a Dask array (fastgen[dask]): fit streams the same mini-batches
      from its row chunks, one chunk in memory at a time (the model is the in-memory fit's);
      partial_fit makes one update per chunk (fastgen/rbm/_dask.py).
    - Extra methods: fit_iter (a generator over epochs), sample (Gibbs or parallel tempering),
      free_energy, log_partition (exact or AIS, cached), log_likelihood (binary X only).
    - X may hold any finite values, as in scikit-learn; values outside [0, 1] are used as
      they are in the positive phase (they are no Bernoulli probabilities, and fastgen does
      not warn about them, since scaled test folds leave [0, 1] by rounding).
    - transform, score_samples and gibbs give scikit-learn's results for the same fitted
      attributes (gibbs draws its own random states); _mean_hiddens is fastgen's kernel
      too, and scikit-learn's other private helpers are inherited.
    """

    _ops = ops
    _loops = _loops
    _accept_sparse = True

    def __init__(
        self,
        n_components: int = 256,
        *,
        learning_rate: float = 0.1,
        batch_size: int = 10,
        n_iter: int = 10,
        verbose: int = 0,
        random_state: RandomState = None,
        cd_k: int = 1,
        persistent: bool = True,
        n_chains: int | None = None,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        learning_rate_schedule: str = "constant",
        shuffle: bool = False,
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
        self.learning_rate_schedule = learning_rate_schedule
        self.shuffle = shuffle
        self.backend = backend

    def _check_likelihood_X(self, X):
        X = self._check_X(X, reset=False)
        if not is_binary(X):
            raise ValueError("X must hold binary states (0 or 1 only) for a log-likelihood")
        return X

    def _trainer(self, kernels, state, dtype, X):
        return Trainer(self, kernels, state, dtype, is_binary(X))

    def _progress(self, X, state):
        return f"pseudo-likelihood = {self._with(state).score_samples(X).mean():.2f}"

    # ------------------------------------------------------------ inference

    def transform(self, X: Array) -> np.ndarray:
        """Hidden-unit probabilities p(h = 1 | v = X), shape (n_samples, n_components)."""
        self._fitted()
        return self._mean_hiddens(self._check_X(X, reset=False))

    def _mean_hiddens(self, v):
        """p(h = 1 | v) of visible rows v (or of one visible vector), unchecked, as scikit-learn's helper."""
        kernels, W, _, c = self._fitted()
        rows = v if sp.issparse(v) or np.ndim(v) == 2 else np.reshape(v, (1, -1))
        dense = self._dense(kernels.xp, rows, W.dtype)
        _, p_h = _loops.sample_hidden(kernels, dense, W, c, 0, 0, is_binary(rows) and _loops.is_sparse(kernels, dense))
        p_h = host(p_h)
        return p_h if rows is v else p_h.reshape(np.shape(v)[:-1] + (W.shape[1],))

    def score_samples(self, X: Array) -> np.ndarray:
        """Pseudo-log-likelihood of each row, as scikit-learn defines it: n_features times
        log sigmoid(F(v') - F(v)), v' being v with one random unit flipped. The unit of a row
        is drawn from its content and a seed from random_state, not from its position, so a
        row's score does not depend on the rows around it."""
        kernels, W, b, c = self._fitted()
        X = self._check_X(X, reset=False)
        v = X.toarray() if sp.issparse(X) else np.array(X)
        flip = _flipped_units(v, check_random_state(self.random_state))
        v_flipped = v.copy()
        rows = np.arange(v.shape[0])
        v_flipped[rows, flip] = 1 - v_flipped[rows, flip]
        fe, fe_flipped = (
            host(_loops.free_energy(kernels, self._dense(kernels.xp, a, W.dtype), W, b, c)) for a in (v, v_flipped)
        )
        return -v.shape[1] * np.logaddexp(0, -(fe_flipped - fe))

    def gibbs(self, v: Array) -> np.ndarray:
        """One Gibbs step from visible states v: h ~ p(h|v), then a new v ~ p(v|h), as a
        boolean array (scikit-learn's type)."""
        kernels, W, b, c = self._fitted()
        v = self._check_X(v, reset=False)
        seed, counter = self._stream().take(1)
        v_new, _ = _loops.gibbs(kernels, self._dense(kernels.xp, v, W.dtype), W, b, c, 1, seed, counter, is_binary(v))
        return host(v_new) != 0

    def sample(self, n_samples: int, n_steps: int = 1000, random_state: RandomState = None, method: str = "gibbs",
               n_temperatures: int = 10, betas: Any = None, return_acceptance: bool = False, *,
               progress: bool = False, client: Any = None) -> Any:
        """`n_samples` visible states, each the end of its own chain of `n_steps` sweeps
        started from uniformly random binary states.

        method : "gibbs" (block Gibbs sweeps) or "pt" (parallel tempering: replicas at the
            inverse temperatures `betas`, default np.linspace(0, 1, n_temperatures), exchange
            states between neighbouring temperatures after each sweep; the beta = 1 chains
            are returned, see fastgen.rbm.parallel_tempering).
        return_acceptance : with method "pt", return (samples, acceptance), the swap
            acceptance rate of each pair of neighbouring temperatures.
        progress : show a bar of the sweeps (with `client`: of the workers' blocks done).
        client : a distributed.Client (fastgen[dask]): the chains split into one contiguous
            block per worker (at least one chain each), every worker running this model on
            the backend of the fit. Chain i's draws depend on (seed, i) only, so the samples
            (and acceptance rates) are the one-process call's with the same random_state, bit
            for bit where the products v W come out the same in a block (blocks start on
            multiples of fastgen._dask.ROW_TILE rows for BLAS; README "Beyond one machine").
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
        check_progress(progress)
        if client is not None:
            n_blocks = check_rows_per_worker("n_samples", n_samples, client)
        seed, counter = self._counters(random_state, n_steps)
        betas = betas if method == "pt" else None
        if client is not None:
            with progress_bar(progress, n_blocks, "RBM sampling on Dask workers", unit="block") as shown:
                samples, accepted, attempts = _dask.sample_on_workers(client, kernels.name, W, b, c, n_samples,
                                                                      n_steps, seed, counter, betas, shown)
        else:
            with progress_bar(progress, n_steps, "Gibbs sampling" if method == "gibbs" else "parallel tempering",
                              unit="sweep") as shown:
                samples, accepted, attempts = _sampling.sample_chains(kernels, W, b, c, n_samples, n_steps, seed,
                                                                      counter, betas, bar=shown)
            samples = host(samples)
        if return_acceptance:
            return samples, _tempering.acceptance_rate(accepted, attempts)
        return samples


def _flipped_units(v, rng):
    """A unit index per row of v, uniform over the columns, drawn from the row's values and one
    seed from `rng`: a hash (a random odd multiplier per column, summed modulo 2^64, then
    splitmix64's finaliser) of the float64 bits of the row."""
    n_rows, n_columns = v.shape
    multipliers = rng.randint(0, 2**63, size=n_columns, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    with np.errstate(over="ignore"):
        h = (np.ascontiguousarray(v, dtype=np.float64).view(np.uint64) * multipliers).sum(axis=1, dtype=np.uint64)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return (h % np.uint64(n_columns)).astype(np.intp)
