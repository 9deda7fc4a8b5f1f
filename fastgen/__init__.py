"""fastgen: fast inner loops of generative models on CPU and GPU.

The estimators, the model families' ops modules and the diffusion samplers load on first
use (module `__getattr__`), so that `import fastgen` does not import scikit-learn, SciPy,
Numba or CuPy before something needs them.
"""
import importlib
import importlib.util
import warnings

from . import _legacy
from ._backend import available_backends, get_backend, set_backend, use_backend

__version__ = "0.1.0"

# public name -> the module that defines it (a module itself when the name is a submodule)
_LAZY = {
    "BernoulliRBM": "fastgen.rbm._estimator",
    "GaussianBernoulliRBM": "fastgen.gbrbm._estimator",
    "DBN": "fastgen.dbn._estimator",
    "DBM": "fastgen.dbm._estimator",
    "GaussianMixture": "fastgen.gmm._estimator",
    "NADE": "fastgen.nade._estimator",
    "DDPMScheduler": "fastgen.diffusion",  # diffusers subclasses: an ImportError naming fastgen[diffusers] without it
    "DDIMScheduler": "fastgen.diffusion",
    "sample": "fastgen.diffusion",
    "dbm": None,
    "diffusion": None,
    "gbrbm": None,
    "mixture": None,
    "mmd": None,
    "nade": None,
    "random": None,
    "rbm": None,
}

__all__ = ["BernoulliRBM", "DBM", "DBN", "DDIMScheduler", "DDPMScheduler", "GaussianBernoulliRBM", "GaussianMixture",
           "NADE", "available_backends", "get_backend", "sample", "set_backend", "use_backend", "dbm", "diffusion",
           "gbrbm", "mixture", "mmd", "nade", "random", "rbm"]

if importlib.util.find_spec("diffusers") is None:  # the drop-ins need it: `from fastgen import *` skips them
    __all__ = [name for name in __all__ if name not in ("DDIMScheduler", "DDPMScheduler")]

_legacy.install()

if importlib.util.find_spec("fastgen._core") is None:
    warnings.warn(
        f"fastgen's C++ extension (fastgen._core) is not built in {__path__[0]}: is this a source checkout? "
        "The 'cpu' backend is unavailable, and host arrays run on 'numba'. Install the package (pip install .) "
        "and run from outside the source folder, or build the extension in place: "
        "pip install --no-build-isolation -e .", RuntimeWarning, stacklevel=2)


def __getattr__(name):
    if name == "SchedulerMixin":
        # diffusers' pipeline loader finds how to load a component (here fastgen.DDPMScheduler,
        # recorded as ["fastgen", "DDPMScheduler"] in model_index.json) by looking up the base
        # classes it knows in the component's library: fastgen answers with diffusers' own.
        try:
            from diffusers import SchedulerMixin
        except ImportError:
            raise AttributeError("fastgen.SchedulerMixin is diffusers' SchedulerMixin: diffusers is not installed")
        return SchedulerMixin
    if name not in _LAZY:
        raise AttributeError(f"module 'fastgen' has no attribute {name!r}")
    module = _LAZY[name]
    value = importlib.import_module(f"fastgen.{name}") if module is None else getattr(
        importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
