"""The committed model's card tells the truth: its test-split figures are reproduced here."""

import hashlib
from pathlib import Path

import pytest
import torch

from desktop.modelfile import card_problems
from tests.conftest import SHARED_DATA, require_shared
from training.card import figures_at_points
from training.card_tables import blocks, render
from training.data import load_split
from training.export import load_scripted
from training.metrics import calibration_error, expected_calibration_error

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "assets" / "model.pt"


def test_bundled_model_file_is_intact_and_small():
    digest = hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert MODEL.with_name("model.pt.sha256").read_text() == f"{digest}  model.pt\n"
    assert MODEL.stat().st_size < 6_000_000
    _, meta = load_scripted(MODEL)
    assert card_problems(meta) == []
    assert meta["metrics"]["test"]["test_split_evaluations_during_development"] >= 1
    looks = meta["test_split_looks"]  # every look listed, the last one this file's
    assert [look["evaluation_number"] for look in looks] == list(range(1, len(looks) + 1))
    assert len(looks) == meta["metrics"]["test"]["test_split_evaluations_during_development"]


@pytest.mark.parametrize("document", ["README.md", "docs/model_card.md"])
def test_every_figure_table_of_the_documents_is_the_shipped_cards(document):
    """The tables between <!-- card:NAME --> markers, rendered again from the shipped file
    (`python -m training card-tables` writes them)."""
    _, meta = load_scripted(MODEL)
    found = blocks((ROOT / document).read_text(encoding="utf-8"))
    assert found, f"{document} has no card tables"
    for name, text in found.items():
        assert text == render(name, meta), f"{document}: table {name!r} differs from the card"


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
    y = split.labels.numpy()
    assert calibration_error(y, probs) == pytest.approx(card["calibration_error"], abs=1e-4)
    assert expected_calibration_error(y, probs) == pytest.approx(
        card["expected_calibration_error"], abs=1e-4)
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
    in-scope share (at least 99%), and what the shipped check says of each group of ood_dev and
    cxr_more (within two images a group: a borderline score may cross on another CPU)."""
    from training.data import train_val
    from training.scope import load_ood

    data = require_shared(SHARED_DATA / "chest_xray_224")
    ood_dir = require_shared(SHARED_DATA / "ood_dev")
    more_dir = require_shared(SHARED_DATA / "cxr_more")
    model, card = load_scripted(MODEL)
    check = card["scope_check"]
    recipe = card["training"]["recipe"]
    _, val, _ = train_val(data, val_fraction=recipe.get("val_fraction", 0.1),
                          seed=recipe.get("split_seed", 0), progress=False)
    states = _scope_states(model, card, val.images, [{}] * len(val))
    in_scope = sum(s.state == "in_scope" for s in states) / len(states)
    assert in_scope >= 0.99
    assert abs(in_scope - check["validation"]["in_scope"]) <= 1.5 / len(states)
    ood = load_ood(ood_dir, more_dir)
    states = _scope_states(model, card, ood.images, ood.facts)
    for group, figures in check["out_of_scope_groups"].items():
        mine = [s for s, g in zip(states, ood.groups, strict=True) if g == group]
        wanted = {"unusual", "not_chest_xray"} if group.startswith("cxr") else {"not_chest_xray"}
        caught = sum(s.state in wanted for s in mine) / len(mine)
        assert len(mine) == figures["n"], group
        assert abs(caught - figures["caught_by_shipped_check"]) <= 2.5 / len(mine), group


@pytest.mark.slow
def test_bundled_calibration_choice_reproduces_on_validation_and_its_shifted_views():
    """The calibration rule's figures (every candidate form, every shifted view), recomputed
    from the shipped file's logits: the choice the card records is the one the rule makes."""
    from training.augment import SHIFT_VIEWS, shifted
    from training.calibration_choice import choose, score_forms
    from training.data import train_val

    data = require_shared(SHARED_DATA / "chest_xray_224")
    model, card = load_scripted(MODEL)
    recipe = card["training"]["recipe"]
    _, val, _ = train_val(data, val_fraction=recipe.get("val_fraction", 0.1),
                          seed=recipe.get("split_seed", 0), progress=False)

    def logits(images):
        with torch.inference_mode():
            return torch.cat([model.logits(images[i:i + 64]) for i in range(0, len(images), 64)])

    views = {name: logits(shifted(val.images, cfg=cfg)) for name, cfg in SHIFT_VIEWS.items()}
    scored = score_forms(logits(val.images), val.labels, views)
    recorded = card["calibration"]["choice"]
    assert choose(scored) == recorded["chosen"] == card["calibration"]["form"]
    for form, figures in scored.items():
        for key in ("threshold", "score", "mean_calibration_error",
                    "val_calibration_error_cross_validated"):
            assert figures[key] == pytest.approx(recorded["candidates"][form][key], abs=2e-4)
