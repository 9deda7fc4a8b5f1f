"""fastgen.mixture.GaussianMixture, the import path of fastgen.GaussianMixture since 0.1 (it lives in fastgen/gmm/)."""
from .gmm._estimator import GaussianMixture

__all__ = ["GaussianMixture"]
