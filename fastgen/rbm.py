"""Binary restricted Boltzmann machine ops on plain arrays (NumPy, CuPy or torch).

Conventions: W has shape (n_visible, n_hidden), b is the visible bias (n_visible,),
c the hidden bias (n_hidden,); states are float arrays of 0/1 of shape
(n_chains, n_units). Energy E(v, h) = -b.v - c.h - v.W.h.

Randomness: every draw is a pure function of (seed, counter, kind of draw, element),
see csrc/include/fastgen/philox.h. `sample_hidden` and `sample_visible` with counter n
are the two halves of Gibbs sweep n: `gibbs(v, ..., n_steps, seed=s, counter=n)` is
exactly sample_hidden/sample_visible with counters n, n+1, ..., n+n_steps-1.

Each conditional is a product with W followed by one fused kernel (bias + sigmoid +
Philox uniform + Bernoulli draw). The product is a GEMM through the backend's BLAS,
except on the CPU backends when the input states are binary with at most 20% ones:
then it is a sum of the selected rows of W, fused with the epilogue (the CD weight
gradient likewise). Both paths are deterministic and identical on `cpu` and `numba`.
`_`-prefixed functions are the unchecked versions on a backend's own arrays that the
estimators call in their loops.
"""
from __future__ import annotations

from ._arrays import Dispatch
from ._rbm_partition import (  # noqa: F401
    AISResult,
    base_visible_bias,
    default_ais_betas,
    log_partition_ais,
    log_partition_exact,
)
from ._rbm_tempering import PTResult, parallel_tempering  # noqa: F401
from ._validation import check_binary, check_count, check_counter, check_float_array, check_rows, check_seed

STREAM_HIDDEN = 0  # these three match enum RbmStream in csrc/include/fastgen/rbm.h
STREAM_VISIBLE = 1
STREAM_INIT = 2


# ---------------------------------------------------------------- unchecked kernels

# Above this fraction of ones, a binary product runs as a dense GEMM: the sums of selected
# rows cost in proportion to the ones, and measured on a par with BLAS at about 20%.
SPARSE_DENSITY_MAX = 0.2


def _sparse(kernels, states):
    """Whether binary `states` should go to the backend's selected-rows kernels: it has
    them, and the states are sparse enough."""
    if not kernels.sparse_products:
        return False
    return int(kernels.xp.count_nonzero(states)) <= SPARSE_DENSITY_MAX * states.size


def _sample_hidden(kernels, v, W, c, seed, counter, sparse):
    """h ~ p(h | v). `sparse`: v is binary with few ones, so v W is a sum of selected rows of W."""
    if sparse:
        return kernels.bernoulli_binary(v, W, c, seed, counter, STREAM_HIDDEN)
    return kernels.bernoulli(v @ W, c, seed, counter, STREAM_HIDDEN)


def _sample_visible(kernels, h, W, b, seed, counter):
    return kernels.bernoulli(h @ W.T, b, seed, counter, STREAM_VISIBLE)


def _weight_gradient(kernels, v_data, p_data, v_model, p_model, sparse, scale):
    """`scale` times (mean v h^T under the data minus under the model): sums of selected
    rows when both visible batches are `sparse` binary states, else two GEMMs."""
    scale_data, scale_model = scale / v_data.shape[0], -scale / v_model.shape[0]
    if sparse:
        return kernels.outer_pair(v_data, p_data, scale_data, v_model, p_model, scale_model)
    dW = v_data.T @ p_data
    dW *= scale_data
    dW += (v_model.T @ p_model) * scale_model
    return dW


def _gibbs(kernels, v, W, b, c, n_steps, seed, counter, binary_start=True):
    """`n_steps` sweeps from v (`binary_start`: v holds only 0/1; later states always do)."""
    for step in range(n_steps):
        sparse = (binary_start or step > 0) and _sparse(kernels, v)
        h, _ = _sample_hidden(kernels, v, W, c, seed, counter + step, sparse)
        v, _ = _sample_visible(kernels, h, W, b, seed, counter + step)
    return v, h


def _free_energy(kernels, v, W, b, c):
    return kernels.free_energy(v @ W, c, v @ b.astype(kernels.xp.float64))


def _cd_statistics(kernels, v_data, W, b, c, k, chains, seed, counter, binary_data=True, scale=1.0):
    """CD-k (chains None) or PCD-k (chains = persistent hidden states) gradient estimate.

    Positive phase p(h | v_data). Negative phase: k sweeps v ~ p(v|h), h ~ p(h|v)
    starting from h0 ~ p(h | v_data) or from `chains`; its statistics use the last
    visible sample and p(h | v). Draws use counters counter .. counter + k, as
    `gibbs` from v_data with the same counter would. `binary_data`: v_data holds only
    0/1 (then its products run as sums of selected rows); else probabilities. The
    statistics come multiplied by `scale` (a learning rate, saving a pass over dW).
    """
    data_sparse = binary_data and _sparse(kernels, v_data)
    h, p_h_data = _sample_hidden(kernels, v_data, W, c, seed, counter, data_sparse)
    if chains is not None:
        h = chains
    for step in range(k):
        v_model, _ = _sample_visible(kernels, h, W, b, seed, counter + step)
        model_sparse = _sparse(kernels, v_model)
        h, p_h_model = _sample_hidden(kernels, v_model, W, c, seed, counter + step + 1, model_sparse)
    n_data, n_model = v_data.shape[0], v_model.shape[0]
    dW = _weight_gradient(kernels, v_data, p_h_data, v_model, p_h_model, data_sparse and model_sparse, scale)
    db = v_data.sum(axis=0) * (scale / n_data) - v_model.sum(axis=0) * (scale / n_model)
    dc = p_h_data.sum(axis=0) * (scale / n_data) - p_h_model.sum(axis=0) * (scale / n_model)
    return dW, db, dc, h


