"""The Cases windows as a clinician and a teacher met them (issue 28): a confirmed diagnosis
needs a choice and how it was confirmed, and asks before replacing one; Open case on a file
already listed shows it; Calibrate shows a hint before a run and plots with legends and axis
labels after; the threshold shows nothing until the model has loaded; plurals; the History's
date format shown up front; save dialogs start in the user's documents. Real Tk under Xvfb."""

from __future__ import annotations

import gc
from pathlib import Path
from tkinter import messagebox

import numpy as np
import pytest

from desktop import i18n
from desktop.cases.store import CaseRecord, Filters, HistoryStore
from desktop.settings import Settings
from tests.desktop.ui.test_app import (  # noqa: F401 - the window fixture
    classify,
    make_app,
    select_row,
    wait_for,
    write_xray,
)

pytestmark = pytest.mark.gui


def _history_of(app, files):
    classify(app, files)
    assert app.history.wait_recorded()
    app.show_history()
    view = app.history.history_view
    wait_for(app, lambda: len(view.tree.get_children()) == len(files), "list the cases")
    return view


def _select(view, name: str) -> None:
    iid = next(i for i in view.tree.get_children() if view.rows[i].file_name == name)
    view.tree.selection_set(iid)


def test_a_confirmed_diagnosis_needs_a_choice_and_how_and_asks_before_replacing_one(
        make_app, tmp_path, monkeypatch):  # noqa: F811
    from desktop.ui.history_view import ConfirmDialog

    app = make_app(Settings(language="en", user_name="Ana"))
    view = _history_of(app, [write_xray(tmp_path / "a.png"), write_xray(tmp_path / "b.png",
                                                                         seed=1)])
    dialog = ConfirmDialog(view, 1)
    wait_for(app, lambda: dialog.winfo_ismapped(), "show the dialog")
    assert dialog.choice.get() == ""  # nothing preselected
    texts = [w.cget("text") for w in dialog.winfo_children()[0].winfo_children()
             if w.winfo_class() == "TLabel"]
    assert "Confirmed diagnosis of 1 selected case:" in texts  # not "1 selected cases"

    def save_enabled() -> bool:
        return str(dialog.save_button.cget("state")) == "normal"

    assert not save_enabled()
    dialog.choice.set("PNEUMONIA")
    assert not save_enabled()  # how it was confirmed is still missing
    dialog._save()
    assert dialog.winfo_exists() and dialog.answer is None
    dialog.not_stated.set(True)
    assert save_enabled()
    dialog.not_stated.set(False)
    dialog.how.set("culture")
    assert save_enabled()
    dialog._save()
    assert dialog.answer == ("PNEUMONIA", "culture", "")

    first = next(r for r in view.rows.values() if r.file_name == "a.png")
    view.confirm([first], "PNEUMONIA", "culture", "")
    wait_for(app, lambda: any(r.confirmed for r in view.rows.values()), "record it")
    asked = []
    monkeypatch.setattr(messagebox, "askyesno", lambda *a, **k: asked.append(a[1]) or False)
    rows = list(view.rows.values())
    view.confirm(rows, "NORMAL", "radiologist", "")  # one of the two is confirmed already
    assert asked == ["1 of the selected cases already has a confirmed diagnosis. Replace it?"]
    app.root.update()
    store = HistoryStore.open()
    assert {r.file_name: r.confirmed for r in store.rows(Filters())} == {"a.png": "PNEUMONIA",
                                                                         "b.png": None}
    store.close()
    view.close()


def test_open_case_on_a_file_already_listed_selects_and_shows_it(make_app, tmp_path):  # noqa: F811
    app = make_app()
    view = _history_of(app, [write_xray(tmp_path / "a.png"),
                             write_xray(tmp_path / "b.png", seed=1)])
    select_row(app, "b.png")
    _select(view, "a.png")
    view.open_case()
    wait_for(app, lambda: app.state.selected is not None
             and Path(app.state.selected.path).name == "a.png", "select a.png")
    assert app.table.tree.selection() == (str(app.state.selected.key),)
    app.root.update()
    assert "No chest X-ray images were found" not in app.status_label.cget("text")
    assert not app.state.pending
    view.close()


def test_the_threshold_shows_nothing_until_the_model_has_loaded(x_display, tiny_model):
    from desktop.ui.app import App
    from desktop.ui.style import make_root

    i18n.set_language("en")
    root, dnd = make_root()
    app = App(root, Settings(language="en"), model_path=tiny_model, dnd=dnd)
    try:
        # built, the model not loaded yet (its message is handled by the Tk loop, not run yet)
        assert not app.state.model_ready
        assert app.threshold.value_label.cget("text") == ""
        assert app.threshold.scale.instate(["disabled"])
        wait_for(app, lambda: app.state.model_ready, "load the model")
        wait_for(app, lambda: app.threshold.value_label.cget("text") != "", "show the threshold")
        assert float(app.threshold.value_label.cget("text")) == pytest.approx(
            app.session.threshold, abs=1e-4)
        assert not app.threshold.scale.instate(["disabled"])
    finally:
        app.close()
        gc.collect()  # Tk objects collected here, on the main thread


