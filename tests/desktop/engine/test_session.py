"""The session without a window: verdicts at the exact threshold, relabelling, sorting, the
exported rows and CSV, and which results keep their images."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop import i18n
from desktop.engine.results import Result, csv_text
from desktop.engine.session import IMAGES_KEPT, Session
from desktop.engine.threshold import ThresholdPolicy
from desktop.errors import FileMissingError, NotAnImageError


def add(session: Session, name: str, p: float | None, error=None) -> Result:
    return session.add(Result(Path(f"/x/{name}"), p, error, fingerprint="f"))


@pytest.fixture
def session() -> Session:
    s = Session(ThresholdPolicy(fallback=0.5))
    add(s, "b.png", 0.70)
    add(s, "a.png", 0.45)
    add(s, "broken.png", None, NotAnImageError())
    add(s, "C.png", 0.10)
    return s


def names(session: Session, keys) -> list[str]:
    return [session.results[k].path.name for k in keys]


def test_threshold_change_relabels_and_reports_the_flipped_results(session):
    assert [session.verdict(r) for r in session.results.values()] == [
        "PNEUMONIA", "NORMAL", None, "NORMAL"]
    flipped = session.set_threshold(0.4)
    assert [r.path.name for r in flipped] == ["a.png"]
    assert session.verdict(session.results[2]) == "PNEUMONIA"
    assert session.confidence(session.results[2]) == pytest.approx(0.45)
    assert session.confidence(session.results[4]) == pytest.approx(0.90)  # 1 - P for NORMAL
    assert session.counts() == {"PNEUMONIA": 2, "NORMAL": 1, "REFER": 0, "withheld": 0,
                                "error": 1, "unusual": 0}
    flipped = session.set_threshold(7)  # clamped to 1: every PNEUMONIA becomes NORMAL
    assert session.threshold == 1.0 and [r.path.name for r in flipped] == ["b.png", "a.png"]


def test_a_preset_labels_at_its_exact_threshold_not_a_rounded_one():
    """A card whose balanced point is 0.2822 (release 1's): p = 0.281 is NORMAL there, though it
    would be PNEUMONIA at the 0.28 a slider shows."""
    policy = ThresholdPolicy([{"name": "balanced", "threshold": 0.2822},
                              {"name": "high_sensitivity", "threshold": 0.0222}], "balanced")
    session = Session(policy)
    just_below = add(session, "below.png", 0.281)
    assert session.threshold == 0.2822 and session.verdict(just_below) == "NORMAL"
    session.choose_preset("high_sensitivity")
    assert session.threshold == 0.0222
    assert session.row(just_below).threshold == 0.0222


def test_sorting_keeps_errors_last_in_both_directions(session):
    assert names(session, session.sorted_keys("file")) == ["a.png", "b.png", "C.png",
                                                            "broken.png"]
    assert names(session, session.sorted_keys("p_pneumonia", descending=True)) == [
        "b.png", "a.png", "C.png", "broken.png"]
    assert names(session, session.sorted_keys("p_pneumonia")) == [
        "C.png", "a.png", "b.png", "broken.png"]
    assert names(session, session.sorted_keys("verdict"))[:3] == ["C.png", "a.png", "b.png"]
    assert names(session, session.sorted_keys("status", descending=True))[0] == "broken.png"


def test_csv_is_the_same_in_every_language(session):
    i18n.set_language("es")
    try:
        text = csv_text(session.rows([4, 3, 1]))
    finally:
        i18n.set_language("en")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["file", "path", "verdict", "p_pneumonia", "threshold", "scope", "scope_reason",
         "error", "profile", "decision", "t_low", "t_high"],
        ["C.png", "/x/C.png", "NORMAL", "0.100000", "0.500000", "", "", "", "", "NORMAL", "",
         ""],
        ["broken.png", "/x/broken.png", "", "", "0.500000", "", "", str(NotAnImageError()), "",
         "", "", ""],
        ["b.png", "/x/b.png", "PNEUMONIA", "0.700000", "0.500000", "", "", "", "", "PNEUMONIA",
         "", ""],
    ]
    assert str(NotAnImageError()).startswith("This file is not an image")


def view(session: Session, key: int) -> None:
    """What the window does when a row is selected: select it, then store its re-read image."""
    session.select(key)
    session.preview_ready(key, Image.new("L", (8, 8)), np.zeros((224, 224), np.uint8))
    session.heatmap_ready(key, np.zeros((224, 224), np.float32))


def test_only_the_most_recently_viewed_results_keep_their_images():
    session = Session()
    keys = [add(session, f"{i}.png", 0.5).key for i in range(IMAGES_KEPT + 8)]
    assert IMAGES_KEPT == 32
    for key in keys:
        view(session, key)
    assert session.held_keys == keys[8:]
    for key in keys[:8]:  # dropped, and read again when selected
        result = session.results[key]
        assert result.preview is None and result.model_input is None and result.heatmap is None
        assert session.needs_preview(result)
    newest = session.results[keys[-1]]
    assert newest.preview is not None and newest.heatmap is not None
    assert not session.needs_preview(newest)

    view(session, keys[0])  # viewed again: back in, the least recently viewed goes
    assert session.held_keys == keys[9:] + [keys[0]]
    assert session.results[keys[8]].model_input is None


def test_the_selected_result_keeps_its_images_whatever_arrives_after_it():
    session = Session(images_kept=3)
    keys = [add(session, f"{i}.png", 0.5).key for i in range(6)]
    view(session, keys[0])
    for key in keys[1:]:  # late answers for rows the user arrowed past
        session.preview_ready(key, Image.new("L", (8, 8)), np.zeros((224, 224), np.uint8))
    assert session.selected_key == keys[0]
    assert session.held_keys == [keys[0], keys[4], keys[5]]
    assert session.results[keys[0]].heatmap is not None
    # a heatmap for a result whose images were dropped is not kept on its own
    assert session.heatmap_ready(keys[1], np.zeros((224, 224))) is None
    assert session.results[keys[1]].heatmap is None


def test_a_failed_re_read_is_kept_until_the_row_is_selected_again():
    session = Session()
    a, b = (add(session, f"{n}.png", 0.5).key for n in "ab")
    session.select(a)
    session.preview_ready(a, None, None, FileMissingError())
    result = session.results[a]
    assert isinstance(result.preview_error, FileMissingError) and result.ok
    assert not session.needs_preview(result)
    session.select(a)  # the same row again (e.g. a second click): no new read
    assert not session.needs_preview(result)
    session.select(b)
    session.select(a)  # came back to it: the file may be back, so it is read again
    assert session.needs_preview(result)


def test_a_display_buffer_is_held_and_dropped_with_its_preview():
    session = Session(images_kept=1)
    a, b = (add(session, f"{n}.png", 0.5).key for n in "ab")
    buffer = object()  # the session only carries it
    session.select(a)
    session.preview_ready(a, Image.new("L", (8, 8)), np.zeros((224, 224), np.uint8),
                          display=buffer)
    assert session.results[a].display is buffer
    session.select(b)
    session.preview_ready(b, Image.new("L", (8, 8)), np.zeros((224, 224), np.uint8))
    assert session.results[a].display is None and session.results[a].preview is None


def test_images_without_a_verdict_show_no_p_and_sort_after_the_numbers():
    from desktop.engine.scope import IN_SCOPE, NOT_CHEST_XRAY, R_COLOUR, Reason, Scope

    s = Session(ThresholdPolicy(fallback=0.5))
    for name, p, scope in (("a.png", 0.3, Scope(IN_SCOPE)),
                           ("dog.jpg", 0.99, Scope(NOT_CHEST_XRAY, Reason(R_COLOUR))),
                           ("b.png", 0.8, Scope(IN_SCOPE))):
        s.add(Result(Path(f"/x/{name}"), p, None, fingerprint="f", scope=scope))
    add(s, "broken.png", None, NotAnImageError())
    for descending in (False, True):
        order = names(s, s.sorted_keys("p_pneumonia", descending))
        assert order[2:] == ["dog.jpg", "broken.png"], descending
        assert names(s, s.sorted_keys("verdict", descending))[2:] == ["dog.jpg", "broken.png"]
    dog = s.row(s.results[2])
    assert dog.p_pneumonia is None and dog.csv_cells()[3] == ""
    assert dog.as_json()["p_pneumonia"] is None and dog.as_json()["score_outside_scope"] == 0.99
    assert "score_outside_scope" not in s.row(s.results[1]).as_json()


def test_a_refer_band_refers_the_uncertain_and_can_be_turned_off():
    from desktop.referband import ReferBand

    policy = ThresholdPolicy.from_card({"threshold": 0.5,
                                        "refer_band": {"t_low": 0.2, "t_high": 0.6}})
    s = Session(policy)
    add(s, "low.png", 0.1)
    add(s, "mid.png", 0.45)
    add(s, "high.png", 0.9)
    add(s, "broken.png", None, NotAnImageError())
    assert s.band == ReferBand(t_low=0.2, t_high=0.6)
    assert [s.verdict(r) for r in s.results.values()] == ["NORMAL", "REFER", "PNEUMONIA", None]
    assert s.confidence(s.results[2]) is None  # no class is shown for a referred image
    assert s.counts()["REFER"] == 1
    assert "1 referred to a human reader" in s.summary() and "refer band 0.20 to 0.60" in \
        s.summary()
    row = s.row(s.results[2])
    assert (row.verdict, row.decision, row.p_pneumonia, row.t_low, row.t_high) == (
        None, "REFER", 0.45, 0.2, 0.6)
    flipped = s.set_refer(False)  # the single threshold decides again
    assert [r.path.name for r in flipped] == ["mid.png"] and s.verdict(s.results[2]) == "NORMAL"
    assert s.band is None and "threshold 0.50" in s.summary()
    assert s.row(s.results[2]).t_low is None


def test_a_site_profile_brings_its_own_band_and_a_version_1_profile_none():
    from desktop.engine.site import SiteCalibration
    from desktop.referband import ReferBand

    s = Session(ThresholdPolicy.from_card({"threshold": 0.5,
                                           "refer_band": {"t_low": 0.2, "t_high": 0.6}}))
    add(s, "a.png", 0.45)
    v1 = SiteCalibration("clinic", 1.0, 0.0, 0.4, "abc")
    s.set_site(v1)
    assert s.band is None and s.verdict(s.results[1]) == "PNEUMONIA"  # its threshold 0.4
    v2 = SiteCalibration("clinic", 1.0, 0.0, 0.4, "abc", band=ReferBand(t_low=0.3, t_high=0.5))
    s.set_site(v2)
    assert s.band.t_low == 0.3 and s.verdict(s.results[1]) == "REFER"
    s.set_site(None)  # the card's band again
    assert s.band.t_low == 0.2 and s.verdict(s.results[1]) == "REFER"
