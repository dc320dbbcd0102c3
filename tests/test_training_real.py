"""The committed model's card tells the truth: its test-split figures are reproduced here."""

import hashlib
from pathlib import Path

import pytest
import torch

from desktop.modelfile import card_problems
from tests.conftest import SHARED_DATA, require_shared
from training.card import figures_at_points
from training.data import load_split
from training.export import load_scripted

MODEL = Path(__file__).resolve().parents[1] / "assets" / "model.pt"


def test_bundled_model_file_is_intact_and_small():
    digest = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert MODEL.with_name("model.pt.sha256").read_text() == f"{digest}  model.pt\n"
    assert MODEL.stat().st_size < 6_000_000
    _, meta = load_scripted(MODEL)
    assert card_problems(meta) == []
    assert meta["metrics"]["test"]["test_split_evaluations_during_development"] >= 1


@pytest.mark.slow
def test_bundled_model_reproduces_its_test_figures():
    test_dir = require_shared(SHARED_DATA / "chest_xray_224" / "test")
    model, meta = load_scripted(MODEL)
    split = load_split(test_dir, progress=False)
    with torch.inference_mode():
        probs = torch.cat([model(split.images[i:i + 64])[:, 1]
                           for i in range(0, len(split), 64)]).numpy()
    figures = figures_at_points(split.labels.numpy(), probs, meta)
    card = meta["metrics"]["test"]
    assert figures["confusion"] == card["confusion"]
    for key in ("n", "accuracy", "sensitivity", "specificity", "precision", "f1", "roc_auc"):
        assert figures[key] == pytest.approx(card[key], abs=1e-4), key
    for name, point in figures["operating_points"].items():
        assert point["confusion"] == card["at_operating_points"][name]["confusion"], name
