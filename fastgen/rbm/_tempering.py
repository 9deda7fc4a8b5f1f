"""Parallel tempering (replica exchange) for the binary RBM. Public through fastgen.rbm.

Replica k samples the tempered model exp(-beta_k E(v, h)) with block Gibbs sweeps; its
visible marginal is exp(-F_beta(v)) with F_beta(v) = -beta b.v - sum_j softplus(beta (c_j + (v W)_j)).
All replicas' chains are stacked into one batch, so each half-step is one GEMM and one
fused Bernoulli kernel whatever the number of temperatures (beta is folded into the logits).
After each sweep, neighbouring temperatures exchange states with the Metropolis criterion
on F_beta: pairs (0, 1), (2, 3), ... after even sweeps (counter + step even), pairs
(1, 2), (3, 4), ... after odd ones, so that a run continued from its `states` with the
next counter is the same run.

Draws (random.h layout): sweep `counter + step` uses that call with RbmStream.HIDDEN for h
(element (k * n_chains + n) * n_hidden + j) and RbmStream.VISIBLE for v, as `gibbs` on the
stacked batch would; the swap of pair (k, k + 1) for chain n uses element k * n_chains + n
of the same call in RbmStream.SWAP (after the streams of the Gibbs draws, so that swaps never
reuse their uniforms).

A run can hold a block of the chains only (chains first .. first + n - 1 of a run of
total chains, at every temperature: BernoulliRBM.sample over Dask workers): each draw then
takes the elements its chains have in the whole run, so the blocks' results are the whole
run's, and their swap counts add up to its counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._arrays import Dispatch, host
from .._blas import blas_threads_for
from .._constants import RbmStream
from .._progress import OFF
from .._progress import bar as progress_bar
from .._typing import Array, Backend
from .._validation import (
    check_betas,
    check_binary,
    check_count,
    check_counters,
    check_float_array,
    check_rbm,
    check_seed,
)


@dataclass(frozen=True)
class PTResult:
    """The end of a parallel tempering run.

    samples: the visible states of the beta = 1 chains, (n_chains, n_visible).
    states: every replica's visible states, (n_temperatures, n_chains, n_visible), in the
        order of `betas`; pass them back as `v` (with the next counter) to continue the run.
    acceptance: float64 host array (n_temperatures - 1,), the fraction of attempted swaps
        accepted between temperatures k and k + 1 (NaN for a pair never attempted, which
        happens to the odd pairs in a one-sweep run).
    """

    samples: object
    states: object
    acceptance: np.ndarray


class _Exchange:
    """The replica exchanges after the sweeps of one parity: which temperatures pair up, and
    their betas (as the states' dtype, so that the swaps judge the distributions sampled)."""

    def __init__(self, xp, betas, first, dtype, n_chains):
        n_pairs = (betas.size - first) // 2
        self.first = first
        self.paired = slice(first, first + 2 * n_pairs)
        own = betas[self.paired].reshape(n_pairs, 2)
        # Each paired state's own beta and its partner's, rounded to the states' dtype: one per
        # row of the paired states, the scale of the free energy's hidden term (as the sweeps
        # fold it into the logits), and as float64 for the visible term (pairs, 2, 1).
        self.row_betas = [xp.asarray(np.repeat(x.astype(dtype).ravel(), n_chains)) for x in (own, own[:, ::-1])]
        self.betas64 = [xp.asarray(x.astype(dtype).astype(np.float64)[:, :, None]) for x in (own, own[:, ::-1])]

    def __call__(self, kernels, v, a, b64, zero_hidden, seed, call, block):
        """Exchanges after sweep `call`, in place on the visible states v (T, N, V) and their
        products a = v W + c (T, N, H), which follow their states. Returns the number of
        accepted swaps of each pair (first, first + 1), (first + 2, first + 3), ..."""
        xp = kernels.xp
        n_temperatures, n_chains, n_hidden = a.shape
        paired_a = a[self.paired].reshape(-1, n_hidden)  # a view: the paired temperatures are contiguous
        vb = v[self.paired].reshape(-1, 2, n_chains, v.shape[2]) @ b64
        n_pairs = vb.shape[0]
        # The tempered free energies of each state at its own beta and at its partner's.
        own, cross = (
            kernels.rbm.free_energy(paired_a, zero_hidden, (vb * beta64).ravel(), row_betas)
            for beta64, row_betas in zip(self.betas64, self.row_betas)
        )
        # log of the Metropolis ratio of each pair's swap
        log_ratio = (own - cross).reshape(n_pairs, 2, n_chains).sum(axis=1)
        u = block.uniforms(kernels, n_temperatures - 1, seed, call, RbmStream.SWAP)
        accept = xp.log(u.reshape(n_temperatures - 1, n_chains)[self.first::2].astype(xp.float64)) <= log_ratio
        # Only the accepted pairs move (about half): their rows trade places.
        pair, chain = xp.nonzero(accept)
        lower = self.first + 2 * pair
        for x in (v, a):
            x[lower, chain], x[lower + 1, chain] = x[lower + 1, chain], x[lower, chain]
        return accept.sum(axis=1)


class _ChainBlock:
    """Chains first .. first + n - 1 of a run of `total` chains, stacked by temperature as
    `run` holds them: the draws of each temperature's rows are the whole run's rows
    k * total + first .. (one kernel call for the whole stack when the block is the run)."""

    def __init__(self, n, first, total):
        self.n, self.first, self.total = n, first, total
        self.whole = first == 0 and total == n

    def spans(self, n_replicas):
        """[(first stacked row, rows, their first row in the whole run's stack)], one per replica."""
        return [(k * self.n, self.n, k * self.total + self.first) for k in range(n_replicas)]

    def bernoulli(self, kernels, logits, bias, seed, call, stream):
        if self.whole:
            return kernels.rbm.bernoulli(logits, bias, seed, call, stream)
        state = kernels.xp.empty_like(logits)
        for start, rows, first_row in self.spans(logits.shape[0] // self.n):  # prob in place of each block
            state[start:start + rows], _ = kernels.rbm.bernoulli(logits[start:start + rows], bias, seed, call, stream,
                                                                 first_row)
        return state, logits

    def uniforms(self, kernels, n_replicas, seed, call, stream):
        if self.whole:
            return kernels.random.uniforms(n_replicas * self.n, seed, call, stream)
        return kernels.xp.concatenate([kernels.random.uniforms(rows, seed, call, stream, first_row)
                                       for _, rows, first_row in self.spans(n_replicas)])


def acceptance_rate(accepted, attempts):
    """float64 host array: accepted / attempted swaps per pair (NaN for a pair never attempted)."""
    accepted = np.asarray(host(accepted), dtype=np.float64)
    with np.errstate(invalid="ignore"):  # 0 / 0: a pair never attempted has no rate
        return accepted / attempts


def run(kernels, v, W, b, c, n_steps, betas, seed, counter, bar=OFF, first_chain=0, total_chains=None):
    """`n_steps` sweeps and exchanges of the replicas v (T, N, V) at float64 `betas` (T,),
    each ticking `bar` (fastgen._progress); v's chains are chains first_chain .. of a run of
    `total_chains` (default N, the whole run).
    Returns the final states and the accepted (host int64) and attempted swaps of each pair."""
    xp = kernels.xp
    n_temperatures, n_chains, n_visible = v.shape
    block = _ChainBlock(n_chains, first_chain, n_chains if total_chains is None else total_chains)
    rows = n_temperatures * n_chains
    # Each row's beta, to fold into its logits: beta (x + bias) goes to the kernels with a zero bias.
    row_betas = xp.asarray(np.repeat(betas, n_chains)[:, None], dtype=W.dtype)
    zero_hidden, zero_visible = xp.zeros_like(c), xp.zeros_like(b)
    b64 = b.astype(xp.float64)
    # With two temperatures, odd sweeps have no pair to exchange.
    exchanges = [_Exchange(xp, betas, first, W.dtype, n_chains) for first in (0, 1) if n_temperatures - first >= 2]
    accepted = xp.zeros(n_temperatures - 1, dtype=xp.int64)
    attempts = np.zeros(n_temperatures - 1, dtype=np.int64)
    v = v.reshape(rows, n_visible)
    with blas_threads_for(rows * W.shape[0] * W.shape[1]):
        a = v @ W
        a += c
        for step in range(n_steps):
            a *= row_betas
            h, _ = block.bernoulli(kernels, a, zero_hidden, seed, counter + step, RbmStream.HIDDEN)
            logits = h @ W.T
            logits += b
            logits *= row_betas
            v, _ = block.bernoulli(kernels, logits, zero_visible, seed, counter + step, RbmStream.VISIBLE)
            a = v @ W  # the exchange's free energies need it, and so does the next sweep
            a += c
            parity = (counter + step) % 2
            if parity < len(exchanges):
                shape = (n_temperatures, n_chains, -1)
                accepted[parity::2] += exchanges[parity](
                    kernels, v.reshape(shape), a.reshape(shape), b64, zero_hidden, seed, counter + step, block
                )
                attempts[parity::2] += n_chains
            bar.update()
    return v.reshape(n_temperatures, n_chains, n_visible), np.asarray(host(accepted)), attempts


def parallel_tempering(v: Array, W: Array, b: Array, c: Array, n_steps: int, betas: Array, *, seed: int, counter: int = 0,
                       backend: Backend = None, progress: bool = False) -> PTResult:
    """`n_steps` sweeps of parallel tempering: block Gibbs at every inverse temperature of
    `betas` (strictly increasing in [0, 1], ending at 1), each sweep followed by Metropolis
    exchanges between neighbouring temperatures (see the module docstring).

    v: binary starting states, (n_chains, n_visible) for every replica to start there, or
    (n_temperatures, n_chains, n_visible), e.g. a previous result's `states`. Uses counters
    counter .. counter + n_steps - 1. Returns a PTResult (its arrays of v's kind).
    `progress`: show a bar of the sweeps (fastgen._progress)."""
    call = Dispatch(backend, v=v, W=W, b=b, c=c)
    xp = call.kernels.xp
    v, W, b, c = call.arrays
    W, b, c = check_rbm(xp, W, b, c)
    betas = check_betas(betas, from_zero=False)
    n_temperatures = betas.size
    if v is None:
        check_float_array(xp, "v", v, 2)  # the error
    if v.ndim not in (2, 3):
        raise ValueError(f"v must be 2-D (n_chains, n_visible) or 3-D (n_temperatures, n_chains, n_visible), "
                         f"got shape {tuple(v.shape)}")
    v = check_float_array(xp, "v", v, v.ndim, W.dtype)
    if v.shape[-1] != W.shape[0]:
        raise ValueError(f"v must have {W.shape[0]} columns (visible units of W), got shape {tuple(v.shape)}")
    if v.ndim == 3 and v.shape[0] != n_temperatures:
        raise ValueError(f"v of shape {tuple(v.shape)} must hold one set of chains per beta ({n_temperatures})")
    if v.shape[-2] < 1:
        raise ValueError("v must hold at least one chain")
    check_binary(xp, "v", v)
    n_steps = check_count("n_steps", n_steps)
    counter = check_counters(counter, n_steps, "counter + n_steps - 1")
    if v.ndim == 2:
        v = xp.broadcast_to(v, (n_temperatures, *v.shape))
    seed = check_seed("seed", seed)
    with progress_bar(progress, n_steps, "parallel tempering", unit="sweep") as shown:
        states, accepted, attempts = run(call.kernels, xp.ascontiguousarray(v), W, b, c, n_steps, betas, seed, counter,
                                         shown)
    return PTResult(call.wrap(states[-1].copy()), call.wrap(states), acceptance_rate(accepted, attempts))
