"""fastgen: fast inner loops of generative models on CPU and GPU."""
from . import dbm, gbrbm, rbm
from ._backend import available_backends, get_backend, set_backend, use_backend
from ._estimator_dbm import DBM
from ._estimator_dbn import DBN
from ._estimator_gbrbm import GaussianBernoulliRBM
from ._estimator_rbm import BernoulliRBM
from .diffusion import DDIMScheduler, DDPMScheduler, sample
from .mixture import GaussianMixture

__version__ = "0.1.0"
__all__ = ["BernoulliRBM", "DBM", "DBN", "DDIMScheduler", "DDPMScheduler", "GaussianBernoulliRBM", "GaussianMixture",
           "available_backends", "get_backend", "sample", "set_backend", "use_backend", "dbm", "gbrbm", "rbm"]
