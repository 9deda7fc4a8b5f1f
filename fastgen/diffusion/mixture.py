class GaussianMixtureDenoiser: pass
