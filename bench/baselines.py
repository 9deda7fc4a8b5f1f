"""Reference implementations of one RBM training loop (and of AIS, `numpy_ais`, see there), for the benchmarks.

Both do exactly what fastgen.BernoulliRBM(persistent=False, momentum=0,
weight_decay=0) does, in float32:

    for each epoch, for each mini-batch v0 (rows in order, the last one may be short):
        p_h0 = sigmoid(v0 W + c)
        p_h = p_h0
        repeat k times:                       # k block Gibbs sweeps (CD-k)
            h   ~ Bernoulli(p_h)
            v   ~ Bernoulli(sigmoid(h W^T + b))
            p_h = sigmoid(v W + c)
        W += lr * (v0^T p_h0 - v^T p_h) / n
        b += lr * (sum(v0) - sum(v)) / n
        c += lr * (sum(p_h0) - sum(p_h)) / n

with W ~ N(0, 0.01) of shape (n_visible, n_hidden) and zero biases at the start,
as scikit-learn's BernoulliRBM initializes them. The random streams differ from
fastgen's (Philox) and from each other, so the weights agree in distribution only.

`numpy_cd_fit` is plain NumPy (GEMMs through NumPy's BLAS, draws from
np.random.default_rng); `torch_cd_fit` is the same loop with PyTorch CPU tensors
(as many intra-op threads as cores; GEMMs through torch's BLAS, MKL in the pip wheels),
which the benchmarks run in a process of its own through `TorchWorker`.
Both return an `RBMParams` with scikit-learn's attribute names.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import traceback
from dataclasses import dataclass

import numpy as np

# The environment before anything else in the benchmark process ran (conftest.py imports
# this module first), for the torch worker process (see TorchWorker).
START_ENV = dict(os.environ)


@dataclass
class RBMParams:
    components_: np.ndarray  # (n_hidden, n_visible)
    intercept_hidden_: np.ndarray  # (n_hidden,)
    intercept_visible_: np.ndarray  # (n_visible,)


# ---------------------------------------------------------------- NumPy


def _sigmoid_(x):
    """x <- 1 / (1 + exp(-x)), in place (exp overflows to inf for x << 0, giving 0)."""
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    np.reciprocal(x, out=x)
    return x


def _bernoulli(rng, p):
    """0/1 float32 array with P(1) = p."""
    return (rng.random(p.shape, dtype=np.float32) < p).astype(np.float32)


def numpy_cd_fit(X, n_components=500, learning_rate=0.05, batch_size=100, n_iter=1, cd_k=1, random_state=0):
    X = np.ascontiguousarray(X, dtype=np.float32)
    n_samples, n_visible = X.shape
    rng = np.random.default_rng(random_state)
    W = rng.normal(0.0, 0.01, (n_visible, n_components)).astype(np.float32)
    b = np.zeros(n_visible, dtype=np.float32)
    c = np.zeros(n_components, dtype=np.float32)
    with np.errstate(over="ignore"):
        for _ in range(n_iter):
            for start in range(0, n_samples, batch_size):
                v0 = X[start : start + batch_size]
                p_h0 = v0 @ W
                p_h0 += c
                _sigmoid_(p_h0)
                p_h = p_h0
                for _ in range(cd_k):
                    h = _bernoulli(rng, p_h)
                    p_v = h @ W.T
                    p_v += b
                    v = _bernoulli(rng, _sigmoid_(p_v))
                    p_h = v @ W
                    p_h += c
                    _sigmoid_(p_h)
                scale = np.float32(learning_rate / v0.shape[0])
                dW = v0.T @ p_h0
                dW -= v.T @ p_h
                dW *= scale
                W += dW
                b += scale * (v0.sum(axis=0) - v.sum(axis=0))
                c += scale * (p_h0.sum(axis=0) - p_h.sum(axis=0))
    return RBMParams(W.T, c, b)


# ---------------------------------------------------------------- NumPy AIS


def ais_betas(n_steps=None):
    """The AIS schedule of Salakhutdinov & Murray (fastgen.rbm.default_ais_betas(), 14,500 steps), or, with
    `n_steps`, that schedule resampled to n_steps + 1 values (same shape: a tenth of the steps up to beta 0.9...),
    for short test runs. Starts at 0, ends at 1, strictly increasing."""
    import fastgen.rbm

    betas = fastgen.rbm.default_ais_betas()
    if n_steps is None or n_steps == len(betas) - 1:
        return betas
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    return np.interp(np.linspace(0.0, len(betas) - 1, n_steps + 1), np.arange(len(betas)), betas)


def _softplus64_(x):
    """x <- log(1 + exp(x)) in place, float64: max(x, 0) + log1p(exp(-|x|))."""
    positive = np.maximum(x, 0.0)
    np.abs(x, out=x)
    np.negative(x, out=x)
    np.exp(x, out=x)
    np.log1p(x, out=x)
    x += positive
    return x


@dataclass
class AISEstimate:
    log_z: float
    log_z_std: float  # std(w) / (sqrt(n) mean(w)), the standard error of log Z_hat
    log_weights: np.ndarray  # (n_chains,) float64
    log_z_base: float


def numpy_ais(W, b, c, base, betas, n_chains=100, seed=0):
    """Annealed importance sampling for the binary RBM (W (n_visible, n_hidden), b, c), the algorithm of
    fastgen.rbm.log_partition_ais (csrc/include/fastgen/ais.h) in plain NumPy: the base model has no weights
    and visible biases `base`; for beta_k, log p*_k(v) = (1 - beta_k) base.v + beta_k b.v
    + sum_j softplus(beta_k a_j), a = c + v W. All chains step together: v ~ base; for k = 1..K:
    log w += log p*_k(v) - log p*_{k-1}(v); then (k < K) h ~ sigmoid(beta_k a),
    v ~ sigmoid(beta_k (b + W h) + (1 - beta_k) base). Products through NumPy's BLAS in float32, float32
    states, log weights in float64, draws from np.random.default_rng(seed)."""
    W = np.ascontiguousarray(W, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    c = np.asarray(c, dtype=np.float32)
    base = np.asarray(base, dtype=np.float32)
    betas = np.asarray(betas, dtype=np.float64)
    n_visible, n_hidden = W.shape
    rng = np.random.default_rng(seed)
    gain = b.astype(np.float64) - base.astype(np.float64)  # the visible term of the increment, per unit of beta
    log_w = np.zeros(n_chains)
    with np.errstate(over="ignore"):
        v = _bernoulli(rng, _sigmoid_(np.broadcast_to(base, (n_chains, n_visible)).copy()))
        for k in range(1, len(betas)):
            beta, beta_prev = betas[k], betas[k - 1]
            a = v @ W
            a += c
            a64 = a.astype(np.float64)
            log_w += (beta - beta_prev) * (v @ gain)
            log_w += _softplus64_(beta * a64).sum(axis=1)
            log_w -= _softplus64_(beta_prev * a64).sum(axis=1)
            if k == len(betas) - 1:
                break
            tbeta = np.float32(beta)
            a *= tbeta
            h = _bernoulli(rng, _sigmoid_(a))
            logit = h @ W.T
            logit += b
            logit *= tbeta
            logit += np.float32(1.0 - beta) * base
            v = _bernoulli(rng, _sigmoid_(logit))
    # Z_base = prod_i (1 + e^base_i) * 2^n_hidden (the base model's hidden units, zero bias, summed out)
    log_z_base = float(_softplus64_(base.astype(np.float64)).sum() + n_hidden * np.log(2.0))
    top = log_w.max()
    w = np.exp(log_w - top)
    log_z = float(log_z_base + top + np.log(w.mean()))
    std = float(w.std(ddof=1) / (np.sqrt(w.size) * w.mean())) if w.size > 1 else float("inf")
    return AISEstimate(log_z, std, log_w, log_z_base)


# ---------------------------------------------------------------- NumPy parallel tempering


def numpy_free_energy(v, W, b, c, beta=1.0):
    """The tempered free energy of each row of v, float64: -beta b.v - sum_j softplus(beta (c + v W)_j),
    the product in float32 through NumPy's BLAS, the rest in float64."""
    a = np.asarray(v, dtype=np.float32) @ W
    a += c
    a64 = a.astype(np.float64)
    a64 *= beta
    return -beta * (v @ np.asarray(b, dtype=np.float64)) - _softplus64_(a64).sum(axis=-1)


