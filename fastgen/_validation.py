"""Input checks shared by the functional ops and the estimators. Every error names the
argument and says what was expected."""
from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def check_float_array(xp, name, a, ndim, dtype=None):
    """`a` as a C-contiguous float array of `ndim` dims; states given as bool or
    integer arrays become `dtype` (0/1 survive exactly), anything else must match it."""
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(a.shape)}")
    if a.dtype.kind in "biu" and dtype is not None:
        a = a.astype(dtype)
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got dtype {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but the weights are {np.dtype(dtype)}; pass one float dtype")
    if a.size and not bool(xp.isfinite(a).all()):
        raise ValueError(f"{name} contains NaN or infinity")
    return xp.ascontiguousarray(a)


def check_rows(xp, name, a, n_units, dtype, what):
    """`a` as a 2-D float array of at least one row and `n_units` columns (`what` they are)."""
    a = check_float_array(xp, name, a, 2, dtype)
    if a.shape[1] != n_units:
        raise ValueError(f"{name} must have {n_units} columns ({what}), got shape {tuple(a.shape)}")
    if a.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one row")
    return a


def check_binary(xp, name, a):
    if a.size and not bool(((a == 0) | (a == 1)).all()):
        raise ValueError(f"{name} must hold binary states (0 or 1 only)")


def check_count(name, value, minimum=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_seed(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or not 0 <= value < 2**64:
        raise ValueError(f"{name} must be an integer in [0, 2**64), got {value!r}")
    return int(value)


def check_counter(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an integer in [0, 2**32), got {value!r}")
    return int(value)


def check_betas(betas, from_zero):
    """Inverse temperatures as float64: 1-D, strictly increasing, ending at 1, and starting
    at 0 (`from_zero`: an annealing schedule) or anywhere in [0, 1) (a tempering ladder)."""
    try:
        betas = np.array(betas, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("betas must be a 1-D sequence of numbers") from exc
    if betas.ndim != 1 or betas.size < 2:
        raise ValueError(f"betas must be 1-D with at least two values, got shape {betas.shape}")
    if not np.isfinite(betas).all():
        raise ValueError("betas contains NaN or infinity")
    first, last = float(betas[0]), float(betas[-1])
    if from_zero and (first != 0.0 or last != 1.0):
        raise ValueError(f"betas must start at 0 and end at 1, got {first} ... {last}")
    if not from_zero and (first < 0.0 or last != 1.0):
        raise ValueError(f"betas must lie in [0, 1] and end at 1, got {first} ... {last}")
    if not (np.diff(betas) > 0).all():
        raise ValueError("betas must be strictly increasing")
    return betas
