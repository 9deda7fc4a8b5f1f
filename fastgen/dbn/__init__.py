"""The deep belief net: fastgen.DBN (_estimator.py), a stack of the RBM families' estimators;
it has no kernels of its own."""