def numpy_parallel_tempering(W, b, c, v, betas, n_steps, seed=0):
    """Parallel tempering of the binary RBM (W (n_visible, n_hidden), b, c), the algorithm of
    fastgen.rbm.parallel_tempering in plain NumPy: the replicas v (n_temperatures, n_chains, n_visible)
    stacked into one batch, each half-step one float32 GEMM with beta folded into the logits; after sweep
    `step`, the pairs (k, k + 1) with k = step % 2, step % 2 + 2, ... exchange states with the Metropolis
    criterion on the float64 tempered free energies. Draws from np.random.default_rng(seed).
    Returns (states (n_temperatures, n_chains, n_visible), accepted swaps per pair, attempts per pair)."""
    W = np.ascontiguousarray(W, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    c = np.asarray(c, dtype=np.float32)
    betas = np.asarray(betas, dtype=np.float64)
    n_temperatures, n_chains, n_visible = v.shape
    n_hidden = W.shape[1]
    rng = np.random.default_rng(seed)
    row_betas = np.repeat(betas.astype(np.float32), n_chains)[:, None]
    b64 = b.astype(np.float64)
    accepted = np.zeros(n_temperatures - 1, dtype=np.int64)
    attempts = np.zeros(n_temperatures - 1, dtype=np.int64)
    v = np.array(v, dtype=np.float32).reshape(-1, n_visible)
    a = v @ W
    a += c
    with np.errstate(over="ignore"):
        for step in range(n_steps):
            h = _bernoulli(rng, _sigmoid_(a * row_betas))
            logits = h @ W.T
            logits += b
            logits *= row_betas
            v = _bernoulli(rng, _sigmoid_(logits))
            a = v @ W
            a += c
            low = np.arange(step % 2, n_temperatures - 1, 2)
            if low.size == 0:
                continue
            v3, a3 = v.reshape(n_temperatures, n_chains, n_visible), a.reshape(n_temperatures, n_chains, n_hidden)
            vb = v3 @ b64
            beta_low, beta_high = betas[low][:, None], betas[low + 1][:, None]

            def free(k, beta):  # the states at temperatures k under the models at `beta` (one per k)
                return -beta * vb[k] - _softplus64_(beta[:, :, None] * a3[k].astype(np.float64)).sum(axis=-1)

            log_ratio = free(low, beta_low) + free(low + 1, beta_high) - free(low + 1, beta_low) - free(low, beta_high)
            accept = np.log(rng.random(log_ratio.shape)) <= log_ratio
            pair, chain = np.nonzero(accept)
            for x in (v3, a3):
                x[low[pair], chain], x[low[pair] + 1, chain] = x[low[pair] + 1, chain], x[low[pair], chain]
            accepted[low] += accept.sum(axis=1)
            attempts[low] += n_chains
    return v.reshape(n_temperatures, n_chains, n_visible), accepted, attempts


# ---------------------------------------------------------------- PyTorch (CPU)

_torch = None


def torch_module():
    """torch, imported on first use with as many intra-op threads as the machine has cores
    (raises ImportError if torch is not installed)."""
    global _torch
    if _torch is None:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        _torch = torch
    return _torch


def torch_cd_fit(X, n_components=500, learning_rate=0.05, batch_size=100, n_iter=1, cd_k=1, random_state=0):
    torch = torch_module()
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))  # shares memory, no copy
    n_samples, n_visible = Xt.shape
    gen = torch.Generator().manual_seed(random_state)

    def bernoulli(p):
        # rand < p rather than torch.bernoulli, which runs on one thread here and is ~2x slower
        return (torch.rand(p.shape, generator=gen, dtype=torch.float32) < p).to(torch.float32)

    with torch.inference_mode():
        W = torch.normal(0.0, 0.01, (n_visible, n_components), generator=gen, dtype=torch.float32)
        b = torch.zeros(n_visible, dtype=torch.float32)
        c = torch.zeros(n_components, dtype=torch.float32)
        for _ in range(n_iter):
            for start in range(0, n_samples, batch_size):
                v0 = Xt[start : start + batch_size]
                p_h0 = torch.sigmoid(torch.addmm(c, v0, W))
                p_h = p_h0
                for _ in range(cd_k):
                    h = bernoulli(p_h)
                    v = bernoulli(torch.sigmoid(torch.addmm(b, h, W.T)))
                    p_h = torch.sigmoid(torch.addmm(c, v, W))
                scale = learning_rate / v0.shape[0]
                W.addmm_(v0.T, p_h0, alpha=scale).addmm_(v.T, p_h, alpha=-scale)
                b.add_(v0.sum(dim=0) - v.sum(dim=0), alpha=scale)
                c.add_(p_h0.sum(dim=0) - p_h.sum(dim=0), alpha=scale)
    return RBMParams(W.T.numpy(), c.numpy(), b.numpy())


