"""The Gaussian-mixture family: fastgen.GaussianMixture (_estimator.py) on the fused E-step
kernels of each backend (the interface in _kernels.py)."""