def test_the_history_shows_how_to_write_a_date_before_a_wrong_one(make_app):  # noqa: F811
    app = make_app()
    app.show_history()
    view = app.history.history_view
    wait_for(app, lambda: view.date_hint.winfo_ismapped(), "show the hint")
    assert "YYYY-MM-DD" in view.date_hint.cget("text")
    view.close()


def test_save_dialogs_start_in_the_documents_folder_unless_one_was_remembered(
        make_app, tmp_path, monkeypatch):  # noqa: F811
    documents = tmp_path / "Documents"
    documents.mkdir()
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(documents))
    app = make_app()
    assert app.state.initial_dir() == str(documents)
    opened = tmp_path / "films"
    classify(app, [write_xray(opened / "a.png")])
    assert app.state.initial_dir() == str(opened)


def _confirmed_cases(app, n: int = 80) -> None:
    store = HistoryStore.open()
    rng = np.random.default_rng(0)
    for i in range(n):
        p = float(np.clip(rng.normal(0.75 if i % 2 else 0.3, 0.2), 0.01, 0.99))
        case = store.record(CaseRecord(
            sha256=f"{i:064d}", file_name=f"{i}.png", path=f"/x/{i}.png", size=1,
            model_sha256=app.state.model_sha256, model_version="1", profile="", p_model=p, p=p,
            threshold=0.5, verdict=None, scope="in_scope", scope_reason=None, origin="window"))
        store.confirm([case], "PNEUMONIA" if i % 2 else "NORMAL")
    store.close()