# ---------------------------------------------------------------- checked public ops


def _check_params(xp, W, b=None, c=None):
    W = check_float_array(xp, "W", W, 2)
    n_visible, n_hidden = W.shape
    checked = [W]
    for name, bias, size in (("b", b, n_visible), ("c", c, n_hidden)):
        if bias is None:
            continue
        bias = check_float_array(xp, name, bias, 1, W.dtype)
        if bias.shape[0] != size:
            raise ValueError(f"{name} must have length {size} to match W of shape {tuple(W.shape)}, got {bias.shape[0]}")
        checked.append(bias)
    return checked


def _check_states(xp, name, a, n_units, dtype, units="visible"):
    a = check_rows(xp, name, a, n_units, dtype, f"{units} units of W")
    check_binary(xp, name, a)
    return a


def sample_hidden(v, W, c, *, seed, counter=0, backend=None):
    """h ~ p(h | v) = Bernoulli(sigmoid(v W + c)). Returns (h, p_h)."""
    call = Dispatch(backend, v=v, W=W, c=c)
    xp = call.kernels.xp
    v, W, c = call.arrays
    W, c = _check_params(xp, W, c=c)
    v = _check_states(xp, "v", v, W.shape[0], W.dtype)
    h, p = _sample_hidden(
        call.kernels, v, W, c, check_seed("seed", seed), check_counter("counter", counter), _sparse(call.kernels, v)
    )
    return call.wrap(h), call.wrap(p)


def sample_visible(h, W, b, *, seed, counter=0, backend=None):
    """v ~ p(v | h) = Bernoulli(sigmoid(h W^T + b)). Returns (v, p_v)."""
    call = Dispatch(backend, h=h, W=W, b=b)
    xp = call.kernels.xp
    h, W, b = call.arrays
    W, b = _check_params(xp, W, b=b)
    h = _check_states(xp, "h", h, W.shape[1], W.dtype, units="hidden")
    v, p = _sample_visible(call.kernels, h, W, b, check_seed("seed", seed), check_counter("counter", counter))
    return call.wrap(v), call.wrap(p)


def gibbs(v, W, b, c, n_steps, *, seed, counter=0, backend=None):
    """`n_steps` block Gibbs sweeps (h ~ p(h|v), then v ~ p(v|h)) of every chain (row of v).
    Returns the final (v, h)."""
    call = Dispatch(backend, v=v, W=W, b=b, c=c)
    xp = call.kernels.xp
    v, W, b, c = call.arrays
    W, b, c = _check_params(xp, W, b, c)
    v = _check_states(xp, "v", v, W.shape[0], W.dtype)
    n_steps = check_count("n_steps", n_steps)
    counter = check_counter("counter", counter)
    check_counter("counter + n_steps - 1", counter + n_steps - 1)  # the last counter used
    v, h = _gibbs(call.kernels, v, W, b, c, n_steps, check_seed("seed", seed), counter)
    return call.wrap(v), call.wrap(h)


def free_energy(v, W, b, c, *, backend=None):
    """F(v) = -b.v - sum_j softplus(c_j + (v W)_j), one float64 value per row of v.
    v may be any real-valued visible vector (probabilities too), not only binary."""
    call = Dispatch(backend, v=v, W=W, b=b, c=c)
    xp = call.kernels.xp
    v, W, b, c = call.arrays
    W, b, c = _check_params(xp, W, b, c)
    v = check_float_array(xp, "v", v, 2, W.dtype)
    if v.shape[1] != W.shape[0]:
        raise ValueError(f"v must have {W.shape[0]} columns (visible units of W), got shape {tuple(v.shape)}")
    return call.wrap(_free_energy(call.kernels, v, W, b, c))


def cd_statistics(v_data, W, b, c, k, *, chains=None, seed, counter=0, backend=None):
    """CD-k gradient estimate of the mean log-likelihood of `v_data`.

    Returns (dW, db, dc, chains): the positive minus negative statistics
    (mean v h^T under data - mean v h^T under the chains; ascend them), and the new
    hidden chain states. With `chains=None` the negative chains start at
    h0 ~ p(h | v_data) (CD-k); pass the returned chains back in for PCD-k (persistent
    chains are hidden states, as scikit-learn's `h_samples_`; their number may differ
    from the batch size). Uses counters counter .. counter + k.
    """
    call = Dispatch(backend, v_data=v_data, W=W, b=b, c=c, chains=chains)
    xp = call.kernels.xp
    v_data, W, b, c, chains = call.arrays
    W, b, c = _check_params(xp, W, b, c)
    v_data = _check_states(xp, "v_data", v_data, W.shape[0], W.dtype)
    if chains is not None:
        chains = _check_states(xp, "chains", chains, W.shape[1], W.dtype, units="hidden")
    k = check_count("k", k)
    counter = check_counter("counter", counter)
    check_counter("counter + k", counter + k)
    dW, db, dc, chains = _cd_statistics(call.kernels, v_data, W, b, c, k, chains, check_seed("seed", seed), counter)
    return call.wrap(dW), call.wrap(db), call.wrap(dc), call.wrap(chains)
