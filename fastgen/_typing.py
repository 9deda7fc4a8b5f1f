"""The type aliases of the public API's annotations (checked by mypy, shown by the API reference)."""
from __future__ import annotations

from typing import Any, Optional, Union

import numpy as np

Array = Any
"""A NumPy, CuPy or torch array: the ops give back arrays of the caller's kind."""

Backend = Optional[str]
"""A backend name, "cpu", "numba" or "cuda", or None for the current default."""

RandomState = Union[int, np.random.RandomState, None]
"""scikit-learn's random_state: a seed, a RandomState, or None."""
