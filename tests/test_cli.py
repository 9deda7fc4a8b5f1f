"""Tests of the `fastgen` console command (fastgen.cli.main)."""
import numpy as np
import pytest

import fastgen
from fastgen import _backend, cli

DEMO_ARGS = ["demo", "--epochs", "2", "--hidden", "16", "--samples", "10", "--steps", "20"]


def _tiles(canvas, row, n_cols=10, tile=8, pad=1):
    y = pad + row * (tile + pad)
    return [canvas[y : y + tile, pad + c * (tile + pad) : pad + c * (tile + pad) + tile] for c in range(n_cols)]


def test_demo_writes_a_png(backend, tmp_path, capsys):
    check_demo(backend, tmp_path, capsys)


def test_demo_default_backend_writes_a_png(tmp_path, capsys):
    check_demo(None, tmp_path, capsys)


def check_demo(backend, tmp_path, capsys):
    """`fastgen demo` with --backend `backend` (None: without the option) writes the PNG it reports."""
    Image = pytest.importorskip("PIL.Image")
    from sklearn.datasets import load_digits

    out = tmp_path / "d.png"
    argv = DEMO_ARGS + ["--output", str(out)] + ([] if backend is None else ["--backend", backend])
    assert cli.main(argv) == 0
    stdout = capsys.readouterr().out
    used = backend or _backend.host_default()  # the default for host data: cpu, else numba
    assert f"backend: {used}" in stdout
    assert str(out.resolve()) in stdout
    assert "parallel tempering, 10 temperatures (beta 0.2 to 1)" in stdout and "swap acceptance" in stdout
    counts = _class_counts(stdout)
    assert sorted(counts) == list(range(10)) and sum(counts.values()) == 10

    assert out.is_file()
    with Image.open(out) as image:
        image.load()
        assert image.format == "PNG"
        assert image.mode == "L"
        # 2 rows (10 digits, 10 samples) x 10 tiles of 8x8 pixels, 1-pixel gaps, scaled 6x.
        assert image.size == (6 * (10 * 9 + 1), 6 * (2 * 9 + 1))
        pixels = np.asarray(image)
    canvas = pixels[::6, ::6]
    assert np.array_equal(np.repeat(np.repeat(canvas, 6, axis=0), 6, axis=1), pixels)  # nearest-neighbour scaling
    # Top row: a binarized training digit of each class, 0 to 9, drawn as black/white tiles.
    digits = load_digits()
    labels_of = {}
    for row, label in zip((digits.data > 7).astype(np.uint8), digits.target):
        labels_of.setdefault(row.tobytes(), set()).add(label)
    for digit, tile in enumerate(_tiles(canvas, 0)):
        assert set(np.unique(tile)) <= {0, 255}
        assert digit in labels_of[(tile // 255).astype(np.uint8).reshape(-1).tobytes()]
    # Bottom row: binary model samples, not blank, in the order of their classes as counted.
    samples = np.array(_tiles(canvas, 1))
    assert set(np.unique(samples)) == {0, 255}
    classes = _nearest_neighbour_classes((samples.reshape(10, 64) // 255).astype(np.float32))  # as the demo
    assert list(classes) == sorted(classes)
    assert np.bincount(classes, minlength=10).tolist() == [counts[digit] for digit in range(10)]


def _class_counts(stdout):
    """{digit: count} of the demo's line of sample classes."""
    line = stdout.split("digit classes of the samples")[1].splitlines()[0]
    items = line.split("):")[1].split(";")[0].strip().split(", ")
    return {int(digit): int(n) for digit, n in (item.split(": ") for item in items)}


def _nearest_neighbour_classes(samples):
    from sklearn.datasets import load_digits
    from sklearn.neighbors import KNeighborsClassifier

    digits = load_digits()
    return KNeighborsClassifier(5).fit((digits.data > 7).astype(np.float32), digits.target).predict(samples)


# the full default demo, the slowest test of the suite: thorough; test_demo_writes_a_png runs the same
# tempering demo, smaller, on every backend by default
@pytest.mark.thorough
def test_default_demo_draws_every_digit_class(tmp_path, capsys):
    """The issue's promise: the default RBM demo's samples show all ten digits, by the classifier
    the demo names, and its tempering ladder swaps states between every pair of neighbours."""
    pytest.importorskip("PIL.Image")
    assert cli.main(["demo", "--output", str(tmp_path / "d.png")]) == 0
    stdout = capsys.readouterr().out
    counts = _class_counts(stdout)
    assert sum(counts.values()) == 100
    assert min(counts.values()) >= 3, counts  # measured: 6 to 17 of each class (seeds 0 to 3: 4 to 19)
    assert "all ten drawn" in stdout
    acceptance = stdout.split("swap acceptance between neighbouring temperatures: ")[1].splitlines()[0]
    assert float(acceptance.split("min ")[1].split(",")[0]) > 0.3, acceptance


def test_demo_with_plain_gibbs_chains(tmp_path, capsys):
    out = tmp_path / "g.png"
    assert cli.main(DEMO_ARGS + ["--sampler", "gibbs", "--output", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "20 Gibbs sweeps each" in stdout and "swap acceptance" not in stdout
    assert out.is_file()


def test_too_few_temperatures_is_a_usage_error_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(DEMO_ARGS + ["--temperatures", "1", "--output", str(tmp_path / "t.png")])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert "--temperatures must be >= 2" in captured.err and "fastgen demo" not in captured.out


def test_unknown_backend_exits_with_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(DEMO_ARGS + ["--backend", "nope", "--output", str(tmp_path / "d.png")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "nope" in err
    assert "available backends: " + ", ".join(fastgen.available_backends()) in err
    assert not (tmp_path / "d.png").exists()


def test_bad_environment_backend_exits_with_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FASTGEN_BACKEND", "nope")
    with pytest.raises(SystemExit) as info:
        cli.main(DEMO_ARGS + ["--output", str(tmp_path / "d.png")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "FASTGEN_BACKEND" in err and "available backends" in err


def test_missing_command_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
    assert "usage: fastgen" in capsys.readouterr().err


def test_diffusion_demo_writes_target_beside_samples(tmp_path, capsys):
    Image = pytest.importorskip("PIL.Image")
    out = tmp_path / "dd.png"
    assert cli.main(["demo", "diffusion", "--samples", "2000", "--steps", "50", "--output", str(out)]) == 0
    assert str(out.resolve()) in capsys.readouterr().out
    with Image.open(out) as image:
        pixels = np.asarray(image)[::4, ::4].astype(np.float64)
    tile = 96
    target, samples = pixels[1 : 1 + tile, 1 : 1 + tile], pixels[1 : 1 + tile, 2 + tile : 2 + 2 * tile]
    # both panels put their mass on the same ring: dark pixels overlap far more than by chance
    dark_t, dark_s = target < 200, samples < 200
    assert dark_s.sum() > 100 and (dark_t & dark_s).sum() > 0.5 * dark_s.sum()
    assert not dark_s[tile // 2 - 8 : tile // 2 + 8, tile // 2 - 8 : tile // 2 + 8].any()  # the ring's hole


def test_gmm_demo_fits_the_mixture_as_well_as_its_truth(tmp_path, capsys):
    import re

    Image = pytest.importorskip("PIL.Image")
    out = tmp_path / "gmm.png"
    assert cli.main(["demo", "gmm", "--samples", "4000", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    fitted, true = map(float, re.search(r"per point (-?[\d.]+) \(the true mixture's: (-?[\d.]+)\)", printed).groups())
    # maximum likelihood on the points: at least the true mixture's likelihood of them (EM's tol 1e-3)
    assert fitted >= true - 1e-3 and fitted - true < 0.05
    with Image.open(out) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 80)
    green = (pixels[..., 1] > 120) & (pixels[..., 0] < 80)
    assert red.sum() > 500 and green.sum() > 100  # the fitted and the true ellipses are drawn


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"fastgen {fastgen.__version__}"


def test_version_from_the_console_script():
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / "fastgen"  # this environment's console script
    script = str(beside) if beside.is_file() else shutil.which("fastgen")
    if script is None:
        pytest.skip("the fastgen console script is not on PATH (package not installed)")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"fastgen {fastgen.__version__}"


@pytest.mark.parametrize("which", ["rbm", "diffusion", "gmm"])
@pytest.mark.parametrize("output, message", [
    ("missing/x.png", "does not exist"),
    (".", "is a directory"),
    ("x.nope", "extension"),
])
def test_an_unwritable_output_is_a_usage_error_before_any_work(tmp_path, monkeypatch, capsys, which, output, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", which, "--output", output])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err and "Traceback" not in captured.err
    assert "fastgen demo" not in captured.out  # nothing ran: the demo's first line is not printed
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_directory_is_a_usage_error(tmp_path, capsys):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who may write anywhere (root)")
        with pytest.raises(SystemExit) as info:
            cli.main(["demo", "--output", str(locked / "x.png")])
        assert info.value.code == 2
        assert "no permission" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)
