"""The loops of the binary RBM on one backend's arrays, unchecked: Gibbs half-steps, sweeps,
free energies and CD-k statistics, each a GEMM (or a sum of selected rows of W) and a fused
kernel of `kernels.rbm`. The ops of fastgen.rbm check their arguments and call these; the
estimators, tempering and AIS call them in their loops. Conventions as in fastgen.rbm."""
from __future__ import annotations

from .._blas import blas_threads_for
from .._constants import RbmStream
from .._progress import OFF

# Above this fraction of ones, a binary product runs as a dense GEMM: the sums of selected
# rows cost in proportion to the ones, and measured on a par with BLAS at about 20%.
SPARSE_DENSITY_MAX = 0.2


def is_sparse(kernels, states):
    """Whether binary `states` should go to the backend's selected-rows kernels: it has
    them, and the states are sparse enough."""
    if not kernels.rbm.sparse_products:
        return False
    return int(kernels.xp.count_nonzero(states)) <= SPARSE_DENSITY_MAX * states.size


def sample_hidden(kernels, v, W, c, seed, counter, sparse, first_row=0):
    """h ~ p(h | v). `sparse`: v is binary with few ones, so v W is a sum of selected rows of W.
    `first_row`: v is rows first_row .. of a larger batch, whose draws these rows take."""
    if sparse:
        return kernels.rbm.bernoulli_binary(v, W, c, seed, counter, RbmStream.HIDDEN, first_row)
    return kernels.rbm.bernoulli(v @ W, c, seed, counter, RbmStream.HIDDEN, first_row)


def sample_visible(kernels, h, W, b, seed, counter, first_row=0):
    return kernels.rbm.bernoulli(h @ W.T, b, seed, counter, RbmStream.VISIBLE, first_row)


def weight_gradient(kernels, v_data, p_data, v_model, p_model, sparse, scale):
    """`scale` times (mean v h^T under the data minus under the model): sums of selected
    rows when both visible batches are `sparse` binary states, else two GEMMs."""
    scale_data, scale_model = scale / v_data.shape[0], -scale / v_model.shape[0]
    if sparse:
        return kernels.rbm.outer_pair(v_data, p_data, scale_data, v_model, p_model, scale_model)
    dW = v_data.T @ p_data
    dW *= scale_data
    dW += (v_model.T @ p_model) * scale_model
    return dW


def gibbs(kernels, v, W, b, c, n_steps, seed, counter, binary_start=True, bar=OFF, first_row=0):
    """`n_steps` sweeps from v (`binary_start`: v holds only 0/1; later states always do),
    each ticking `bar` (fastgen._progress); v's rows draw as rows first_row .. of a larger batch."""
    with blas_threads_for(v.shape[0] * W.shape[0] * W.shape[1]):
        for step in range(n_steps):
            sparse = (binary_start or step > 0) and is_sparse(kernels, v)
            h, _ = sample_hidden(kernels, v, W, c, seed, counter + step, sparse, first_row)
            v, _ = sample_visible(kernels, h, W, b, seed, counter + step, first_row)
            bar.update()
    return v, h


def free_energy(kernels, v, W, b, c):
    return kernels.rbm.free_energy(v @ W, c, v @ b.astype(kernels.xp.float64))


def cd_statistics(kernels, v_data, W, b, c, k, chains, seed, counter, binary_data=True, scale=1.0):
    """CD-k (chains None) or PCD-k (chains = persistent hidden states) gradient estimate.

    Positive phase p(h | v_data). Negative phase: k sweeps v ~ p(v|h), h ~ p(h|v)
    starting from h0 ~ p(h | v_data) or from `chains`; its statistics use the last
    visible sample and p(h | v). Draws use counters counter .. counter + k, as
    `gibbs` from v_data with the same counter would. `binary_data`: v_data holds only
    0/1 (then its products run as sums of selected rows); else probabilities. The
    statistics come multiplied by `scale` (a learning rate, saving a pass over dW).
    """
    data_sparse = binary_data and is_sparse(kernels, v_data)
    h, p_h_data = sample_hidden(kernels, v_data, W, c, seed, counter, data_sparse)
    if chains is not None:
        h = chains
    for step in range(k):
        v_model, _ = sample_visible(kernels, h, W, b, seed, counter + step)
        model_sparse = is_sparse(kernels, v_model)
        h, p_h_model = sample_hidden(kernels, v_model, W, c, seed, counter + step + 1, model_sparse)
    n_data, n_model = v_data.shape[0], v_model.shape[0]
    dW = weight_gradient(kernels, v_data, p_h_data, v_model, p_h_model, data_sparse and model_sparse, scale)
    db = v_data.sum(axis=0) * (scale / n_data) - v_model.sum(axis=0) * (scale / n_model)
    dc = p_h_data.sum(axis=0) * (scale / n_data) - p_h_model.sum(axis=0) * (scale / n_model)
    return dW, db, dc, h
