"""Input checks of the functional ops, on the backend's arrays, before any kernel runs.

Every error names the argument and says what was expected. One rule for the kind of
mistake: a wrong type (None or a string for an array, a float or a bool for a count, an
integer array where floats are needed) is a TypeError; a wrong value (shape, size, range,
NaN) is a ValueError. The estimators check their hyperparameters with scikit-learn's
`_parameter_constraints` instead (fastgen/_estimator.py), whose InvalidParameterError is both.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def _is_int(value):
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_float_array(xp, name, a, ndim, dtype=None):
    """`a` as a C-contiguous float array of `ndim` dims; states given as bool or integer
    arrays become `dtype` (0/1 survive exactly), anything else must match it."""
    if a is None:
        raise TypeError(f"{name} must be an array, got None")
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


def check_vector(xp, name, a, size, dtype, what):
    """`a` as a 1-D float array of `size` values of `dtype` (`what` they are)."""
    a = check_float_array(xp, name, a, 1, dtype)
    if a.shape[0] != size:
        raise ValueError(f"{name} must have length {size} ({what}), got {a.shape[0]}")
    return a


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


def check_states(xp, name, a, n_units, dtype, what):
    """Binary states: a 2-D float array of `n_units` columns (`what` they are) holding 0 or 1."""
    a = check_rows(xp, name, a, n_units, dtype, what)
    check_binary(xp, name, a)
    return a


def check_rbm(xp, W, b=None, c=None, sigma=None, *, nonempty=False):
    """[W, b, c, sigma] of an RBM, those given: W 2-D (with at least one unit in each layer
    when `nonempty`), the visible bias b (n_visible,), the hidden bias c (n_hidden,) and the
    visible standard deviations sigma (n_visible,) > 0 of a Gaussian-Bernoulli RBM, one float dtype."""
    W = check_float_array(xp, "W", W, 2)
    if nonempty and 0 in W.shape:
        raise ValueError(f"W must have at least one visible and one hidden unit, got shape {tuple(W.shape)}")
    n_visible, n_hidden = W.shape
    checked = [W]
    for name, vector, size, what in (("b", b, n_visible, "the visible units of W"),
                                     ("c", c, n_hidden, "the hidden units of W"),
                                     ("sigma", sigma, n_visible, "one standard deviation per visible unit")):
        if vector is not None:
            checked.append(check_vector(xp, name, vector, size, W.dtype, what))
    if sigma is not None:
        check_precisions(xp, "sigma", checked[-1])
    check_products(xp, W, biases=checked[1:3])
    return checked


def check_nade(xp, W, V, b, c):
    """[W, V, b, c] of a NADE (fastgen.nade): the input weights W and output weights V, both
    (n_visible, n_hidden) with at least one unit in each layer, the visible bias b (n_visible,)
    and the hidden bias c (n_hidden,), one float dtype, their sums within the dtype's range."""
    W = check_float_array(xp, "W", W, 2)
    if 0 in W.shape:
        raise ValueError(f"W must have at least one visible and one hidden unit, got shape {tuple(W.shape)}")
    V = check_float_array(xp, "V", V, 2, W.dtype)
    if V.shape != W.shape:
        raise ValueError(f"V must have the shape of W {tuple(W.shape)} (n_visible, n_hidden), got {tuple(V.shape)}")
    b = check_vector(xp, "b", b, W.shape[0], W.dtype, "the visible units of W")
    c = check_vector(xp, "c", c, W.shape[1], W.dtype, "the hidden units of W")
    check_products(xp, W, biases=[c])
    check_products(xp, V, biases=[b], name="V")
    return W, V, b, c


def _largest(xp, a):
    return float(xp.abs(a).max()) if a is not None and a.size else 0.0


def check_products(xp, W, visible=1.0, hidden=1.0, biases=(), name="W"):
    """W's products with visible rows of entries at most `visible` in magnitude (v W) and hidden
    rows of entries at most `hidden` (h W^T), plus a bias, cannot overflow W's dtype (in float32,
    weights near 1e38 would turn sums into infinities and NaN, in an order that depends on the
    kernel). The defaults are states in [0, 1]."""
    n_visible, n_hidden = W.shape
    bound = _largest(xp, W) * max(n_visible * visible, n_hidden * hidden) + max(map(lambda a: _largest(xp, a), biases),
                                                                               default=0.0)
    if not bound <= float(np.finfo(W.dtype).max):  # compared as Python floats: no overflowing cast
        raise ValueError(f"{name} holds values up to {_largest(xp, W):.3g}: in {W.dtype}, its products with the "
                         f"states can overflow (to infinity or NaN); use float64, or smaller values")


def check_precisions(xp, name, sigma):
    """Standard deviations > 0 whose precisions 1 / sigma^2 are finite in their dtype."""
    if sigma.size and not bool((sigma > 0).all()):
        raise ValueError(f"{name} must hold standard deviations > 0")
    with np.errstate(over="ignore", divide="ignore"):  # the overflow is what is checked, and refused below
        precisions_finite = bool(xp.isfinite(1 / (sigma * sigma)).all()) if sigma.size else True
    if not precisions_finite:
        raise ValueError(f"{name} holds standard deviations too small for {sigma.dtype}: 1 / {name}^2 overflows "
                         f"(the smallest is {float(sigma.min()):.3g}); use float64 or larger values")
    return sigma


class Layers(list):
    """A list of per-layer arrays (see check_layer_list), told apart from an array given as a list."""


