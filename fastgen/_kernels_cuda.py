"""The `cuda` backend: csrc/cuda/*.cu compiled at run time by NVRTC through CuPy's
RawModule, GEMMs through cuBLAS (CuPy). Same methods as CpuKernels (_kernels_cpu.py).

The sources ship as package data (fastgen/csrc) and are read from the repository's
csrc/ in an editable checkout. The module is compiled once per device; CuPy's on-disk
cache is keyed by the source text, so a hash of every header is put into that text to
make a header change recompile."""
import functools
import hashlib
from pathlib import Path

import cupy as cp
import numpy as np

_THREADS = 256


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


def _kernel(module, function):
    return _module(module, cp.cuda.Device().id).get_function(function)


def _suffix(dtype):
    if dtype == np.float32:
        return "f32"
    if dtype == np.float64:
        return "f64"
    raise TypeError(f"CUDA kernels take float32 or float64, got {dtype}")


def _grid(n_items):
    return (max(1, min((n_items + _THREADS - 1) // _THREADS, 65535)),), (_THREADS,)


class CudaKernels:
    name = "cuda"
    xp = cp
    sparse_products = False  # cuBLAS beats sums of selected rows on the GPU

    def __init__(self):
        if cp.cuda.runtime.getDeviceCount() < 1:
            raise RuntimeError("no CUDA device found")

    def bernoulli(self, logits, bias, seed, call, stream):
        logits = cp.ascontiguousarray(logits)
        state = cp.empty_like(logits)
        n = logits.size
        kernel = _kernel("rbm", "bernoulli_logits_" + _suffix(logits.dtype))
        kernel(*_grid((n + 3) // 4), (logits, cp.ascontiguousarray(bias), logits, state, np.uint64(n),
                                      np.uint64(logits.shape[1]), np.uint64(seed), np.uint32(call),
                                      np.uint32(stream)))
        return state, logits

    def random_binary(self, shape, dtype, seed, call):
        state = cp.empty(shape, dtype=dtype)
        kernel = _kernel("random", "random_binary_" + _suffix(state.dtype))
        kernel(*_grid((state.size + 3) // 4), (state, np.uint64(state.size), np.uint64(seed), np.uint32(call)))
        return state

    def free_energy(self, logits, hidden_bias, visible_term):
        logits = cp.ascontiguousarray(logits)
        out = cp.empty(logits.shape[0], dtype=cp.float64)
        kernel = _kernel("rbm", "free_energy_" + _suffix(logits.dtype))
        kernel(*_grid(logits.shape[0]), (logits, cp.ascontiguousarray(hidden_bias),
                                         cp.ascontiguousarray(visible_term, dtype=cp.float64), out,
                                         np.uint64(logits.shape[0]), np.uint64(logits.shape[1])))
        return out

    def uniforms(self, n, seed, call, stream):
        out = cp.empty(n, dtype=cp.float32)
        _kernel("random", "uniforms")(*_grid((n + 3) // 4), (out, np.uint64(n), np.uint64(seed), np.uint32(call),
                                                             np.uint32(stream)))
        return out

    def ais_rbm(self, W, b, c, base, betas, seed, n_chains):
        # one block per chain (up to the grid limit; blocks then take further chains)
        n_visible, n_hidden = W.shape
        gain = b.astype(cp.float64) - base.astype(cp.float64)
        log_w = cp.empty(n_chains, dtype=cp.float64)
        shared = _THREADS * 8 + (n_visible + n_hidden) * W.dtype.itemsize
        if shared > 48 * 1024:
            raise ValueError(f"W of shape {tuple(W.shape)}: AIS on the GPU keeps a chain's states in shared memory, "
                             f"and {n_visible + n_hidden} {W.dtype} units need more than 48 KiB")
        kernel = _kernel("rbm", "ais_rbm_" + _suffix(W.dtype))
        kernel((min(n_chains, 65535),), (_THREADS,),
               (cp.ascontiguousarray(W), cp.ascontiguousarray(W.T), cp.ascontiguousarray(b),
                cp.ascontiguousarray(c), cp.ascontiguousarray(base), gain, cp.ascontiguousarray(betas, dtype=cp.float64),
                np.int64(betas.size), np.uint64(n_visible), np.uint64(n_hidden), np.uint64(seed), np.uint64(n_chains),
                log_w), shared_mem=shared)
        return log_w

    def mean_field_update(self, first, second, bias, damping, mu, changes, slot, tol):
        # block size a multiple of the warp: every lane takes part in the warp's max
        scalar = mu.dtype.type
        kernel = _kernel("dbm", "mean_field_update_" + _suffix(mu.dtype))
        null = np.uint64(0)  # a null pointer: no second product
        kernel(*_grid(mu.size), (first, null if second is None else second, bias, scalar(damping), mu, changes,
                                 np.int64(slot), scalar(tol), np.uint64(mu.size), np.uint64(mu.shape[1])))

    def gaussian(self, means, bias, sigma, seed, call, stream):
        means = cp.ascontiguousarray(means)
        state = cp.empty_like(means)
        n = means.size
        kernel = _kernel("gbrbm", "gaussian_" + _suffix(means.dtype))
        kernel(*_grid((n + 3) // 4), (means, cp.ascontiguousarray(bias), cp.ascontiguousarray(sigma), means, state,
                                      np.uint64(n), np.uint64(means.shape[1]), np.uint64(seed), np.uint32(call),
                                      np.uint32(stream)))
        return state, means
