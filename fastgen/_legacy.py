"""Import paths of fastgen 0.1's first layout, so that pickles written by it still load.

Those pickles name classes by the private modules they lived in (fastgen._estimator_rbm,
...). A finder on sys.meta_path answers for exactly those names with a module whose
attributes are the same classes at their new homes, imported when first asked for.
Nothing else imports them. New pickles name `fastgen.<Class>` (see fastgen/_estimator.py).
"""
from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types

# old module -> {name it held: the module that holds it now}
MOVED = {
    "fastgen._estimator_rbm": {
        "BernoulliRBM": "fastgen.rbm._estimator",
        "_RBMBase": "fastgen.rbm._base",
        "_PhiloxStream": "fastgen._estimator",
        "_PartitionCache": "fastgen._estimator",
    },
    "fastgen._estimator_gbrbm": {"GaussianBernoulliRBM": "fastgen.gbrbm._estimator"},
    "fastgen._estimator_dbn": {"DBN": "fastgen.dbn._estimator"},
    "fastgen._estimator_dbm": {"DBM": "fastgen.dbm._estimator"},
    "fastgen._rbm_partition": {"AISResult": "fastgen._partition"},
    "fastgen._rbm_tempering": {"PTResult": "fastgen.rbm._tempering"},
}


class _Moved(types.ModuleType):
    def __getattr__(self, name):
        homes = MOVED[self.__name__]
        if name not in homes:
            raise AttributeError(f"{self.__name__} is a fastgen 0.1 path kept for old pickles; it has no {name!r}")
        return getattr(importlib.import_module(homes[name]), name)


class _Finder:
    """A meta path finder and loader of the names in MOVED (importlib.abc's bases would cost
    `import fastgen` 12 ms more; the protocol is these three methods)."""

    def find_spec(self, fullname, path=None, target=None):
        return importlib.machinery.ModuleSpec(fullname, self) if fullname in MOVED else None

    def create_module(self, spec):
        return _Moved(spec.name)

    def exec_module(self, module):
        pass


def install():
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.append(_Finder())
