"""What the `cuda` kernels of every family share: csrc/cuda/<family>.cu compiled at run time by
NVRTC through CuPy's RawModule, and how kernels are looked up and launched.

The sources ship as package data (fastgen/csrc) and are read from the repository's csrc/
in an editable checkout. A module is compiled once per device; CuPy's on-disk cache is keyed
by the source text, so a hash of every header is put into that text to make a header change
recompile. Only the family modules `fastgen/<family>/_cuda.py` import this (and CuPy).
"""
import functools
import hashlib
from pathlib import Path

import cupy as cp
import numpy as np

THREADS = 256  # threads per block of the element-wise kernels


def source_root() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "csrc", here.parent / "csrc"):
        if (candidate / "cuda").is_dir() and (candidate / "include").is_dir():
            return candidate
    raise RuntimeError(f"fastgen's CUDA sources were not found beside {here}")


def module_source(name: str) -> tuple[str, tuple[str, ...]]:
    """The text of csrc/cuda/`name`.cu, prefixed with the hash of the headers, and the NVRTC options."""
    root = source_root()
    digest = hashlib.sha256()
    for header in sorted((root / "include").rglob("*.h")):
        digest.update(header.read_bytes())
    code = f"// fastgen headers sha256 {digest.hexdigest()}\n" + (root / "cuda" / f"{name}.cu").read_text()
    return code, ("-std=c++17", f"-I{root / 'include'}")


@functools.lru_cache(maxsize=None)
def _module(name: str, device_id: int):
    code, options = module_source(name)
    with cp.cuda.Device(device_id):
        return cp.RawModule(code=code, options=options)


def kernel(module: str, function: str):
    """Kernel `function` of csrc/cuda/`module`.cu on the current device."""
    return _module(module, cp.cuda.Device().id).get_function(function)


def suffix(dtype) -> str:
    """The name suffix of a kernel's float32 or float64 instance."""
    if dtype == np.float32:
        return "f32"
    if dtype == np.float64:
        return "f64"
    raise TypeError(f"CUDA kernels take float32 or float64, got {dtype}")


def grid(n_items):
    """(grid, block) of a grid-stride launch over `n_items` items."""
    return (max(1, min((n_items + THREADS - 1) // THREADS, 65535)),), (THREADS,)


def pointer(a):
    """A kernel's optional array argument: the array, or a null pointer."""
    return np.uint64(0) if a is None else a
