"""The layout's rules (docs/architecture.md), checked from the sources: every backend implements
its family's kernel interface, the constants shared with C++ agree with their headers, no
module imports itself back, Numba's cache cannot go stale, and pickles name public classes
(including those written by fastgen 0.1's first layout)."""
import abc
import ast
import importlib
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

import fastgen
from fastgen import _backend, _constants
from fastgen._numba import digest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "fastgen"
INCLUDE = ROOT / "csrc" / "include" / "fastgen"
CPU = ROOT / "csrc" / "cpu"


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
SOURCES = {name: path.read_text() for name, path in MODULES.items()}


def _imports(name, sources=SOURCES):
    """The fastgen modules that module `name` imports, anywhere in its source."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(sources[name])):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule != "fastgen._core":  # the C++ extension: imports nothing back
                    found.add(submodule if submodule in MODULES else target)
    return {module for module in found if module in MODULES and module != name}


# ---------------------------------------------------------------- one recipe per family


def _interface(family):
    """A family's kernel interface: the class of fastgen/<family>/_kernels.py derived from abc.ABC."""
    module = importlib.import_module(f"fastgen.{family}._kernels")
    interfaces = [cls for cls in vars(module).values() if isinstance(cls, type) and cls.__bases__ == (abc.ABC,)]
    assert len(interfaces) == 1, (family, interfaces)
    return interfaces[0]


@pytest.mark.parametrize("family", _backend.FAMILIES)
@pytest.mark.parametrize("backend", _backend.BACKEND_ORDER)
def test_every_backend_implements_its_family_interface(family, backend):
    """Read from the sources, so that it runs here for cuda too: fastgen/<family>/_<backend>.py
    defines `Kernels`, derived from the family's interface, with every abstract method and
    every attribute the interface declares."""
    interface = _interface(family)
    tree = ast.parse((PACKAGE / family / f"_{backend}.py").read_text())
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    assert "Kernels" in classes, f"fastgen/{family}/_{backend}.py defines no class Kernels"
    kernels = classes["Kernels"]
    base_names = {base.id if isinstance(base, ast.Name) else base.attr for base in kernels.bases}
    bases = [getattr(importlib.import_module(f"fastgen.{family}._kernels"), name) for name in base_names]
    assert all(issubclass(base, interface) for base in bases), (family, backend, base_names)
    provided = {node.name for node in kernels.body if isinstance(node, ast.FunctionDef)}
    provided |= {target.id for node in kernels.body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name)}
    for base in bases:  # what a shared partial implementation in _kernels.py provides
        provided |= {name for name, value in vars(base).items() if not getattr(value, "__isabstractmethod__", False)}
    required = set(interface.__abstractmethods__) | set(getattr(interface, "__annotations__", {}))
    assert required <= provided, f"{backend} {family} kernels lack {sorted(required - provided)}"


@pytest.mark.parametrize("family", _backend.FAMILIES)
def test_cpu_kernels_instantiate(family, cpu_backend):
    """The abstract base classes agree: an instance has no abstract method left."""
    kernels = getattr(_backend.kernels(cpu_backend), family)
    assert not getattr(type(kernels), "__abstractmethods__", None)


def test_no_module_outside_the_layout():
    """Every module is part of the layout: a family's files, or one of the shared layers."""
    shared = {"fastgen", "fastgen._arrays", "fastgen._backend", "fastgen._blas", "fastgen._constants", "fastgen._cuda",
              "fastgen._dask", "fastgen._estimator", "fastgen._legacy", "fastgen._numba", "fastgen._numba_math", "fastgen._partition",
              "fastgen._progress", "fastgen._typing",
              "fastgen._validation", "fastgen.cli", "fastgen.mixture",
              "fastgen._benchmarks", "fastgen._bench_progress"}  # the command line's `fastgen bench`
    families = set(_backend.FAMILIES) | {"dbn"}
    for name in MODULES:
        parts = name.split(".")
        assert name in shared or (len(parts) >= 2 and parts[1] in families), f"{name} is outside the layout"


