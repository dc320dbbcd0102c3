"""The words for one result, decided once: what the table, the result pane, the reports and
``predict``'s text lines say of a verdict, a withheld image, an unusual one and an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop import i18n
from desktop.engine.results import Result
from desktop.engine.scope import (
    IN_SCOPE,
    NOT_CHEST_XRAY,
    R_COLOUR,
    R_LATERAL,
    UNUSUAL,
    Reason,
    Scope,
)
from desktop.engine.session import Session
from desktop.engine.threshold import ThresholdPolicy
from desktop.errors import NotAnImageError
from desktop.reports.wording import describe, p_meaning


@pytest.fixture
def session() -> Session:
    return Session(ThresholdPolicy(fallback=0.5))


def add(session: Session, name: str, p: float | None, scope=None, error=None) -> Result:
    return session.add(Result(Path(f"/x/{name}"), p, error, fingerprint="f", scope=scope))


def test_a_verdict_in_scope_reads_the_same_everywhere(session):
    words = describe(add(session, "a.png", 0.873, Scope(IN_SCOPE)), session)
    assert (words.kind, words.verdict, words.table_verdict, words.line_verdict) == (
        "PNEUMONIA", "PNEUMONIA", "▲ PNEUMONIA", "PNEUMONIA")
    assert (words.probability, words.report_probability, words.status) == (
        "0.873", "0.873", "Classified")
    assert words.confidence == pytest.approx(0.873)
    assert words.detail == ("P(pneumonia) = 0.873, at or above the threshold 0.50. "
                            "Confidence 87%.")
    assert words.scope_mark.startswith("✓ No scope problem found") and words.line_note == ""


def test_normal_shows_the_confidence_of_normal(session):
    words = describe(add(session, "a.png", 0.10), session)
    assert (words.table_verdict, words.confidence) == ("● NORMAL", pytest.approx(0.90))
    assert words.scope_mark == "" and words.scope_kind is None


def test_an_unusual_image_keeps_its_verdict_marked_with_the_reason(session):
    scope = Scope(UNUSUAL, Reason(R_LATERAL))
    words = describe(add(session, "lat.dcm", 0.2, scope), session)
    assert words.table_verdict == "● NORMAL ◆"
    assert words.status.startswith("Unusual: This is a lateral view")
    assert words.line_note.startswith("unusual: This is a lateral view")
    assert words.scope_mark.startswith("◆ Unusual: This is a lateral view")


def test_a_withheld_image_has_no_verdict_and_no_probability_in_the_table(session):
    scope = Scope(NOT_CHEST_XRAY, Reason(R_COLOUR))
    words = describe(add(session, "photo.jpg", 0.9, scope), session)
    assert (words.kind, words.verdict, words.table_verdict, words.line_verdict) == (
        "withheld", "No verdict", "⊘ No verdict", "NO VERDICT")
    assert words.probability == words.report_probability == "—" and words.confidence is None
    assert words.status == words.line_note == words.scope_reason
    assert words.scope.startswith("Outside the model's scope: ")
    assert words.detail == "The model gives no verdict on images outside its scope."


def test_an_unread_file_says_why_in_every_place(session):
    words = describe(add(session, "x.png", None, error=NotAnImageError()), session)
    assert (words.kind, words.verdict, words.table_verdict, words.line_verdict) == (
        "error", "Could not classify", "✕ Error", "ERROR")
    assert words.probability == words.report_probability == "—"
    assert words.status == words.detail == words.problem == words.scope == words.line_note
    assert words.problem.startswith("This file is not an image")


def test_the_words_follow_the_language_and_the_threshold(session):
    result = add(session, "a.png", 0.45)
    i18n.set_language("es")
    assert describe(result, session).table_verdict == "● NORMAL"
    session.set_threshold(0.4)
    assert describe(result, session).table_verdict == "▲ NEUMONÍA"
    assert describe(add(session, "x.png", None, error=NotAnImageError()),
                    session).verdict == i18n.gettext("Could not classify") != "Could not classify"


@pytest.mark.parametrize(("threshold", "p", "verdict", "lean"), [
    (0.8811, 0.820, "NORMAL", "leans to pneumonia"),
    (0.99, 0.92, "NORMAL", "leans to pneumonia"),
    (0.3077, 0.35, "PNEUMONIA", "leans to normal"),
])
def test_a_confidence_below_even_odds_is_never_shown_for_the_class_shown(
        session, threshold, p, verdict, lean):
    """At a threshold far from 0.5 the verdict and the model's lean can differ: the line says
    so in words instead of "NORMAL · Confidence 18%"."""
    session.set_threshold(threshold)
    words = describe(add(session, "a.png", p), session)
    assert words.kind == verdict and words.confidence is None
    assert "Confidence" not in words.detail and lean in words.detail
    side = "below" if verdict == "NORMAL" else "at or above"
    assert words.detail.startswith(f"P(pneumonia) = {p:.3f}, {side} the threshold")


def test_what_p_means_follows_the_models_card():
    card = {"data": {"counts": {"train": {"NORMAL": 1000, "PNEUMONIA": 3000}}}}
    assert p_meaning(card) == ("P is the model's estimate for an image like its training "
                               "images, 75% of which showed pneumonia; it is not this patient's "
                               "chance of having it.")
    other = {"data": {"counts": {"train": {"NORMAL": 500, "PNEUMONIA": 500}}}}
    assert "50% of which" in p_meaning(other)
    # a calibration moved to another prevalence (release 3: 50%) speaks for that prevalence
    assumed = dict(card, calibration={"prevalence_assumed": 0.5})
    assert p_meaning(assumed) == ("P is the model's estimate where 50% of images like this show "
                                  "pneumonia; it is not this patient's chance of having it.")
    assert p_meaning({}) == p_meaning(None) == (
        "P is the model's estimate for an image like its training images; it is not this "
        "patient's chance of having pneumonia.")


def test_a_referred_image_is_worded_the_same_everywhere_in_every_language():
    from desktop.reports.wording import band_promise

    session = Session(ThresholdPolicy.from_card({"threshold": 0.5, "refer_band": {
        "t_low": 0.2, "t_high": 0.7, "n_normal": 300, "n_pneumonia": 400}}))
    result = add(session, "a.png", 0.45, Scope(IN_SCOPE))
    words = describe(result, session)
    assert (words.kind, words.verdict, words.table_verdict, words.line_verdict) == (
        "REFER", "Undetermined: refer to a human reader", "◐ Refer", "REFER")
    assert words.confidence is None
    assert words.probability == "0.450" and words.status == "Referred"
    assert words.detail.startswith("P(pneumonia) = 0.450, inside the refer band 0.20 to 0.70")
    assert band_promise(session.band).startswith(
        "Refer band 0.20 to 0.70: with 95% confidence, at most 5% of pneumonias are called "
        "normal")
    assert "700 it was certified on" in band_promise(session.band)
    for language, verdict in (("pt_BR", "Indeterminado"), ("es", "Indeterminado")):
        i18n.set_language(language)
        try:
            words = describe(result, session)
            assert words.verdict.startswith(verdict) and "0,450" in words.detail
            assert "0,20" in band_promise(session.band)
        finally:
            i18n.set_language("en")


def test_a_verdict_the_refer_band_gave_names_the_band_not_the_waiting_threshold():
    """With a band deciding, NORMAL is "below the refer band", not "below the threshold 0.50"
    (the threshold waits: naming it said a line that did not decide)."""
    session = Session(ThresholdPolicy.from_card({"threshold": 0.5, "refer_band": {
        "t_low": 0.2, "t_high": 0.7, "n_normal": 300, "n_pneumonia": 400}}))
    normal = add(session, "n.png", 0.1, Scope(IN_SCOPE))
    pneumonia = add(session, "p.png", 0.9, Scope(IN_SCOPE))
    assert describe(normal, session).detail == (
        "P(pneumonia) = 0.100, below the refer band 0.20 to 0.70. Confidence 90%.")
    assert describe(pneumonia, session).detail == (
        "P(pneumonia) = 0.900, at or above the refer band 0.20 to 0.70. Confidence 90%.")
    session.set_refer(False)
    assert describe(normal, session).detail.startswith(
        "P(pneumonia) = 0.100, below the threshold 0.50.")