def torch_mmd2(X, Y, sigma):
    """The straightforward torch MMD^2 (unbiased, Gaussian kernel): cdist, the kernel, the means of
    the three materialised matrices (the diagonals of Kxx and Kyy left out)."""
    torch = torch_module()
    X, Y = torch.from_numpy(X), torch.from_numpy(Y)
    n, m = X.shape[0], Y.shape[0]
    with torch.inference_mode():
        def kernel(A, B):
            return torch.exp(torch.cdist(A, B).square_().mul_(-1.0 / (2 * sigma * sigma)))

        k_xx, k_yy, k_xy = kernel(X, X), kernel(Y, Y), kernel(X, Y)
        return float((k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
                     + (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1)) - 2 * k_xy.mean())


# ---------------------------------------------------------------- torch in its own process


class TorchWorkerUnavailable(ImportError):
    pass


class TorchWorker:
    """Runs `torch_cd_fit` in a child process that has never imported fastgen.

    torch's wheels bundle an OpenMP runtime named libgomp.so.1, the same name as the system
    libgomp that fastgen's extension links, so in one process both would share one runtime
    (its thread pool and the wait policy it read when it loaded). A separate process
    measures torch the way a torch user runs it, whatever fastgen does. The child starts
    with START_ENV; each call costs a pickle round trip through a pipe (well under a
    millisecond), inside the timing.
    """

    def __init__(self):
        self._data_name = None
        self._proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--torch-worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=START_ENV,
        )
        try:
            self.info = self._call("info")
        except TorchWorkerUnavailable:
            self.close()
            raise

    def _call(self, command, *args, **kwargs):
        pickle.dump((command, args, kwargs), self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self._proc.stdin.flush()
        status, reply = pickle.load(self._proc.stdout)
        if status == "import-error":
            raise TorchWorkerUnavailable(reply)
        if status != "ok":
            raise RuntimeError(f"torch worker failed:\n{reply}")
        return reply

    def set_data(self, name, X):
        """Send X (once per dataset name)."""
        if name != self._data_name:
            self._call("data", np.ascontiguousarray(X, dtype=np.float32))
            self._data_name = name

    def fit(self, rows=None, **kwargs):
        """torch_cd_fit(X[:rows], **kwargs) in the worker; keeps the result there."""
        self._call("fit", rows, **kwargs)

    def params(self):
        """The RBMParams of the last fit."""
        return self._call("params")

    def mmd_data(self, X, Y):
        """Send the two samples of torch_mmd2."""
        self._call("mmd_data", np.ascontiguousarray(X), np.ascontiguousarray(Y))

    def mmd2(self, sigma):
        """torch_mmd2 of the samples sent, in the worker."""
        return self._call("mmd2", sigma)

    def call(self, function, *args):
        """baselines.`function`(*args) in the worker (a torch baseline), and its result."""
        return self._call("call", function, *args)

    def cpu_seconds(self):
        """User + system CPU time of the worker process so far (Linux; nan elsewhere)."""
        try:
            with open(f"/proc/{self._proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        except (OSError, ValueError, IndexError):
            return float("nan")

    def close(self):
        if self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait(timeout=30)


def _torch_worker_main():
    channel_in, channel_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints must not reach the channel
    state = {"X": None, "last": None}

    def handle(command, args, kwargs):
        if command == "info":
            torch = torch_module()
            return {
                "torch": str(torch.__version__),  # a str subclass that would import torch when unpickled
                "torch_threads": torch.get_num_threads(),
                "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
                "fastgen_imported": "fastgen" in sys.modules,
            }
        if command == "data":
            state["X"] = args[0]
            return None
        if command == "fit":
            rows = args[0]
            state["last"] = torch_cd_fit(state["X"] if rows is None else state["X"][:rows], **kwargs)
            return None
        if command == "params":
            return state["last"]
        if command == "mmd_data":
            state["mmd"] = args
            return None
        if command == "mmd2":
            return torch_mmd2(*state["mmd"], args[0])

        if command == "call":
            return globals()[args[0]](*args[1:])
        raise ValueError(f"unknown command {command!r}")

    while True:
        try:
            command, args, kwargs = pickle.load(channel_in)
        except EOFError:
            return
        try:
            reply = ("ok", handle(command, args, kwargs))
        except ImportError as exc:
            reply = ("import-error", f"torch not importable: {exc}")
        except Exception:
            reply = ("error", traceback.format_exc())
        pickle.dump(reply, channel_out, protocol=pickle.HIGHEST_PROTOCOL)
        channel_out.flush()


if __name__ == "__main__" and sys.argv[1:] == ["--torch-worker"]:
    # run as a script: this file is __main__, so pickled RBMParams must name the importable module
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import baselines

    baselines._torch_worker_main()


# ---------------------------------------------------------------- NumPy MMD


def numpy_mmd2(X, Y, sigma):
    """The straightforward NumPy MMD^2 (unbiased, Gaussian kernel): the three kernel matrices
    materialised from X Y^T and the squared norms, in the data's dtype."""
    def kernel(A, B):
        d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2 * (A @ B.T)
        return np.exp(np.maximum(d2, 0) * (-1.0 / (2 * sigma * sigma)))

    n, m = X.shape[0], Y.shape[0]
    k_xx, k_yy, k_xy = kernel(X, X), kernel(Y, Y), kernel(X, Y)
    return float((k_xx.sum() - np.trace(k_xx)) / (n * (n - 1)) + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
                 - 2 * k_xy.mean())


# ---------------------------------------------------------------- NumPy DBM mean-field


def numpy_mean_field(v, weights, biases, n_steps=10, damping=0.0):
    """The mean-field posterior of a DBM as fastgen.dbm.mean_field computes it (n_steps sweeps, no
    tolerance), in plain NumPy in the dtype of the inputs:
        init  mu_l = sigmoid(2 mu_{l-1} W_{l-1} + b_l) for 0 < l < L, mu_L = sigmoid(mu_{L-1} W_{L-1} + b_L)
        sweep every odd l, then every even l >= 2:
              mu_l <- (1 - damping) sigmoid(b_l + mu_{l-1} W_{l-1} + mu_{l+1} W_l^T) + damping mu_l
    with mu_0 = v, whose product v W_0 is computed once. Returns [mu_1, ..., mu_L]."""
    n_layers = len(weights)
    mu = [v]
    for layer in range(1, n_layers + 1):
        factor = 2.0 if layer < n_layers else 1.0
        pre = mu[-1] @ weights[layer - 1]
        if factor != 1.0:
            pre *= factor
        pre += biases[layer]
        mu.append(_sigmoid_(pre))
    bottom_input = v @ weights[0]
    order = list(range(1, n_layers + 1, 2)) + list(range(2, n_layers + 1, 2))
    with np.errstate(over="ignore"):
        for _ in range(n_steps):
            for layer in order:
                pre = bottom_input.copy() if layer == 1 else mu[layer - 1] @ weights[layer - 1]
                if layer < n_layers:
                    pre += mu[layer + 1] @ weights[layer].T
                pre += biases[layer]
                _sigmoid_(pre)
                if damping:
                    pre *= 1.0 - damping
                    pre += damping * mu[layer]
                mu[layer] = pre
    return mu[1:]


def torch_mean_field(v, weights, biases, n_steps=10):
    """numpy_mean_field (damping 0) in PyTorch eager on torch tensors (any device): the GPU baseline
    of the DBM mean-field benchmark. Returns [mu_1, ..., mu_L]."""
    torch = torch_module()
    n_layers = len(weights)
    mu = [v]
    for layer in range(1, n_layers + 1):
        factor = 2.0 if layer < n_layers else 1.0
        mu.append(torch.sigmoid(torch.addmm(biases[layer], mu[-1], weights[layer - 1], alpha=factor)))
    bottom_input = v @ weights[0]
    order = list(range(1, n_layers + 1, 2)) + list(range(2, n_layers + 1, 2))
    for _ in range(n_steps):
        for layer in order:
            pre = bottom_input + biases[layer] if layer == 1 else torch.addmm(biases[layer], mu[layer - 1],
                                                                              weights[layer - 1])
            if layer < n_layers:
                pre.addmm_(mu[layer + 1], weights[layer].T)
            mu[layer] = pre.sigmoid_()
    return mu[1:]


# ---------------------------------------------------------------- torch NADE (the NADE benchmarks)


def _torch_nade_model(W, V, b, c):
    torch = torch_module()
    return [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in (W, V, b, c)]


def torch_nade_threads(function, n_threads, *args):
    """baselines.`function`(*args) with torch on `n_threads` intra-op threads (None: as many as
    cores), the setting restored after. On a loaded machine one thread can be the faster: a step
    of the sampling loop is a few small parallel regions, each a barrier of the OpenMP team."""
    torch = torch_module()
    before = torch.get_num_threads()
    torch.set_num_threads(n_threads or os.cpu_count() or 1)
    try:
        return globals()[function](*args)
    finally:
        torch.set_num_threads(before)


def torch_nade_log_likelihood(v, W, V, b, c):
    """log p(v) of each row of a NADE (fastgen.nade's conventions: W, V (D, H)) in PyTorch eager,
    float32, summed in float64: D Python-level steps, each vectorised over the rows (h = sigmoid(a),
    logit = h V_d + b_d, log p += -softplus(-(2 v_d - 1) logit), a += v_d W_d). Computing every
    step's pre-activations at once instead (a cumulative sum over d of (rows, D, H) arrays) was
    30x slower here: it is bound by the memory traffic of those arrays."""
    torch = torch_module()
    W, V, b, c = _torch_nade_model(W, V, b, c)
    v = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
    with torch.inference_mode():
        a = c.expand(v.shape[0], -1).clone()
        total = torch.zeros(v.shape[0], dtype=torch.float64)
        for d in range(W.shape[0]):
            logit = torch.mv(torch.sigmoid(a), V[d]) + b[d]
            x = v[:, d]
            total -= torch.nn.functional.softplus(torch.where(x > 0, -logit, logit))
            a.addr_(x, W[d])
    return total.numpy()


def torch_nade_sample(n, W, V, b, c, seed=0):
    """`n` ancestral samples of a NADE in PyTorch eager, float32: D Python-level steps, each
    vectorised over the n rows (h = sigmoid(a), p = sigmoid(h V_d + b_d), v_d = u < p, a += v_d W_d).
    Returns the mean of each column (the samples stay in the worker)."""
    torch = torch_module()
    W, V, b, c = _torch_nade_model(W, V, b, c)
    gen = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        a = c.expand(n, -1).clone()
        out = torch.empty((n, W.shape[0]), dtype=torch.float32)
        for d in range(W.shape[0]):
            p = torch.sigmoid(torch.mv(torch.sigmoid(a), V[d]) + b[d])
            x = (torch.rand(n, generator=gen) < p).to(torch.float32)
            out[:, d] = x
            a.addr_(x, W[d])
    return out.mean(dim=0).numpy()