def test_no_import_cycle():
    graph = {name: _imports(name) for name in MODULES}
    state = {}  # name -> 1 while on the path, 2 when done

    def visit(name, path):
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if state.get(target) is None:
                visit(target, path + [target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


# ---------------------------------------------------------------- constants shared with C++


def _enum(header, name):
    """{member: value} of `enum name : type { A = 0, B = 1, ... }` in a header (explicit values
    or counting on from the previous one)."""
    text = re.sub(r"//[^\n]*", "", (INCLUDE / header).read_text())
    body = re.search(rf"enum\s+{name}\s*:\s*\w+\s*\{{(.*?)\}}", text, re.S)
    assert body, f"enum {name} not found in {header}"
    members, value = {}, -1
    for item in filter(None, (part.strip() for part in body.group(1).split(","))):
        member, _, given = (x.strip() for x in item.partition("="))
        value = int(given, 0) if given else value + 1
        members[member] = value
    return members


def _constexpr(path, name):
    text = path.read_text()
    match = re.search(rf"constexpr\s+[\w:]+\s+{name}\s*=\s*([^;]+);", text)
    assert match, f"constexpr {name} not found in {path}"
    expression = match.group(1).strip()
    return eval(expression, {})  # the headers' constants are literals and shifts


ENUMS = [  # (header, C++ enum, its members' prefix, the Python mirror)
    ("random.h", "RbmStream", "STREAM_", _constants.RbmStream),
    ("random.h", "DbmStream", "DBM_STREAM_", _constants.DbmStream),
    ("random.h", "DiffusionStream", "STREAM_", _constants.DiffusionStream),
    ("random.h", "NadeStream", "NADE_STREAM_", _constants.NadeStream),
    ("diffusion.h", "StepColumn", "COL_", _constants.StepColumn),
    ("diffusion.h", "ClipMode", "CLIP_", _constants.ClipMode),
    ("diffusion.h", "VarianceMode", "VARIANCE_", _constants.VarianceMode),
    ("mmd.h", "MmdKernel", "MMD_", _constants.MmdKernel),
    ("mmd.h", "MmdDiagonal", "MMD_DIAGONAL_", _constants.MmdDiagonal),
]


@pytest.mark.parametrize("header, name, prefix, mirror", ENUMS, ids=[e[1] for e in ENUMS])
def test_enums_match_their_headers(header, name, prefix, mirror):
    members = _enum(header, name)
    if name == "StepColumn":
        assert members.pop("N_STEP_COLUMNS") == _constants.N_STEP_COLUMNS
    assert {f"{prefix}{member.name}": int(member) for member in mirror} == members


CONSTANTS = [  # (Python name, file, C++ name)
    ("NEGLIGIBLE_LOG_RESP", INCLUDE / "gmm.h", "kNegligibleLogResp"),
    ("GMM_BLOCK", CPU / "gmm.h", "kGmmBlock"),
    ("GMM_MAX_CHUNKS", CPU / "gmm.h", "kGmmMaxChunks"),
    ("GMM_CHUNK_BYTES", CPU / "gmm.h", "kGmmChunkBytes"),
    ("GMM_PARALLEL_WORK", CPU / "gmm.h", "kGmmParallelWork"),
    ("PARALLEL_WORK", CPU / "random.h", "kParallelWork"),
    ("PARALLEL_NORMALS", CPU / "random.h", "kParallelNormals"),
    ("PARALLEL_ADDS", CPU / "rbm.h", "kParallelAdds"),
    ("PARALLEL_STEP", CPU / "diffusion.h", "kParallelStep"),
    ("MMD_PARALLEL_WORK", CPU / "mmd.h", "kMmdParallelWork"),
    ("MMD_PAIR_BLOCK", CPU / "mmd.h", "kMmdPairBlock"),
    ("NADE_PARALLEL_WORK", CPU / "nade.h", "kNadeParallelWork"),
    ("NADE_CHUNK", CPU / "nade.h", "kNadeChunk"),
    ("NADE_DOT_LANES", CPU / "nade.h", "kNadeDotLanes"),
]


@pytest.mark.parametrize("name, path, cpp_name", CONSTANTS, ids=[c[0] for c in CONSTANTS])
def test_constants_match_their_headers(name, path, cpp_name):
    assert getattr(_constants, name) == _constexpr(path, cpp_name)


def test_no_stream_declared_outside_the_registry():
    """Philox streams are the enums of random.h and their mirror; no bare stream numbers in Python."""
    for name, path in MODULES.items():
        if name != "fastgen._constants":
            assert not re.search(r"\bSTREAM_\w+\s*=\s*\d", path.read_text()), f"{name} declares a stream"


# ---------------------------------------------------------------- Numba's cache


def _numba_modules(sources=SOURCES):
    """The modules that import Numba, but fastgen._numba (the machinery, never compiled itself)."""
    return sorted(name for name, text in sources.items()
                  if name != "fastgen._numba" and re.search(r"^(import numba|from numba\b)", text, re.M))


def _recorded_dependencies(source):
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "NUMBA_DEPENDENCIES" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def _stale_numba_records(sources):
    """{module: the NUMBA_DEPENDENCIES it should declare} for every Numba module whose record
    is not exactly the fastgen modules whose jitted code, constants or compile options
    (fastgen._numba) it imports, with the digests of their current sources."""
    numba_modules = set(_numba_modules(sources))
    compiled_in = numba_modules | {"fastgen._constants", "fastgen._numba"}
    stale = {}
    for name in numba_modules:
        needed = {module: digest(sources[module]) for module in _imports(name, sources) if module in compiled_in}
        if _recorded_dependencies(sources[name]) != needed:
            stale[name] = needed
    return stale


def test_numba_modules_record_what_their_kernels_compile_in():
    """A Numba module lists every fastgen module whose jitted code or constants it imports,
    with the digest of its source; a change there then forces a change here, and Numba
    recompiles this module's cached kernels (fastgen/_numba.py says why)."""
    stale = _stale_numba_records(SOURCES)
    assert not stale, "set NUMBA_DEPENDENCIES in " + "; ".join(f"{name}: {needed!r}" for name, needed in stale.items())


def test_numba_rule_catches_a_changed_helper():
    """The rule can fail: after a change to a shared helper, the modules that import it are
    stale until their records change (and updating a record changes that module in turn, so
    the modules that import it are next)."""
    changed = dict(SOURCES)
    changed["fastgen._numba_math"] += "\n# a change\n"
    stale = _stale_numba_records(changed)
    assert {"fastgen.random._numba", "fastgen.rbm._numba", "fastgen.gmm._numba"} <= set(stale)
    changed["fastgen._constants"] += "\n# a change\n"
    assert "fastgen.dbm._numba" in _stale_numba_records(changed)
    changed = dict(SOURCES)
    changed["fastgen._numba"] += "\n# a change of the compile options\n"
    assert {"fastgen.dbm._numba", "fastgen.diffusion._numba", "fastgen.gmm._numba"} <= set(_stale_numba_records(changed))


# ---------------------------------------------------------------- public names and pickles


@pytest.mark.parametrize("name", ["BernoulliRBM", "GaussianBernoulliRBM", "DBN", "DBM", "GaussianMixture", "NADE"])
def test_estimators_report_the_public_module(name):
    cls = getattr(fastgen, name)
    assert cls.__module__ == "fastgen"
    assert getattr(importlib.import_module(cls.__module__), cls.__name__) is cls


def test_readme_names_resolve():
    for name in fastgen.__all__:
        assert getattr(fastgen, name) is not None
    for module, names in {"rbm": ["gibbs", "sample_hidden", "sample_visible", "cd_statistics", "free_energy",
                                  "log_partition_exact", "log_partition_ais", "base_visible_bias",
                                  "parallel_tempering", "default_ais_betas", "AISResult", "PTResult"],
                          "gbrbm": ["sample_visible", "sample_hidden", "gibbs", "free_energy", "cd_statistics",
                                    "log_partition_exact", "log_partition_ais"],
                          "dbm": ["mean_field", "gibbs", "log_partition_exact", "log_partition_ais",
                                  "variational_bound"],
                          "diffusion": ["GaussianMixtureDenoiser", "SchedulerOutput", "sample"],
                          "random": ["uniform", "normal"],
                          "mmd": ["mmd2", "kid", "median_bandwidth"],
                          "nade": ["log_likelihood", "log_likelihood_grad", "sample"]}.items():
        for name in names:
            assert callable(getattr(getattr(fastgen, module), name)), f"fastgen.{module}.{name}"
    from fastgen.mixture import GaussianMixture

    assert GaussianMixture is fastgen.GaussianMixture


def test_new_pickles_name_public_classes_only(cpu_backend):
    X = (np.random.default_rng(0).random((30, 6)) > 0.5).astype(np.float64)
    model = fastgen.BernoulliRBM(n_components=3, n_iter=1, random_state=0, backend=cpu_backend).fit(X)
    model.log_partition("exact")
    data = pickle.dumps(model)
    for private in (b"fastgen._", b"fastgen.rbm._"):
        assert private not in data
    again = pickle.loads(data)
    np.testing.assert_array_equal(again.transform(X), model.transform(X))
    assert again.log_partition("exact") == model.log_partition("exact")
    np.testing.assert_array_equal(again.sample(2, n_steps=3), model.sample(2, n_steps=3))


def test_fastgen_0_1_pickles_load_and_give_the_same_results():
    """tests/fixtures/legacy-0.1.pkl: estimators pickled by the code as of 1ae2715 (see
    make_legacy_pickles.py), with the results it gave; the cpu backend is bit-reproducible."""
    with open(Path(__file__).with_name("fixtures") / "legacy-0.1.pkl", "rb") as f:
        data = pickle.load(f)
    models = pickle.loads(data["models"])
    X, Z, expected = data["X"], data["Z"], data["expected"]
    rbm, gbrbm, dbn, dbm, gmm = (models[name] for name in ("rbm", "gbrbm", "dbn", "dbm", "gmm"))
    assert type(rbm) is fastgen.BernoulliRBM and type(gmm) is fastgen.GaussianMixture
    results = {
        "rbm.transform": rbm.transform(X),
        "rbm.free_energy": rbm.free_energy(X),
        "rbm.log_likelihood_exact": rbm.log_likelihood(X, method="exact"),
        "rbm.log_partition_exact": rbm.log_partition("exact"),
        "rbm.sample": rbm.sample(3, n_steps=5, random_state=7),
        "gbrbm.transform": gbrbm.transform(Z),
        "gbrbm.free_energy": gbrbm.free_energy(Z),
        "dbn.transform": dbn.transform(X),
        "dbm.transform": dbm.transform(X),
        "dbm.log_partition_exact": dbm.log_partition("exact"),
        "gmm.score_samples": gmm.score_samples(Z[:, :5]),
        "gmm.predict_proba": gmm.predict_proba(Z[:, :5]),
    }
    assert results.keys() == expected.keys()
    # Rounding apart since 0.1 (the same values, not the same bits):
    # - the binary RBM's free-energy kernel (which the Gaussian-Bernoulli RBM's shares) has summed
    #   its softplus terms in eight lanes since its float32 path was vectorised (csrc/include/
    #   fastgen/rbm.h, free_energy_row), not one after the other as in 1ae2715 (2.7e-16 relative
    #   measured here);
    # - GaussianMixture.predict_proba is the fused scoring pass's (score_rows of fastgen/gmm:
    #   exp(x - top) / total, 0 below e^-500, where 0.1 took exp(x - logsumexp)).
    rounded = {
        "rbm.free_energy": {"rtol": 1e-15, "atol": 0.0},
        "gbrbm.free_energy": {"rtol": 1e-15, "atol": 0.0},
        "gmm.predict_proba": {"rtol": 1e-13, "atol": 1e-200},
    }
    for key, value in results.items():
        if key in rounded:
            np.testing.assert_allclose(value, expected[key], err_msg=key, **rounded[key])
        else:
            np.testing.assert_array_equal(value, expected[key], err_msg=key)


if __name__ == "__main__":  # python tests/test_layout.py: rewrite the NUMBA_DEPENDENCIES records that are stale
    while stale := _stale_numba_records(SOURCES):
        for name, needed in stale.items():
            entries = [f'"{k}": "{needed[k]}"' for k in sorted(needed)]
            record = "NUMBA_DEPENDENCIES = {" + ", ".join(entries) + "}"
            if len(record) > 120:
                record = "NUMBA_DEPENDENCIES = {\n" + "".join(f"    {entry},\n" for entry in entries) + "}"
            text = SOURCES[name]
            if re.search(r"^NUMBA_DEPENDENCIES = ", text, re.M):
                text = re.sub(r"^NUMBA_DEPENDENCIES = \{[^}]*\}", record, text, flags=re.M)
            else:
                text = f"{text.rstrip()}\n\n\n{record}\n"
            MODULES[name].write_text(text)
            SOURCES[name] = text
            print(f"{name}: {record}")
