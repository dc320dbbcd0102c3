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

MODEL = Path(__file__).resolve().parents[2] / "assets" / "model.pt"


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


def _scope_states(model, card, images, facts):
    from desktop.engine.scope import judge, scores_dict

    with torch.inference_mode():
        scores = torch.cat([model.assess(images[i:i + 64])[1]
                            for i in range(0, len(images), 64)]).tolist()
    return [judge(f, scores_dict(s), card["scope_check"]) for f, s in
            zip(facts, scores, strict=True)]


@pytest.mark.slow
def test_bundled_scope_check_reproduces_its_validation_and_out_of_scope_figures():
    """What the card says of the scope check, recomputed: the patient-level validation split's
    in-scope share (at least 99%), and what the shipped check says of each ood_dev group."""
    from training.data import train_val
    from training.scope import load_ood

    data = require_shared(SHARED_DATA / "chest_xray_224")
    ood_dir = require_shared(SHARED_DATA / "ood_dev")
    model, card = load_scripted(MODEL)
    check = card["scope_check"]
    recipe = card["training"]["recipe"]
    _, val, _ = train_val(data, val_fraction=recipe.get("val_fraction", 0.1),
                          seed=recipe.get("split_seed", 0), progress=False)
    states = _scope_states(model, card, val.images, [{}] * len(val))
    in_scope = sum(s.state == "in_scope" for s in states) / len(states)
    assert in_scope >= 0.99
    assert abs(in_scope - check["validation"]["in_scope"]) <= 1.5 / len(states)
    ood = load_ood(ood_dir)
    states = _scope_states(model, card, ood.images, ood.facts)
    for group, figures in check["out_of_scope_groups"].items():
        mine = [s for s, g in zip(states, ood.groups, strict=True) if g == group]
        wanted = {"unusual", "not_chest_xray"} if group.startswith("cxr") else {"not_chest_xray"}
        caught = sum(s.state in wanted for s in mine) / len(mine)
        assert len(mine) == figures["n"], group
        assert abs(caught - figures["caught_by_shipped_check"]) <= 1.5 / len(mine), group
