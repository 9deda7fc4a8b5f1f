"""What `import fastgen` costs and says: no heavy library until something needs it, and a
warning, with the fix, when the C++ extension is missing (a source checkout)."""
import shutil
import subprocess
import sys
from pathlib import Path

import fastgen

HEAVY = ("sklearn", "scipy", "numba", "cupy", "torch", "diffusers", "dask")


def _run(code, **kwargs):
    return subprocess.run([sys.executable, *kwargs.pop("flags", []), "-c", code], capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_import_loads_no_heavy_library(tmp_path):
    # cwd: not the repository root, where the source folder (without the built extension of a
    # `pip install .`) would shadow the installed package
    result = _run("import sys, fastgen; print(sorted({m.split('.')[0] for m in sys.modules}))", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = set(eval(result.stdout))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    assert "RuntimeWarning" not in result.stderr


def test_each_public_name_loads_what_it_needs(tmp_path):
    result = _run("import sys, fastgen\n"
                  "loaded = lambda: sorted({m.split('.')[0] for m in sys.modules})\n"
                  "fastgen.rbm, fastgen.random\nprint(loaded())\nfastgen.BernoulliRBM\nprint(loaded())", cwd=tmp_path)
    ops, estimator = (set(eval(line)) for line in result.stdout.splitlines())
    assert not ops & {"sklearn", "scipy", "torch", "cupy"}, ops  # the ops need NumPy alone
    assert "sklearn" in estimator


def test_a_source_checkout_without_the_extension_warns_with_the_fix(tmp_path):
    shutil.copytree(Path(fastgen.__file__).parent, tmp_path / "fastgen",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__", "csrc"))
    # -S: no site-packages, so no installed fastgen (nor its editable finder) can answer
    result = _run("import fastgen", flags=["-S"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "RuntimeWarning: fastgen's C++ extension (fastgen._core) is not built" in result.stderr
    assert "pip install --no-build-isolation -e ." in result.stderr
