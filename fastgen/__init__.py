"""fastgen: fast inner loops of generative models on CPU and GPU."""
import os

# OpenMP threads that spin-wait after a parallel region take the cores from the BLAS
# threads of the GEMM that comes next (and the other way round): alternating fastgen's
# kernels with NumPy's GEMMs ran 8x slower than either alone on a 2-core machine.
# Sleeping threads fix it. libgomp reads this once, when fastgen._core loads it (so it is
# set before anything can import the extension); a value the user has set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import rbm  # noqa: E402
from ._backend import available_backends, get_backend, set_backend, use_backend
from ._estimator_rbm import BernoulliRBM

__version__ = "0.1.0"
__all__ = ["BernoulliRBM", "available_backends", "get_backend", "set_backend", "use_backend", "rbm"]