def _canvas_texts(canvas) -> list[tuple[str, float, float, float]]:
    """Each text on ``canvas``: its words, x, y and angle."""
    return [(canvas.itemcget(i, "text"), *canvas.coords(i)[:2], float(canvas.itemcget(i, "angle")))
            for i in canvas.find_all() if canvas.type(i) == "text"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_calibrate_hints_before_a_run_then_plots_with_legends_and_axis_labels(
        make_app, language):  # noqa: F811
    from desktop.ui.calibration_view import LEFT, TOP

    app = make_app(Settings(language=language))
    _confirmed_cases(app)
    app.show_calibration()
    view = app.history.calibration_view
    wait_for(app, lambda: view.hint.winfo_ismapped(), "show the hint")
    assert not view.roc.winfo_ismapped() and not view.reliability.winfo_ismapped()
    view.run()
    wait_for(app, lambda: view.study is not None and view.roc.winfo_ismapped(), "fit the study")
    assert not view.hint.winfo_ismapped()
    i18n_ = i18n.gettext
    roc = [t for t, *_ in _canvas_texts(view.roc)]
    assert i18n_("Shipped threshold") in roc and i18n_("Proposed threshold") in roc
    reliability = _canvas_texts(view.reliability)
    assert any(t.startswith(i18n_("Before (error {ece})").split("{")[0]) for t, *_ in reliability)
    # the y label stands upright left of the y axis, within the plot's height
    [(_, x, y, angle)] = [t for t in reliability if t[0] == i18n_("Share with pneumonia")]
    assert angle == 90 and x < LEFT and TOP <= y <= TOP + view.plot
    # a long message wraps inside the window instead of running past its edge
    view.say(view.status, lambda: "Add 29 more confirmed PNEUMONIA cases " * 6)
    wait_for(app, lambda: view.status.winfo_height() > 2 * view.save_button.winfo_height() // 2
             and view.status.winfo_reqwidth() <= view.winfo_width(), "wrap the message")
    view.close()


def test_a_colour_photo_is_shown_in_colour(make_app, tmp_path):  # noqa: F811
    """Beside "This image is in colour; a chest X-ray is grey." the viewer showed it grey."""
    from PIL import Image

    app = make_app()
    photo = tmp_path / "holiday.jpg"
    red = np.zeros((120, 160, 3), dtype=np.uint8)
    red[..., 0] = 220  # a red picture: its grey is one flat level
    red[40:80, 50:110] = (20, 160, 40)
    Image.fromarray(red, "RGB").save(photo, quality=95)
    classify(app, [photo])
    select_row(app, "holiday.jpg")
    wait_for(app, lambda: app.pane.preview.rendered is not None, "draw the photo")
    shown = np.asarray(app.pane.preview.rendered.convert("RGB"), dtype=int)
    assert (shown[..., 0] - shown[..., 1]).max() > 100  # red, not grey


CARD_BAND = dict(t_low=0.2, t_high=0.6, n_normal=300, n_pneumonia=300, referred=0.15)


def _card_with_band(app) -> None:
    """The loaded model's card with a refer band certified to refer 15% of 600 images (the
    tiny test model's card has none), as ``ThresholdPolicy.from_card`` reads one."""
    from desktop.referband import ReferBand

    policy = app.session.policy
    policy.card_band = policy.band = ReferBand(**CARD_BAND)


def _label_texts(window) -> list[str]:
    """Every label's text in ``window``, however deep."""
    found, todo = [], [window]
    while todo:
        widget = todo.pop()
        todo += widget.winfo_children()
        if widget.winfo_class() == "TLabel":
            found.append(widget.cget("text"))
    return found


def test_monitoring_shows_the_referred_share_and_warns_when_it_leaves_the_bands(
        make_app):  # noqa: F811
    """Issue 31: a column of the share referred per week (where a band decided), and a week
    referring far more than the band in force did when certified (12–18%) warned of."""
    from tests.desktop.cases.test_monitoring import fill, fill_banded

    app = make_app()
    _card_with_band(app)
    store = HistoryStore.open()
    fill_banded(store, "2026-11-02", 60, 9, 0)  # week 45: 15% referred, as certified
    fill_banded(store, "2026-11-16", 60, 30, 200)  # week 47: half referred
    fill(store, "2026-11-23", 10, 5, 300)  # week 48: no band decided
    store.close()
    app.run_command("monitoring")
    view = app.history.monitoring_view
    wait_for(app, lambda: len(view.tree.get_children()) == 3, "show three weeks")
    rows = [view.tree.item(i, "values") for i in view.tree.get_children()]
    assert [(r[0], r[3]) for r in rows] == [("2026-W45", "15% (7–27%)"),
                                            ("⚠ 2026-W47", "50% (37–63%)"), ("2026-W48", "—")]
    assert view.tree.heading("referred", "text") == "Referred (95% CI)"
    assert "The refer band referred 12%–18% when it was certified." in _label_texts(view)
    assert view.warning.cget("text") == (
        "The share referred to a human reader (50%) is outside what the refer band referred "
        "when it was certified (12%–18%) in 2026-W47; if the patients have not changed, "
        "calibrate again.")
    app.set_language("pt_BR")
    assert view.tree.heading("referred", "text") == "Encaminhados (IC 95%)"
    warning = view.warning.cget("text")
    assert warning.startswith("A proporção encaminhada a um leitor humano (50%)"), warning
    assert "(12%–18%)" in warning and "2026-W47" in warning
    view.close()


def _read(store, name: str, read: str, verdict: str | None, confirmed: str) -> None:
    from desktop.cases.store import TeachingRead

    store.record_read(TeachingRead(
        sha256=name.encode().hex().ljust(64, "0"), file_name=name, path=f"/class/{name}",
        created=f"2026-12-01T10:00:0{len(name) % 10}Z", reader_read=read, verdict=verdict,
        p=0.4, confirmed=confirmed))


def test_read_first_counts_the_images_the_model_referred_apart_from_its_verdicts(
        make_app):  # noqa: F811
    """Issue 31: the teaching summary says the share the model referred to a human reader and,
    in the model's table, how many of each confirmed diagnosis it referred."""
    app = make_app()
    _card_with_band(app)
    store = HistoryStore.open()
    _read(store, "a.png", "PNEUMONIA", "REFER", "PNEUMONIA")
    _read(store, "bb.png", "NORMAL", "NORMAL", "NORMAL")
    _read(store, "ccc.png", "PNEUMONIA", "PNEUMONIA", "PNEUMONIA")
    store.close()
    app.run_command("teaching")
    view = app.history.teaching_view
    wait_for(app, lambda: view.summary.cget("text").startswith("Over 3 cases"), "summarise")
    lines = view.summary.cget("text").splitlines()
    assert "Referred by the model to a human reader: 33% (1–91%) (n=3)." in lines
    model = lines[lines.index(next(x for x in lines if x.startswith("Model"))):]
    assert model[0].split() == ["Model", "called", "NORMAL", "called", "PNEUMONIA", "referred"]
    assert model[1].split() == ["confirmed", "NORMAL", "1", "0", "0"]
    assert model[2].split() == ["confirmed", "PNEUMONIA", "0", "1", "1"]
    app.set_language("es")
    text = view.summary.cget("text")
    assert "33% (1–91%) (n=3)" in text and "Referred by the model" not in text
    view.close()
