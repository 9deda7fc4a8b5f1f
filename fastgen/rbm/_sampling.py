"""The chains of BernoulliRBM.sample: each starts from uniformly random binary states and runs
block Gibbs sweeps or parallel tempering. A call can run a block of the chains only (chains
first_chain .. of a run of total_chains: the estimator's `client=`, one block per Dask
worker), drawing what those chains draw in the whole run."""
from __future__ import annotations

from .._progress import OFF
from . import _loops, _tempering


def sample_chains(kernels, W, b, c, n_chains, n_steps, seed, counter, betas=None, first_chain=0, total_chains=None,
                  bar=OFF):
    """(samples, accepted, attempts) of chains first_chain .. first_chain + n_chains - 1 on the
    backend's arrays: Gibbs when `betas` is None (accepted and attempts None), else parallel
    tempering at float64 `betas` (its beta = 1 chains, and the swap counts of each pair)."""
    v = kernels.random.random_binary((n_chains, W.shape[0]), W.dtype, seed, counter, first_chain)
    if betas is None:
        v, _ = _loops.gibbs(kernels, v, W, b, c, n_steps, seed, counter, bar=bar, first_row=first_chain)
        return v, None, None
    xp = kernels.xp
    v = xp.ascontiguousarray(xp.broadcast_to(v, (betas.size, *v.shape)))
    states, accepted, attempts = _tempering.run(kernels, v, W, b, c, n_steps, betas, seed, counter, bar, first_chain,
                                                total_chains)
    return states[-1], accepted, attempts
