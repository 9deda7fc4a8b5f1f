"""A smoke test of examples/gmmn_ring.py (the full run takes minutes and is not part of the
suite): a few dozen steps of GMMN training through mmd2's backward pass lower the MMD^2."""
import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("PIL")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gmmn_ring.py"


def _example():
    spec = importlib.util.spec_from_file_location("gmmn_ring", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gmmn_training_lowers_the_mmd(tmp_path):
    example = _example()
    model, losses = example.train(steps=30, batch=48)
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
    import numpy as np
    import torch

    with torch.no_grad():
        samples = model(torch.randn(100, 8)).numpy()
    example.scatter_png(tmp_path / "samples.png", [("samples", samples, (0, 0, 0))])
    assert (tmp_path / "samples.png").stat().st_size > 0
    assert np.isfinite(samples).all()
