"""Bad input to fastgen.mmd: a TypeError or ValueError naming the argument, before any kernel runs."""
import numpy as np
import pytest

from fastgen import mmd

rng = np.random.default_rng(0)
X = rng.normal(size=(10, 3))
Y = rng.normal(size=(8, 3))


@pytest.mark.parametrize("call, error, match", [
    (lambda: mmd.mmd2(X, Y[:, :2]), ValueError, "same number of features"),
    (lambda: mmd.mmd2(X[0], Y), ValueError, "X must be 2-D"),
    (lambda: mmd.mmd2(X, None), TypeError, "Y must be an array"),
    (lambda: mmd.mmd2(X, Y.astype(np.float32)), TypeError, "one float dtype"),
    (lambda: mmd.mmd2(X.astype(np.int64), Y), TypeError, "X must be float32 or float64"),
    (lambda: mmd.mmd2(X, "abc"), ValueError, "Y must be 2-D"),
    (lambda: mmd.mmd2(np.where(X > 1, np.nan, X), Y), ValueError, "X contains NaN"),
    (lambda: mmd.mmd2(X, np.where(Y > 1, np.inf, Y)), ValueError, "Y contains NaN or infinity"),
    (lambda: mmd.mmd2(X[:1], Y), ValueError, "X must hold at least 2 rows"),
    (lambda: mmd.mmd2(X, Y[:1], estimator="linear"), ValueError, "Y must hold at least 2 rows"),
    (lambda: mmd.mmd2(X[:0], Y, estimator="biased"), ValueError, "X must hold at least 1 rows"),
    (lambda: mmd.mmd2(X[:, :0], Y[:, :0]), ValueError, "at least one feature"),
    (lambda: mmd.mmd2(X, Y, bandwidth=0.0), ValueError, "bandwidth"),
    (lambda: mmd.mmd2(X, Y, bandwidth=-1.0), ValueError, "bandwidth"),
    (lambda: mmd.mmd2(X, Y, bandwidth=[1.0, np.nan]), ValueError, "bandwidth"),
    (lambda: mmd.mmd2(X, Y, bandwidth=[]), ValueError, "bandwidth"),
    (lambda: mmd.mmd2(X, Y, bandwidth="mean"), ValueError, "bandwidth must be one of 'median'"),
    (lambda: mmd.mmd2(X, Y, bandwidth=1e-300), ValueError, "bandwidth"),
    (lambda: mmd.mmd2(X, Y, kernel="rbf"), ValueError, "kernel must be one of"),
    (lambda: mmd.mmd2(X, Y, kernel=None), TypeError, "kernel must be one of"),
    (lambda: mmd.mmd2(X, Y, estimator="mle"), ValueError, "estimator must be one of"),
    (lambda: mmd.mmd2(X, Y, "polynomial", degree=0), ValueError, "degree"),
    (lambda: mmd.mmd2(X, Y, "polynomial", degree=2.5), TypeError, "degree"),
    (lambda: mmd.mmd2(X, Y, "polynomial", gamma=0.0), ValueError, "gamma"),
    (lambda: mmd.mmd2(X, Y, "polynomial", coef0=np.inf), ValueError, "coef0"),
    (lambda: mmd.mmd2(X, Y, "polynomial", degree=200, gamma=1e3), ValueError, "not finite"),
    (lambda: mmd.mmd2(np.ones((5, 3)), np.ones((4, 3))), ValueError, "median distance of 0"),
    (lambda: mmd.mmd2(X, Y, backend="tpu"), ValueError, "backend"),
    (lambda: mmd.kid(X, Y, subsets=0), ValueError, "subsets"),
    (lambda: mmd.kid(X, Y, subsets=3, subset_size=9), ValueError, "subset_size .* rows of Y"),
    (lambda: mmd.kid(X, Y, subsets=3, subset_size=1), ValueError, "subset_size"),
    (lambda: mmd.kid(X, Y, subsets=3, subset_size=4, seed=-1), ValueError, "seed"),
    (lambda: mmd.median_bandwidth(X, Y, max_points=1), ValueError, "max_points"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_torch_overflow_raises_too():
    torch = pytest.importorskip("torch")
    a = torch.from_numpy(X).requires_grad_()
    with pytest.raises(ValueError, match="not finite"):
        mmd.mmd2(a, torch.from_numpy(Y), "polynomial", degree=200, gamma=1e3)