def check_layer_list(name, value):
    """A list or tuple of per-layer arrays, as Layers."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of arrays (one per layer), got {type(value).__name__}")
    return Layers(value)


def check_dbm(xp, weights, biases):
    """The weights [W_0 .. W_{L-1}] and biases [b_0 .. b_L] of a DBM (L >= 2) as C-contiguous
    arrays of one float dtype, their shapes chained."""
    if len(weights) < 2:
        raise ValueError(f"weights must hold at least two matrices (a DBM has >= 2 hidden layers), got {len(weights)}")
    if len(biases) != len(weights) + 1:
        raise ValueError(f"biases must hold one vector per layer ({len(weights) + 1}), got {len(biases)}")
    checked = []
    dtype = None
    for i, W in enumerate(weights):
        W = check_float_array(xp, f"weights[{i}]", W, 2, dtype)
        dtype = W.dtype
        if 0 in W.shape:
            raise ValueError(f"weights[{i}] must have at least one row and one column, got shape {tuple(W.shape)}")
        if checked and checked[-1].shape[1] != W.shape[0]:
            raise ValueError(f"weights[{i}] must have {checked[-1].shape[1]} rows (the columns of weights[{i - 1}]), "
                             f"got shape {tuple(W.shape)}")
        checked.append(W)
    sizes = [W.shape[0] for W in checked] + [checked[-1].shape[1]]
    checked_biases = [check_vector(xp, f"biases[{i}]", b, size, dtype, f"units of layer {i}")
                      for i, (b, size) in enumerate(zip(biases, sizes))]
    return checked, checked_biases


def check_probabilities(xp, name, a):
    if a.size and not bool(((a >= 0) & (a <= 1)).all()):
        raise ValueError(f"{name} must hold values in [0, 1] (binary states or probabilities)")


def check_layers(xp, names, arrays, biases, binary):
    """One array per layer of a DBM, matching the biases' sizes and dtype, with as many rows
    as the first; binary states (`binary`) or values in [0, 1]."""
    checked = []
    for i, (name, x, b) in enumerate(zip(names, arrays, biases)):
        x = check_rows(xp, name, x, b.shape[0], b.dtype, f"units of layer {i}")
        if checked and x.shape[0] != checked[0].shape[0]:
            raise ValueError(f"{name} must have {checked[0].shape[0]} rows (those of {names[0]}), got {x.shape[0]}")
        (check_binary if binary else check_probabilities)(xp, name, x)
        checked.append(x)
    return checked


def check_count(name, value, minimum=1):
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_word(name, value, bits):
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer in [0, 2**{bits}), got {value!r}")
    if not 0 <= value < 2**bits:
        raise ValueError(f"{name} must be an integer in [0, 2**{bits}), got {value!r}")
    return int(value)


def check_seed(name, value):
    """A 64-bit Philox key."""
    return _check_word(name, value, 64)


def check_counter(name, value):
    """A 32-bit Philox counter word (a call counter or a stream)."""
    return _check_word(name, value, 32)


def check_counters(counter, n_calls, last):
    """The first of `n_calls` consecutive call counters; the last of them (named `last` in
    errors) must be a counter too."""
    counter = check_counter("counter", counter)
    check_counter(last, counter + n_calls - 1)
    return counter


def check_flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_real(name, value, low=-np.inf, high=np.inf, low_open=False, high_open=False):
    """A finite real number in the interval from `low` to `high` (open ends as given)."""
    # a Python float or int first, by exact type (bool is neither): the isinstance tests
    # against the numbers ABCs cost a microsecond, per step on the diffusion hot path
    if type(value) is not float and type(value) is not int and (
            isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer))):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    inside = (low < value if low_open else low <= value) and (value < high if high_open else value <= high)
    if not math.isfinite(value) or not inside:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return value


def check_sigma_values(name, sigma):
    """Standard deviations given as a number or a 1-D sequence, as a float64 array (a number
    stays 0-D): every value finite and > 0."""
    if isinstance(sigma, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number > 0 or a 1-D array of them, got {sigma!r}")
    try:
        values = np.array(sigma, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number > 0 or a 1-D array of them, got {sigma!r}") from exc
    if values.ndim > 1 or values.size == 0:
        raise ValueError(f"{name} must be a real number > 0 or a 1-D array of them, got shape {values.shape}")
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError(f"{name} must hold finite standard deviations > 0")
    return values


def check_float_dtype(name, dtype):
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from exc
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {dtype}")
    return dtype


def check_betas(betas, from_zero):
    """Inverse temperatures as float64: 1-D, strictly increasing, ending at 1, and starting
    at 0 (`from_zero`: an annealing schedule) or anywhere in [0, 1) (a tempering ladder)."""
    try:
        betas = np.array(betas, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("betas must be a 1-D sequence of numbers") from exc
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


def check_sample_pair(xp, X, Y, min_rows):
    """Two samples X (N, D) and Y (M, D): 2-D float arrays of one dtype and the same number
    D >= 1 of features, each with at least `min_rows` rows, finite (C-contiguous on return)."""
    X = check_float_array(xp, "X", X, 2)
    Y = check_float_array(xp, "Y", Y, 2)
    if X.dtype != Y.dtype:
        raise TypeError(f"X and Y must have one float dtype, got {X.dtype} and {Y.dtype}")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y must have the same number of features (columns), got shapes {tuple(X.shape)} "
                         f"and {tuple(Y.shape)}")
    if X.shape[1] < 1:
        raise ValueError(f"X and Y must have at least one feature (column), got shape {tuple(X.shape)}")
    for name, a in (("X", X), ("Y", Y)):
        if a.shape[0] < min_rows:
            raise ValueError(f"{name} must hold at least {min_rows} rows (samples) for this estimator, "
                             f"got {a.shape[0]}")
    return X, Y


def check_choice(name, value, choices):
    """One of the strings `choices`."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value
