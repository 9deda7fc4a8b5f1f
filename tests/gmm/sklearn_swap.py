"""A pytest plugin that runs scikit-learn's own mixture tests on fastgen.GaussianMixture.

Loaded with `-p sklearn_swap` (tests/gmm on PYTHONPATH) before the test modules are imported:
it sets `sklearn.mixture.GaussianMixture` to fastgen's class, so that scikit-learn's
`from sklearn.mixture import GaussianMixture` gets fastgen's. The private helpers those tests
import from `sklearn.mixture._gaussian_mixture` stay scikit-learn's.
"""
import sklearn.mixture

import fastgen

sklearn.mixture.GaussianMixture = fastgen.GaussianMixture


def pytest_report_header(config):
    return f"sklearn.mixture.GaussianMixture is {fastgen.GaussianMixture.__module__}.GaussianMixture (fastgen)"
