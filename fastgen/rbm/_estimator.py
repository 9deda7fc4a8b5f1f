"""fastgen.BernoulliRBM: a drop-in for sklearn.neural_network.BernoulliRBM on fastgen's kernels."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from .. import rbm as ops
from .._arrays import host
from .._estimator import public
from .._validation import check_betas, check_count
from . import _loops, _tempering
from ._base import Trainer, _RBMBase, is_binary


@public
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
    _loops = _loops
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
        if not is_binary(X):
            raise ValueError("X must hold binary states (0 or 1 only) for a log-likelihood")
        return X

    def _trainer(self, kernels, state, dtype, X):
        return Trainer(self, kernels, state, dtype, is_binary(X))

    def _progress(self, X):
        return f"pseudo-likelihood = {self.score_samples(X).mean():.2f}"

    # ------------------------------------------------------------ inference

    def transform(self, X):
        """Hidden-unit probabilities p(h = 1 | v = X), shape (n_samples, n_components)."""
        kernels, W, _, c = self._fitted()
        X = self._check_X(X, reset=False)
        v = self._dense(kernels.xp, X, W.dtype)
        _, p_h = _loops.sample_hidden(kernels, v, W, c, 0, 0, is_binary(X) and _loops.is_sparse(kernels, v))
        return host(p_h)

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
            host(_loops.free_energy(kernels, self._dense(kernels.xp, a, W.dtype), W, b, c)) for a in (v, v_flipped)
        )
        return -v.shape[1] * np.logaddexp(0, -(fe_flipped - fe))

    def gibbs(self, v):
        """One Gibbs step from visible states v: h ~ p(h|v), then a new v ~ p(v|h)."""
        kernels, W, b, c = self._fitted()
        v = self._check_X(v, reset=False)
        seed, counter = self._stream().take(1)
        v_new, _ = _loops.gibbs(kernels, self._dense(kernels.xp, v, W.dtype), W, b, c, 1, seed, counter, is_binary(v))
        return host(v_new)

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
        v = kernels.random.random_binary((n_samples, W.shape[0]), W.dtype, seed, counter)
        if method == "gibbs":
            v, _ = _loops.gibbs(kernels, v, W, b, c, n_steps, seed, counter)
            return host(v)
        v = kernels.xp.ascontiguousarray(kernels.xp.broadcast_to(v, (betas.size, *v.shape)))
        states, acceptance = _tempering.run(kernels, v, W, b, c, n_steps, betas, seed, counter)
        samples = host(states[-1])
        return (samples, acceptance) if return_acceptance else samples
