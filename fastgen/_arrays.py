"""Arrays in, the same kind out: NumPy, CuPy and torch (CPU or CUDA, via DLPack)."""
from __future__ import annotations

import sys

import numpy as np

from . import _backend
from ._validation import Layers


def _is_torch(x) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _is_cupy(x) -> bool:
    cupy = sys.modules.get("cupy")
    return cupy is not None and isinstance(x, cupy.ndarray)


def on_device(x) -> bool:
    return _is_cupy(x) or (_is_torch(x) and x.device.type == "cuda")


class Dispatch:
    """The backend of one call, its arguments as the backend's arrays, and `wrap` to
    give results back as the kind of array the first argument was."""

    def __init__(self, backend, **arrays):
        first = next(iter(arrays.values()))
        # Plain NumPy arrays, the common call, are on the host and already a host backend's
        # arrays: tested first, by exact type, which skips per-array tests and conversions
        # whose microseconds show in small kernels' calls (the diffusion step's Python layer).
        numpy_only = all(a is None or type(a) is np.ndarray for a in arrays.values())
        on_gpu = False
        if not numpy_only:
            device_flags = {name: on_device(a) for name, a in arrays.items() if a is not None}
            on_gpu = any(device_flags.values())
            if on_gpu and not all(device_flags.values()):
                host = [n for n, flag in device_flags.items() if not flag]
                raise ValueError(f"arrays {host} are on the host while others are on a GPU; put them on one device")
        self.kernels = _backend.resolve(backend, on_gpu)
        self.backend = self.kernels.name
        if numpy_only and self.kernels.xp is np:
            self._torch_device, self._to_numpy = None, False
            self.arrays = list(arrays.values())
            return
        self._torch_device = first.device if _is_torch(first) else None
        self._to_numpy = not (_is_cupy(first) or _is_torch(first)) and self.backend == "cuda"
        self.arrays = [None if a is None else self._native(name, a) for name, a in arrays.items()]

    def _native(self, name, a):
        xp = self.kernels.xp
        if type(a).__module__.startswith("scipy.sparse"):
            raise TypeError(f"{name} is a SciPy sparse matrix; the ops take dense arrays (use {name}.toarray())")
        if _is_torch(a):
            a = a.detach()
            if self.backend == "cuda" and a.device.type != "cuda":
                return xp.asarray(a.numpy())
            if xp is np and a.device.type == "cpu":
                try:  # the same zero-copy view as DLPack's, for a third of its cost (measured: 3 us against 9)
                    return a.numpy()
                except RuntimeError:  # a tensor numpy() refuses (a lazy negation or conjugation): DLPack's answer
                    pass
            return xp.from_dlpack(a)
        try:
            return xp.asarray(a)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}") from exc

    def wrap(self, result):
        if result is None:
            return None
        if self._torch_device is not None:
            import torch

            if type(result) is np.ndarray and self._torch_device.type == "cpu" and result.flags.writeable:
                return torch.from_numpy(result)  # shares the memory as DLPack does, for less (1.5 us against 4)
            return torch.from_dlpack(result).to(self._torch_device)
        if self._to_numpy:
            return result.get()
        return result


def dispatch_layers(backend, **arrays):
    """Dispatch of a call whose arguments are arrays and per-layer lists of arrays (those
    given as Layers, from check_layer_list), each list element named `name[l]` in errors.
    Returns the Dispatch and the arguments in their order as the backend's arrays, lists as lists."""
    named, sizes = {}, {}
    for name, value in arrays.items():
        if isinstance(value, Layers):
            sizes[name] = len(value)
            named.update({f"{name}[{i}]": a for i, a in enumerate(value)})
        else:
            named[name] = value
    call = Dispatch(backend, **named)
    converted, position = [], 0
    for name in arrays:
        size = sizes.get(name)
        if size is None:
            converted.append(call.arrays[position])
            position += 1
        else:
            converted.append(list(call.arrays[position:position + size]))
            position += size
    return call, converted


def host(a):
    """A NumPy array of a backend's array (a copy from the device for CuPy; NumPy as it is)."""
    return a.get() if _is_cupy(a) else a
