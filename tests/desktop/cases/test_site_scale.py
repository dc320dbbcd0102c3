"""A site profile fitted on real images, applied as a clinic would: every operating point judges
the P on its own scale (issue 28 item 1), "what P means" follows the profile (item 2), and the
command line, the window's state and the PDF say the same threshold and verdict.

The profile is fitted here on the shipped model's P for real test-split images (120 NORMAL, 30
PNEUMONIA, as in the issue); ``person119_bacteria_567.jpeg`` is the issue's image: PNEUMONIA
without the profile, shown NORMAL at Balanced under one before the fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cases.calibration import calibrate
from desktop.cases.profile import profile_from_study, save_profile
from desktop.engine.threshold import ThresholdPolicy, format_threshold
from desktop.i18n import set_language
from tests.conftest import SHARED_DATA, require_shared

ROOT = Path(__file__).resolve().parents[3]
MODEL = ROOT / "assets" / "model.pt"
TEST_SPLIT = SHARED_DATA / "chest_xray_224" / "test"
ISSUE_IMAGE = "person119_bacteria_567.jpeg"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """(engine, {path: model P}, profile path, the images checked) on the shipped model."""
    from desktop.engine.inference import Engine

    if not MODEL.is_file():
        pytest.skip("needs the shipped model assets/model.pt")
    split = require_shared(TEST_SPLIT)
    engine = Engine.load(MODEL)
    normal = sorted((split / "NORMAL").iterdir())
    pneumonia = sorted(p for p in (split / "PNEUMONIA").iterdir() if p.name != ISSUE_IMAGE)
    fit = normal[:120] + pneumonia[-30:]
    checked = [split / "PNEUMONIA" / ISSUE_IMAGE, *normal[120:130], *pneumonia[:10]]
    p_model = {}
    for result in engine.predict_paths(fit + checked, preview_size=None):
        assert result.ok, result.error
        p_model[result.path] = float(result.p_pneumonia)
    study = calibrate([p_model[p] for p in fit], [int(p in pneumonia) for p in fit],
                      shipped_threshold=ThresholdPolicy.from_card(engine.metadata).threshold)
    path = tmp_path_factory.mktemp("profile") / "clinic-a.json"
    save_profile(path, profile_from_study(study, name="clinic-A", model_sha256=engine.sha256,
                                          model_version="test", source="folder"))
    return engine, p_model, path, checked


def _verdict(p: float, threshold: float) -> str:
    return "PNEUMONIA" if p >= threshold else "NORMAL"


@pytest.mark.integration
def test_predict_balanced_under_a_profile_flags_what_balanced_flags_without_one(fitted, tmp_path):
    engine, p_model, profile, checked = fitted
    card = ThresholdPolicy.from_card(engine.metadata)

    def run(*extra, output="--json"):
        out = subprocess.run(
            [sys.executable, "-m", "desktop", "predict", *map(str, checked), "--model",
             str(MODEL), "--no-history", "--lang", "en", *extra, output],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        if output != "--json":
            return out.stdout.splitlines(), out.stderr
        return [json.loads(line) for line in out.stdout.splitlines()], out.stderr

    for point in ("balanced", "high_sensitivity"):
        shipped = card.point(point)["threshold"]
        rows, err = run("--profile", str(profile), "--operating-point", point)
        assert all(r["profile"] == "clinic-A" for r in rows)
        for row, path in zip(rows, checked, strict=True):
            assert row["verdict"] == _verdict(p_model[path], shipped), path.name
            assert row["verdict"] == _verdict(row["p_pneumonia"], row["threshold"])
        assert rows[0]["verdict"] == "PNEUMONIA"  # the issue's image
        # the in-force line and the summary name the one threshold the rows were judged at
        said = format_threshold(rows[0]["threshold"])
        assert err.splitlines() == [f"Site profile “clinic-A” in force: threshold {said}."]
    lines, err = run("--profile", str(profile), "--operating-point", "balanced", output="--lang=en")
    said = format_threshold(card.point("balanced")["threshold"])  # on the model's P: never said
    in_force = err.splitlines()[0]
    assert in_force.startswith("Site profile “clinic-A” in force: threshold ")
    threshold = in_force.rsplit(" ", 1)[1].rstrip(".")
    assert f"(threshold {threshold})" in err and said not in err
    assert lines[0].startswith("PNEUMONIA")


def _window(engine, p_model, checked):
    from desktop.engine.results import Result
    from desktop.settings import Settings
    from desktop.ui import worker as messages
    from desktop.ui.state import WindowState
    from tests.desktop.ui.test_state import RecordingView, RecordingWorker, run_batch

    view = RecordingView()
    state = WindowState(Settings(language="en"), RecordingWorker(), view, save=lambda s: None)
    view.state = state
    state.handle(messages.ModelReady(engine.metadata, engine.sha256))
    run_batch(state, [Result(path, p_model[path], None, fingerprint="f") for path in checked])
    return state, view


def test_the_windows_presets_panel_words_and_pdf_follow_the_profile(fitted, tmp_path):
    from pypdf import PdfReader

    from desktop.cases.profile import load_profile
    from desktop.reports.content import batch_report
    from desktop.reports.labels import figures_text, point_figures_text
    from desktop.reports.pdf import save_batch
    from desktop.reports.wording import describe, p_meaning

    set_language("en")
    engine, p_model, profile, checked = fitted
    state, view = _window(engine, p_model, checked)
    state.apply_profile(profile)
    site = state.session.site
    assert site.name == "clinic-A" and site.prevalence == pytest.approx(30 / 150)
    assert "Site profile “clinic-A” in force" in view.status
    card = engine.metadata
    shipped = ThresholdPolicy.from_card(card)
    for point in ("balanced", "high_sensitivity"):
        state.choose_operating_point(point)
        threshold = state.session.threshold
        assert threshold == pytest.approx(site.apply(shipped.point(point)["threshold"]))
        for result in state.session.results.values():
            assert state.session.verdict(result) == _verdict(
                p_model[result.path], shipped.point(point)["threshold"]), result.path.name
        issue = next(r for r in state.session.results.values() if r.path.name == ISSUE_IMAGE)
        words = describe(issue, state.session)
        assert words.kind == "PNEUMONIA"
        assert f"threshold {format_threshold(threshold)}" in words.detail
        in_force = state.session.policy.point(point)
        # the panel's figures are those of the point in force: the card's for a mapped point
        assert point_figures_text(in_force, card, site) == figures_text(shipped.point(point),
                                                                         card)
        assert not any(key.startswith("site_") for p in view.points for key in p)
    state.choose_operating_point("site")
    sensitivity = f"{100 * load_profile(profile).calibration.sensitivity[0]:.0f}%"
    assert point_figures_text(state.session.policy.point("site"), card, site) == (
        f"Site profile clinic-A: sensitivity {sensitivity}, specificity "
        f"{100 * site.specificity[0]:.0f}% on its own cases")
    meaning = p_meaning(card, site)
    assert "20% of images like this show pneumonia" in meaning and "clinic-A" in meaning
    assert "50%" not in meaning
    # the PDF: the same threshold, the same verdict, the profile's meaning of P
    state.choose_operating_point("balanced")
    out = tmp_path / "batch.pdf"
    results = [state.session.results[k] for k in state.order]
    save_batch(out, batch_report(results, state.session, card, engine.sha256))
    text = " ".join(page.extract_text() for page in PdfReader(out).pages)
    text = " ".join(text.split())
    assert format_threshold(state.session.threshold) in text
    assert "0.7092" not in text
    assert "20% of images like this show pneumonia" in text


def test_dropping_the_profile_puts_the_cards_thresholds_back_at_the_same_preset(fitted):
    engine, p_model, profile, checked = fitted
    state, view = _window(engine, p_model, checked)
    state.apply_profile(profile)
    state.choose_operating_point("high_sensitivity")
    state.apply_profile(None)
    assert state.session.site is None
    shipped = ThresholdPolicy.from_card(engine.metadata).point("high_sensitivity")["threshold"]
    assert view.threshold == (shipped, "high_sensitivity")
    for result in state.session.results.values():
        assert result.p_pneumonia == p_model[result.path]
