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
