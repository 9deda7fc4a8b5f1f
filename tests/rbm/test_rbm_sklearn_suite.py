"""scikit-learn's own BernoulliRBM tests (sklearn/neural_network/tests/test_rbm.py, installed
with scikit-learn), run with fastgen.BernoulliRBM in place of scikit-learn's class."""
from pathlib import Path

import sklearn

TEST_FILE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_rbm.py"

# They hard-code the weights that 42 epochs give with scikit-learn's own random draws; fastgen
# draws from Philox streams (same initial weights, other Gibbs draws), so the weights differ.
DRAWN_BY_SCIKIT_LEARN = {"test_fit_gibbs[csc_matrix]", "test_fit_gibbs[csc_array]"}


def test_scikit_learns_rbm_tests_pass(peer_suite):
    # --rootdir/--confcutdir: sklearn/conftest.py is loaded once, as the plugin -p names (with the
    # virtual environment under the temporary directory pytest would also collect it as a conftest)
    outcomes = peer_suite(TEST_FILE, {"sklearn.neural_network:BernoulliRBM": "fastgen:BernoulliRBM"},
                          "-p", "sklearn.conftest", f"--rootdir={TEST_FILE.parent}",
                          f"--confcutdir={TEST_FILE.parent}")
    assert len(outcomes) >= 20, outcomes
    failed = {name for name, status in outcomes.items() if status == "failed"}
    assert failed == DRAWN_BY_SCIKIT_LEARN & set(outcomes), sorted(failed)
    assert all(status == "passed" for name, status in outcomes.items() if name not in DRAWN_BY_SCIKIT_LEARN)
