"""GaussianMixture scoring before and after the fused pass, in one process: fastgen's
score_samples / predict_proba / predict now (one fused pass, score_rows) against the code they
ran before it (36e6683: the (N, K) log densities by chunks of 65536 rows through
weighted_log_prob, then NumPy's log-sum-exp, exp and argmax, copied below), and scikit-learn,
interleaved, the median of ROUNDS; the problem of bench/test_gmm_em.py (N 200k, D 16, K 32).

Usage: python bench/gmm_score_before_after.py cpu,numba"""

import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sklearn.exceptions import ConvergenceWarning
from test_gmm_em import _data, _model

ROUNDS = 7
CHUNK = 65536


def _logsumexp(a):  # 36e6683's
    top = a.max(axis=1)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(under="ignore", divide="ignore"):
        return shift + np.log(np.exp(a - shift[:, None]).sum(axis=1))


def _chunks(gm, X):
    params = gm._kernel_params(X.dtype)
    k = gm._kernels()
    for s in range(0, X.shape[0], CHUNK):
        yield k.weighted_log_prob(np.ascontiguousarray(X[s : s + CHUNK]), *params)


def old_score_samples(gm, X):
    X, _ = gm._validated(X)
    return np.concatenate([_logsumexp(w) for w in _chunks(gm, X)]).astype(X.dtype)


def old_predict_proba(gm, X):
    X, _ = gm._validated(X)
    parts = []
    for w in _chunks(gm, X):
        with np.errstate(under="ignore"):
            parts.append(np.exp(w - _logsumexp(w)[:, None]).astype(X.dtype))
    return np.concatenate(parts)


def old_predict(gm, X):
    X, _ = gm._validated(X)
    return np.concatenate([w.argmax(axis=1) for w in _chunks(gm, X)])


warnings.simplefilter("ignore", ConvergenceWarning)
backends = sys.argv[1].split(",")
for ct in ["full", "diag"]:
    for dtype in [np.float64, np.float32]:
        X, centres = _data(np.dtype(dtype))
        sk = _model("sklearn", ct, centres).fit(X)
        fgs = {b: _model("fastgen-" + b, ct, centres).fit(X) for b in backends}
        for method in ["score_samples", "predict_proba", "predict"]:
            old = {"score_samples": old_score_samples, "predict_proba": old_predict_proba, "predict": old_predict}[
                method
            ]
            runs = {"sklearn": getattr(sk, method)}
            for b, gm in fgs.items():
                runs[f"{b} new"] = getattr(gm, method)
                runs[f"{b} old"] = lambda X, gm=gm, old=old: old(gm, X)
            for f in runs.values():
                f(X)  # warm-up
            times = {name: [] for name in runs}
            for _ in range(ROUNDS):
                for name, f in runs.items():
                    start = time.perf_counter()
                    f(X)
                    times[name].append(time.perf_counter() - start)
            med = {n: float(np.median(t)) for n, t in times.items()}
            spread = {n: (min(t), max(t)) for n, t in times.items()}
            line = f"{ct:4s} {np.dtype(dtype).name:7s} {method:13s} sklearn {med['sklearn'] * 1e3:7.1f} ms"
            for b in backends:
                line += (
                    f" | {b}: old {med[b + ' old'] * 1e3:6.1f} new {med[b + ' new'] * 1e3:6.1f} ms"
                    f" (new/old {med[b + ' new'] / med[b + ' old']:.2f}, new range {spread[b + ' new'][0] * 1e3:.0f}-{spread[b + ' new'][1] * 1e3:.0f}) sk/new {med['sklearn'] / med[b + ' new']:.1f}x"
                )
            print(line, flush=True)
