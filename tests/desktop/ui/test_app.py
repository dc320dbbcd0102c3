"""The real window under Xvfb: what a user sees after opening, dropping, sliding and switching.

Each test builds the window on the tiny exported model, drives it the way a user would
(menus, the slider, the drop handler, keys) and reads back what is on screen. A test never reads
the screen right after an ``update()`` or a sleep: it runs the Tk loop until the state it asserts
is there (``wait_for``, ``wait_for_value``), with a deadline that only guards against a hang, and
where the worker's timing could change the outcome (a batch finishing before Cancel, a preview
arriving mid-test) the test holds the worker at a known point with an event.
"""

from __future__ import annotations

import csv
import gc
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import tkinter as tk
from pathlib import Path
from tkinter import ttk
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from desktop import i18n
from desktop.settings import Settings, load_settings, settings_path
from tests.support.model_fixtures import xray_like

pytestmark = pytest.mark.gui


def write_xray(path: Path, seed: int = 0, size: tuple[int, int] = (640, 560),
               noise: float = 12.0) -> Path:
    """A chest-X-ray-like grayscale PNG: a bright body with two dark lung fields and noise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(xray_like(seed, size, noise), mode="L").save(path)
    return path


def wait_for(app, condition, what: str, timeout_s: float = 30.0) -> None:
    """Run the Tk loop until ``condition()`` holds (a hang guard, not a timing check)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the window never got to: {what}")
        app.root.update()
        time.sleep(0.005)
    app.root.update()


def wait_for_value(app, read, expected, what: str, timeout_s: float = 30.0):
    """Run the Tk loop until ``read()`` gives ``expected``; the failure names the last value."""
    seen = []

    def there() -> bool:
        seen[:] = [read()]
        return seen[0] == expected

    try:
        wait_for(app, there, what, timeout_s)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: expected {expected!r}, last saw {seen[0]!r}") from None
    return seen[0]


def classify(app, paths) -> None:
    batch = app.open_paths(paths)
    wait_for(app, lambda: batch not in app.state.pending, f"finish the batch {paths}")


def preview_shown(app) -> bool:
    """The selected result's image is on the canvas (not "Loading the preview…")."""
    result = app.state.selected
    return (result is not None and result.model_input is not None
            and bool(app.pane.preview.find_all()) and app.pane.preview.type("all") == "image")


def rows(app) -> list[dict[str, str]]:
    tree = app.table.tree
    return [dict(zip(tree["columns"], map(str, tree.item(iid, "values")), strict=True))
            for iid in tree.get_children()]


def canvas_text(canvas: tk.Canvas) -> str:
    """The hint drawn on the preview canvas ("" when it shows an image)."""
    return " ".join(canvas.itemcget(i, "text") for i in canvas.find_all()
                    if canvas.type(i) == "text")


def one_result_at_the_minimum_size(app, tmp_path: Path) -> None:
    """Classify one image, select it, and shrink the window to its minimum size (800x600)."""
    from desktop.ui.style import MIN_SIZE

    classify(app, [write_xray(tmp_path / "a.png")])
    select_row(app, "a.png")
    app.root.geometry(f"{MIN_SIZE[0]}x{MIN_SIZE[1]}")
    wait_for(app, lambda: app.root.winfo_width() == MIN_SIZE[0], "shrink to the minimum")


def select_row(app, name: str) -> None:
    """Click the row of file ``name`` (what <<TreeviewSelect>> then does, run at once)."""
    tree = app.table.tree
    iid = next(i for i in tree.get_children() if tree.item(i, "values")[0] == name)
    tree.selection_set(iid)
    app._selection_changed()


@pytest.fixture
def make_app(x_display, tiny_model):
    """Build windows on the tiny model; every one is closed (and English restored) afterwards."""
    from desktop.ui.app import App
    from desktop.ui.style import make_root

    made = []

    def build(settings: Settings | None = None, model_path: Path | None = None):
        settings = settings or Settings(language="en")
        i18n.set_language(settings.language or "en")
        root, dnd = make_root()
        app = App(root, settings, model_path=model_path or tiny_model, dnd=dnd)
        made.append(app)
        wait_for(app, lambda: app.state.model_ready or app.state.model_error, "load the model")
        assert app.state.model_error is None, app.state.model_error
        return app

    yield build
    for app in made:
        app.close()
    made.clear()
    gc.collect()  # collect Tk objects here, on the main thread (Tcl refuses other threads)
    i18n.set_language("en")


@pytest.fixture
def app(make_app):
    return make_app()


def test_opening_a_file_shows_its_verdict_confidence_and_preview(app, tmp_path):
    image = write_xray(tmp_path / "chest one.png")
    classify(app, [image])

    [row] = rows(app)
    result = app.state.selected
    assert result is not None and result.path == image
    verdict = app.session.verdict(result)
    mark = "▲ PNEUMONIA" if verdict == "PNEUMONIA" else "● NORMAL"
    assert row == {"file": "chest one.png", "verdict": mark,
                   "p_pneumonia": f"{result.p_pneumonia:.3f}", "status": "Classified"}
    assert app.pane.verdict_label.cget("text") == verdict
    confidence = app.session.confidence(result)
    assert f"Confidence {100 * confidence:.0f}%" in app.pane.detail_label.cget("text")
    assert app.pane.file_label.cget("text") == "chest one.png"
    assert app.pane.preview.find_withtag("all") and app.pane.preview.type("all") == "image"
    assert "1 file: " in app.status_label.cget("text")  # singular: one file


def test_threshold_change_flips_a_borderline_verdict_without_rerunning(app, tmp_path):
    classify(app, [write_xray(tmp_path / "a.png"), write_xray(tmp_path / "b.png", seed=1)])
    result = app.state.selected
    p = result.p_pneumonia
    below, above = np.floor(p * 100) / 100, np.floor(p * 100) / 100 + 0.01
    model_calls = app.worker.engine.assess_batch
    app.worker.engine.assess_batch = lambda *_: pytest.fail("the model ran again")
    try:
        app.threshold.scale.set(above)
        wait_for_value(app, lambda: app.pane.verdict_label.cget("text"), "NORMAL",
                       "relabel above p")
        assert rows(app)[0]["verdict"] == "● NORMAL"
        assert app.threshold.value_label.cget("text") == f"{above:.2f}"
        assert app.threshold.preset.get() == ""  # off the presets: "Custom"

        app.threshold.scale.set(below)
        wait_for_value(app, lambda: app.pane.verdict_label.cget("text"), "PNEUMONIA",
                       "relabel below p")
        assert rows(app)[0]["verdict"] == "▲ PNEUMONIA"
        assert f"threshold {below:.2f}" in app.pane.detail_label.cget("text")

        app.threshold.scale.focus_force()  # the keyboard: Right steps by 0.01
        wait_for(app, lambda: app.root.focus_get() is app.threshold.scale, "focus the slider")
        app.threshold.scale.event_generate("<Right>")
        wait_for(app, lambda: app.session.threshold == pytest.approx(above), "step by 0.01")
        assert app.pane.verdict_label.cget("text") == "NORMAL"
    finally:
        app.worker.engine.assess_batch = model_calls


def test_operating_point_presets_set_the_threshold_and_show_validation_figures(app, tmp_path):
    classify(app, [write_xray(tmp_path / "a.png")])
    buttons = {name: button for button, name in app.threshold._buttons}
    buttons["high_sensitivity"].invoke()
    wait_for(app, lambda: app.session.threshold == pytest.approx(0.2), "apply the preset")
    assert app.threshold.detail.cget("text") == "Validation: sensitivity 99%, specificity 85%"
    assert buttons["high_sensitivity"].cget("text") == "High sensitivity"
    buttons["balanced"].invoke()
    wait_for(app, lambda: app.session.threshold == pytest.approx(0.5), "apply the preset")
    assert app.threshold.detail.cget("text") == "Validation: sensitivity 96%, specificity 94%"


@pytest.mark.usefixtures("english_and_own_logging")  # main() sets up logging
def test_window_and_predict_give_the_same_verdicts_and_csv_at_every_preset(
        make_app, tmp_path, capsys):
    """One threshold policy, one row type, one CSV writer: for probabilities a hair above and
    below each of the card's operating points, the window and ``python -m desktop predict`` say
    the same, and their CSV files are byte for byte the same."""
    from desktop.cli import main as predict
    from desktop.engine.inference import Engine
    from desktop.reading.imaging import load_model_input
    from tests.support.model_fixtures import write_input_sensitive_model

    images = [write_xray(tmp_path / "in" / f"{i}.png", seed=i, size=(500 + 40 * i, 480))
              for i in range(4)]
    probe = Engine.load(write_input_sensitive_model(tmp_path / "probe"))
    p = sorted(probe.predict_batch(np.stack([load_model_input(f) for f in images])))
    assert len(set(np.round(p, 9))) == 4, "the test needs four different probabilities"
    eps = 1e-7  # far finer than the hundredths of a slider
    points = [{"name": name, "threshold": float(t), "rule": "test", "val_sensitivity": 0.9,
               "val_specificity": 0.9}
              for name, t in (("balanced", p[1] + eps), ("high_sensitivity", p[0] - eps),
                              ("high_specificity", p[2] + eps))]
    model = write_input_sensitive_model(tmp_path / "model", operating_points=points)
    app = make_app(model_path=model)
    classify(app, images)
    buttons = {name: button for button, name in app.threshold._buttons}
    normals = []
    for point in points:
        buttons[point["name"]].invoke()
        wait_for(app, lambda t=point["threshold"]: app.session.threshold == t,
                 f"apply {point['name']}")
        window_csv = tmp_path / f"window_{point['name']}.csv"
        assert app.state.export_csv(window_csv)
        command_csv = tmp_path / f"command_{point['name']}.csv"
        assert predict([*map(str, images), "--model", str(model), "--operating-point",
                        point["name"], "--csv", str(command_csv), "--json"]) == 0
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        window = [r["verdict"].split()[-1] for r in rows(app)]
        assert window == [line["verdict"] for line in lines], point["name"]
        assert window_csv.read_bytes() == command_csv.read_bytes(), point["name"]
        at = point["threshold"]
        expected = ["PNEUMONIA" if q >= at else "NORMAL" for q in
                    [r.p_pneumonia for r in app.session.results.values()]]
        assert window == expected
        normals.append(window.count("NORMAL"))
    # each point sits a hair from one image's probability, on the side its name says: a
    # threshold rounded to hundredths would label those images the other way
    assert normals == [2, 0, 3]


def test_a_photo_a_lateral_view_and_a_chest_xray_get_their_three_scopes(make_app, tmp_path):
    """Dropped together: the photo gets no verdict (and no heatmap), the lateral view its
    verdict marked unusual with the reason, the chest X-ray its verdict; in words and shapes,
    in the language shown."""
    from tests.desktop.test_cli import _lateral_dicom
    from tests.support.model_fixtures import write_scoped_test_model

    app = make_app(model_path=write_scoped_test_model(tmp_path / "model"))
    chest = write_xray(tmp_path / "chest.png", seed=501, size=(330, 300))
    photo = tmp_path / "holiday.jpg"
    rgb = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    Image.fromarray(rgb, "RGB").save(photo)
    lateral = _lateral_dicom(tmp_path / "lateral.dcm", xray_like(502, (330, 300)))
    app.show_heatmap.set(True)
    app.heatmap_toggled()
    classify(app, [chest, photo, lateral])

    by_file = {r["file"]: r for r in rows(app)}
    assert by_file["chest.png"]["status"] == "Classified"
    assert by_file["holiday.jpg"]["verdict"] == "⊘ No verdict"
    assert by_file["holiday.jpg"]["p_pneumonia"] == "—"
    assert by_file["holiday.jpg"]["status"] == (
        "This image is in colour; a chest X-ray is grey.")
    assert by_file["lateral.dcm"]["verdict"].endswith("◆")
    assert by_file["lateral.dcm"]["status"].startswith("Unusual: This is a lateral view")
    assert "1 with no verdict" in app.status_label.cget("text")
    assert "1 marked unusual" in app.status_label.cget("text")

    select_row(app, "holiday.jpg")
    wait_for(app, lambda: preview_shown(app), "show the photo")
    assert app.pane.verdict_label.cget("text") == "No verdict"
    assert app.pane.scope_label.cget("text").startswith("⊘ This image is in colour")
    assert app.pane.heatmap_note.cget("text") == "No heatmap: no verdict was given."
    # no heatmap laid over it; the photo in its own colours (issue 28.13), not grey
    assert app.state.selected.heatmap is None and app.pane.preview.rendered.mode == "RGB"

    select_row(app, "lateral.dcm")
    wait_for(app, lambda: app.state.selected.heatmap is not None, "compute the lateral's heatmap")
    assert app.pane.verdict_label.cget("text") in ("NORMAL", "PNEUMONIA")
    assert app.pane.scope_label.cget("text").startswith("◆ Unusual: This is a lateral view")

    select_row(app, "chest.png")
    wait_for(app, lambda: preview_shown(app), "show the chest X-ray")
    assert app.pane.scope_label.cget("text").startswith("✓ No scope problem found")

    app.language_menu.invoke(list(i18n.LANGUAGES).index("es"))
    wait_for(app, lambda: app.language.get() == "es", "switch to Spanish")
    assert app.pane.scope_label.cget("text").startswith(
        "✓ No se encontró ningún problema de alcance")
    assert {r["file"]: r["status"] for r in rows(app)}["holiday.jpg"] == (
        "Esta imagen es en color; una radiografía de tórax es gris.")


def _catalog(code: str):
    from babel.messages.pofile import read_po

    with open(i18n.translations_dir() / code / "LC_MESSAGES" / "cxr.po", "rb") as fh:
        return read_po(fh)


def visible_texts(root: tk.Misc) -> dict[str, str]:
    """Every text on screen, keyed by where it is: labels, buttons, menu entries, headings,
    table cells, canvas texts, window titles and the model card's section headings."""
    texts = {"title": root.title()}

    def walk(widget: tk.Misc) -> None:
        for child in widget.winfo_children():
            key = str(child)
            if isinstance(child, tk.Menu):
                for i in range((child.index("end") or -1) + 1):
                    if child.type(i) != "separator":
                        texts[f"{key}#{i}"] = child.entrycget(i, "label")
            elif isinstance(child, ttk.Treeview):
                for column in child["columns"]:
                    texts[f"{key}@{column}"] = child.heading(column, "text")
                for iid in child.get_children():
                    for column, value in zip(child["columns"], child.item(iid, "values"),
                                             strict=True):
                        texts[f"{key}/{iid}/{column}"] = str(value)
            elif isinstance(child, tk.Text):
                ranges = child.tag_ranges("heading")
                for i in range(0, len(ranges), 2):
                    texts[f"{key}/heading{i}"] = child.get(ranges[i], ranges[i + 1]).strip()
            elif isinstance(child, tk.Canvas):
                items = [i for i in child.find_all() if child.type(i) == "text"]
                for n, item in enumerate(items):  # redrawing renumbers items: key by order
                    texts[f"{key}/text{n}"] = child.itemcget(item, "text")
            elif isinstance(child, tk.Toplevel):
                texts[f"{key}.title"] = child.title()
            else:
                try:
                    text = str(child.cget("text"))
                except tk.TclError:
                    text = ""
                if text:
                    texts[key] = text
            walk(child)

    walk(root)
    return texts


@pytest.mark.parametrize("language", ["es", "pt_BR"])
def test_language_switch_relabels_every_visible_text_at_once(app, tmp_path, language):
    good = write_xray(tmp_path / "good.png")
    broken = tmp_path / "notes.png"
    broken.write_text("not an image")
    classify(app, [good, broken])
    app.state.sort_by("file")
    select_row(app, good.name)
    app.show_model_card()
    # a batch keeps no images: the worker reads the selected row's preview again; compare the
    # window at rest, not a "Loading the preview…" line against the image that replaced it
    wait_for(app, lambda: preview_shown(app) and app.dialog.winfo_viewable(),
             "show good.png's preview and the model card")
    before = visible_texts(app.root)

    index = list(i18n.LANGUAGES).index(language)
    app.language_menu.invoke(index)  # Language → Español / Português (Brasil)
    wait_for(app, lambda: app.language.get() == language, "switch the language")
    after = visible_texts(app.root)

    assert before.keys() == after.keys()
    catalog = _catalog(language)
    neutral = re.compile(r"^[\d\s.,%—·:=()+-]*$")  # numbers, percentages, dashes
    # the file's facts in the information panel are data (PNG, 8 bits), not text
    data = {good.name, broken.name, *i18n.LANGUAGES.values(),
            *(value for _, value in app.info_panel.rows)}

    def same_in_both_languages(text: str) -> bool:
        bare = re.sub(r"^[▲●✕⚠]\s*", "", text).strip()
        message = catalog.get(bare)
        return message is not None and message.string == bare

    stale = {
        key: text for key, text in before.items()
        if after[key] == text and text not in data and not neutral.match(text)
        and not same_in_both_languages(text)
    }
    assert not stale, f"still in English after switching to {language}: {stale}"
    assert app.language.get() == language
    # the error row is re-labelled in the new language too
    error_row = next(r for r in rows(app) if r["file"] == "notes.png")
    assert error_row["status"] == i18n.gettext(
        "This file is not an image or is damaged. Choose a JPEG, PNG, BMP, TIFF or DICOM "
        "chest X-ray.")
    assert load_settings().language == language
    # Tk's own file dialogs follow too (Tk ships Spanish and Portuguese catalogs)
    assert app.root.tk.eval('namespace eval ::tk {::msgcat::mc "&Open"}') == "&Abrir"


def test_the_final_status_says_what_the_folder_scan_skipped_in_the_current_language(
        app, tmp_path):
    folder = tmp_path / "ward"
    write_xray(folder / "a.png")
    Image.open(folder / "a.png").save(folder / "b.webp")  # WebP: scanned now
    for name in ("notes.txt", "report.pdf", "list.csv"):
        (folder / name).write_text("words")
    classify(app, [folder])
    assert [r["file"] for r in rows(app)] == ["a.png", "b.webp"]
    assert app.status_label.cget("text").endswith(" 3 files skipped: not images.")
    app.language_menu.invoke(list(i18n.LANGUAGES).index("es"))
    wait_for(app, lambda: app.status_label.cget("text").endswith(
        " 3 archivos omitidos: no son imágenes."), "re-label the status in Spanish")
    app.state.clear_results()
    classify(app, [folder / "a.png"])  # a new run: the old skips are not told again
    assert "omitidos" not in app.status_label.cget("text")


def test_broken_file_and_non_image_give_error_rows_and_the_app_keeps_working(app, tmp_path):
    good = write_xray(tmp_path / "good.png")
    truncated = tmp_path / "truncated.jpg"
    Image.open(good).convert("L").save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    text_file = tmp_path / "report.png"
    text_file.write_text("Patient report, not an image.\n")
    classify(app, [truncated, text_file, good])

    by_file = {r["file"]: r for r in rows(app)}
    for name in ("truncated.jpg", "report.png"):
        assert by_file[name]["verdict"] == "✕ Error"
        assert by_file[name]["p_pneumonia"] == "—"
        assert by_file[name]["status"].endswith(".")  # one sentence, not a traceback
        assert "Traceback" not in by_file[name]["status"]
    assert by_file["good.png"]["status"] == "Classified"
    assert "2 not classified" in app.status_label.cget("text")

    error_iid = next(iid for iid in app.table.tree.get_children()
                     if app.table.tree.item(iid, "values")[0] == "report.png")
    app.table.tree.selection_set(error_iid)
    wait_for_value(app, lambda: app.pane.verdict_label.cget("text"), "Could not classify",
                   "show the error row")
    assert app.pane.detail_label.cget("text") == by_file["report.png"]["status"]

    classify(app, [write_xray(tmp_path / "after.png", seed=3)])  # still works afterwards
    assert {r["file"]: r["status"] for r in rows(app)}["after.png"] == "Classified"


def test_dropping_a_folder_with_spaces_and_braces_classifies_what_is_inside(app, tmp_path):
    folder = tmp_path / "exames {março} 2024"
    write_xray(folder / "a.png")
    write_xray(folder / "nested dir" / "b.png", seed=1)
    (folder / "readme.txt").write_text("not scanned: no image suffix")
    loose = write_xray(tmp_path / "loose file.png", seed=2)
    data = app.root.tk.call("format", "%s", app.root.tk.call("list", str(folder), str(loose)))
    assert "{" in data  # Tcl quoted the names as tkdnd does

    app._dropped(SimpleNamespace(data=data, action="copy"))
    wait_for(app, lambda: not app.state.pending, "finish the dropped batch")
    assert sorted(r["file"] for r in rows(app)) == ["a.png", "b.png", "loose file.png"]
    assert all(r["status"] == "Classified" for r in rows(app))
    assert load_settings().last_folder == str(folder)


def test_files_dragged_from_another_program_are_classified(app, tmp_path):
    """A real XDND drag through the X server: another process offers the files as a file manager
    does (text/uri-list), the pointer carries them over the table and lets go."""
    xdotool = shutil.which("xdotool")
    assert xdotool, "xdotool is needed for this test (Debian/Ubuntu: apt-get install xdotool)"
    folder = tmp_path / "exames {março}"
    write_xray(folder / "inner.png", seed=4)
    dragged = [write_xray(tmp_path / "raio x ü.png", seed=5), folder]
    app.root.geometry("900x600+0+0")
    tree = app.table.tree
    wait_for(app, lambda: app.root.winfo_width() == 900 and tree.winfo_ismapped(),
             "place the window at 900x600+0+0")
    target = (tree.winfo_rootx() + tree.winfo_width() // 2,
              tree.winfo_rooty() + tree.winfo_height() // 2)
    source_at = (1000, 600)  # beside the window: nothing of it covers the table
    source = subprocess.Popen(
        [sys.executable, str(Path(__file__).parents[2] / "support" / "xdnd_source.py"),
         *map(str, source_at),
         *map(str, dragged)], stdout=subprocess.PIPE, text=True)
    try:
        assert source.stdout.readline().strip() == "ready"
        steps = [(source_at[0] + 80 + (target[0] - source_at[0] - 80) * i // 8,
                  source_at[1] + 60 + (target[1] - source_at[1] - 60) * i // 8)
                 for i in range(9)]
        moves = [arg for x, y in steps for arg in ("mousemove", str(x), str(y), "sleep", "0.1")]
        drag = subprocess.Popen([xdotool, "mousemove", str(source_at[0] + 80),
                                 str(source_at[1] + 60), "sleep", "0.3", "mousedown", "1",
                                 "sleep", "0.2", *moves, "sleep", "0.5", "mouseup", "1"])
        wait_for(app, lambda: drag.poll() is not None, "finish the drag")  # Tk answers XDND
        wait_for(app, lambda: len(rows(app)) == 2 and not app.state.pending,
                 "classify the dropped file and folder")
    finally:
        source.kill()
        source.wait()
    assert sorted(r["file"] for r in rows(app)) == ["inner.png", "raio x ü.png"]
    assert all(r["status"] == "Classified" for r in rows(app))


def test_export_csv_writes_the_table_in_its_order(app, tmp_path):
    classify(app, [write_xray(tmp_path / "b.png"), write_xray(tmp_path / "a.png", seed=1)])
    (tmp_path / "c.png").write_text("nope")
    classify(app, [tmp_path / "c.png"])
    app.state.sort_by("file")
    app.state.sort_by("file")  # second click: descending
    out = tmp_path / "out" / "results.csv"
    out.parent.mkdir()

    assert app.state.export_csv(out)
    with open(out, newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert [r["file"] for r in table] == ["b.png", "a.png", "c.png"]  # errors stay last
    for r in table[:2]:
        result = next(x for x in app.session.results.values() if x.path.name == r["file"])
        assert r["verdict"] == app.session.verdict(result)
        assert float(r["p_pneumonia"]) == pytest.approx(result.p_pneumonia, abs=1e-6)
        assert float(r["threshold"]) == app.session.threshold and r["error"] == ""
    assert table[2]["verdict"] == "" and table[2]["error"].startswith("This file is not an image")
    assert sorted(p.name for p in out.parent.iterdir()) == ["results.csv"]  # no temp file left
    assert f"Saved 3 results to results.csv in {out.parent}." == app.status_label.cget("text")


def test_sorting_by_column_and_arrow_keys_show_each_result(app, tmp_path):
    classify(app, [write_xray(tmp_path / f"{name}.png", seed=i)
                   for i, name in enumerate(["c", "a", "b"])])
    app.table.tree.heading("file", "command")  # the heading is clickable
    app.root.tk.call(app.table.tree.heading("file", "command"))
    assert [r["file"] for r in rows(app)] == ["a.png", "b.png", "c.png"]
    assert app.table.tree.heading("file", "text") == "File ▲"

    tree = app.table.tree
    tree.selection_set(tree.get_children()[0])
    tree.focus(tree.get_children()[0])
    tree.focus_force()
    wait_for(app, lambda: app.root.focus_get() is tree, "focus the table")
    tree.event_generate("<Down>")
    wait_for_value(app, lambda: app.pane.file_label.cget("text"), "b.png", "move down to b.png")
    tree.event_generate("<Down>")
    wait_for_value(app, lambda: app.pane.file_label.cget("text"), "c.png", "move down to c.png")


def test_heatmap_toggle_overlays_the_preview_and_shows_a_legend(app, tmp_path):
    classify(app, [write_xray(tmp_path / "a.png")])
    assert not app.pane.legend.winfo_ismapped()
    app.view_menu.invoke(0)  # View → Show heatmap
    wait_for(app, lambda: app.state.selected.heatmap is not None, "compute the heatmap")
    assert app.pane.legend.winfo_ismapped()
    heatmap = app.state.selected.heatmap
    assert heatmap.shape == (224, 224) and 0.0 <= heatmap.min() <= heatmap.max() <= 1.0
    assert app.pane.preview.rendered.mode == "RGB"  # the overlay, not the plain grayscale preview
    assert load_settings().show_heatmap is True


def test_selecting_a_row_of_a_folder_shows_its_preview_read_again(app, tmp_path):
    folder = tmp_path / "ward"
    for i, name in enumerate(["a", "b", "c"]):
        write_xray(folder / f"{name}.png", seed=i)
    classify(app, [folder])
    assert all(r.preview is None and r.model_input is None
               for r in app.session.results.values() if r.path.name != "a.png")

    select_row(app, "c.png")
    assert canvas_text(app.pane.preview) == "Loading the preview…"  # before the worker answers
    assert app.pane.verdict_label.cget("text") in ("NORMAL", "PNEUMONIA")  # the verdict at once
    wait_for(app, lambda: app.pane.preview.find_all() and app.pane.preview.type("all") == "image",
             "show c.png's preview")
    assert app.pane.file_label.cget("text") == "c.png" and canvas_text(app.pane.preview) == ""
    assert app.pane.preview.picture.preview.size == (640, 560)  # the file itself, read again
    assert not app.pane.preview_note.winfo_ismapped()

    app.view_menu.invoke(0)  # View → Show heatmap: computed from the image read again
    select_row(app, "b.png")
    wait_for(app, lambda: app.pane.preview.rendered is not None
             and app.pane.preview.rendered.mode == "RGB", "overlay b.png's heatmap")
    selected = app.state.selected
    assert selected.path.name == "b.png" and selected.heatmap.shape == (224, 224)


def test_a_file_deleted_before_its_row_is_selected_shows_why_and_keeps_the_verdict(
        app, tmp_path):
    folder = tmp_path / "ward"
    for i, name in enumerate(["a", "b"]):
        write_xray(folder / f"{name}.png", seed=i)
    classify(app, [folder])
    (folder / "b.png").unlink()

    select_row(app, "b.png")
    result = app.state.selected
    wait_for(app, lambda: app.pane.preview_note.winfo_ismapped(), "say why b.png has no preview")
    assert app.pane.preview_note.cget("text") == (
        "This file no longer exists. Check where it was moved and open it again.")
    assert canvas_text(app.pane.preview) == "No preview"
    assert app.pane.verdict_label.cget("text") == app.session.verdict(result)  # the verdict stays
    assert f"P(pneumonia) = {result.p_pneumonia:.3f}" in app.pane.detail_label.cget("text")
    assert {r["file"]: r["status"] for r in rows(app)}["b.png"] == "Classified"

    app.language_menu.invoke(list(i18n.LANGUAGES).index("pt_BR"))
    wait_for_value(app, lambda: app.pane.preview_note.cget("text"),
                   "Este arquivo não existe mais. Verifique para onde foi movido e abra-o "
                   "novamente.", "translate the note")
    assert canvas_text(app.pane.preview) == "Sem pré-visualização"

    select_row(app, "a.png")  # a file still there shows no note
    wait_for(app, lambda: app.pane.preview.rendered is not None, "show a.png's preview")
    assert not app.pane.preview_note.winfo_ismapped()


def test_model_card_dialog_shows_metrics_use_limits_and_disclaimer(app):
    app.help_menu.invoke("end")  # Help → About / Model card (the last entry)
    wait_for(app, lambda: app.dialog is not None and app.dialog.winfo_viewable(),
             "open the model card")
    text = app.dialog.all_text()
    validation, test = app.state.card["metrics"]["validation"], app.state.card["metrics"]["test"]
    assert text.startswith("In short\n"), text[:200]  # the plain summary before the card
    for expected in ("Validation metrics", "Test metrics", "Intended use", "Limitations",
                     f"Sensitivity {100 * validation['sensitivity']:.2f}%",
                     f"Specificity {100 * test['specificity']:.2f}%",
                     f"{test['n']} images ({test['n_normal']} normal",
                     "Automated tests only. Not for clinical diagnosis.",
                     "TEST MODEL with random weights", "Research and teaching tool. "
                     "Not for clinical diagnosis.", "Balanced: threshold 0.5"):
        assert expected in text
    assert "Research and teaching tool. Not for clinical diagnosis." in app.disclaimer.cget(
        "text")


def test_cancel_stops_a_long_batch_and_keeps_the_results_so_far(app, tmp_path, monkeypatch):
    first = write_xray(tmp_path / "big00.png", size=(1600, 1400), noise=0)
    files = [first]
    for i in range(1, 60):  # copies, not links: folder scanning counts each file once
        files.append(tmp_path / f"big{i:02}.png")
        files[-1].write_bytes(first.read_bytes())
    # The first chunk's files are read; the others wait until Cancel is pressed, so the batch
    # cannot finish before the click however fast or slow the machine is.
    import desktop.engine.inference

    first_chunk, pressed = set(files[: app.worker.engine.batch_size]), threading.Event()
    real = desktop.engine.inference.read_image

    def held(path, **kwargs):
        if path not in first_chunk:
            pressed.wait(60)
        return real(path, **kwargs)

    monkeypatch.setattr(desktop.engine.inference, "read_image", held)
    batch = app.open_paths(files)
    wait_for(app, lambda: app.session.results, "show the first result")
    app.cancel_button.invoke()
    pressed.set()
    wait_for(app, lambda: batch not in app.state.pending, "stop the batch")
    assert 0 < len(rows(app)) < 60
    assert app.status_label.cget("text") == f"Cancelled after {len(rows(app))} of 60 files."
    assert str(app.cancel_button.cget("state")) == "disabled"


def test_a_language_switch_while_a_preview_loads_keeps_the_line_then_shows_the_image(
        app, tmp_path, monkeypatch):
    import desktop.reading.imaging

    folder = tmp_path / "ward"
    for i, name in enumerate(["a", "b"]):
        write_xray(folder / f"{name}.png", seed=i)
    classify(app, [folder])
    wait_for(app, lambda: preview_shown(app), "show a.png's preview")
    reading, release = threading.Event(), threading.Event()
    real = desktop.reading.imaging.read_image

    def held(path, **kwargs):  # the worker's re-read for the preview, held until released
        reading.set()
        release.wait(60)
        return real(path, **kwargs)

    monkeypatch.setattr(desktop.reading.imaging, "read_image", held)
    select_row(app, "b.png")
    assert reading.wait(30), "the worker never started reading b.png again"
    app.language_menu.invoke(list(i18n.LANGUAGES).index("es"))
    wait_for(app, lambda: app.language.get() == "es", "switch to Spanish")
    loading = i18n.gettext("Loading the preview…")
    assert loading != "Loading the preview…"
    assert canvas_text(app.pane.preview) == loading  # the line stays, in the new language
    release.set()
    wait_for(app, lambda: preview_shown(app), "show b.png's preview after the switch")
    assert app.state.selected.path.name == "b.png" and canvas_text(app.pane.preview) == ""


def test_settings_round_trip_through_a_restart(make_app, tmp_path):
    app = make_app()
    app.set_language("pt_BR")
    app.threshold.scale.set(0.33)
    wait_for(app, lambda: app.session.threshold == pytest.approx(0.33), "slide to 0.33")
    app.show_heatmap.set(True)
    app.heatmap_toggled()
    app.root.geometry("1000x700+10+20")
    wait_for(app, lambda: app.root.geometry().startswith("1000x700"), "resize the window")
    app.close()

    saved = load_settings()
    assert (saved.language, saved.threshold, saved.operating_point, saved.show_heatmap) == (
        "pt_BR", pytest.approx(0.33), None, True)
    assert saved.window_geometry.startswith("1000x700")

    again = make_app(saved)
    assert again.session.threshold == pytest.approx(0.33)
    assert again.threshold.value_label.cget("text") == "0,33"  # in Portuguese: a decimal comma
    assert again.show_heatmap.get() is True
    assert again.open_button.cget("text") == i18n.gettext("Open files…") != "Open files…"


def test_corrupt_settings_file_falls_back_to_defaults_and_the_window_opens(make_app):
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{ this is not json")
    app = make_app(load_settings())
    assert app.session.threshold == pytest.approx(0.5)  # the model's default operating point
    assert app.threshold.preset.get() == "balanced"


def test_drag_and_drop_loads_and_without_tkdnd_the_window_still_works(
        make_app, monkeypatch, caplog, tmp_path):
    from tkinterdnd2 import TkinterDnD

    from desktop.ui.style import make_root

    root, dnd = make_root()
    root.destroy()
    assert dnd, "tkdnd (shipped in tkinterdnd2) did not load: drag and drop would be off"

    def broken(_root):
        raise RuntimeError("Unable to load tkdnd library.")

    monkeypatch.setattr(TkinterDnD, "_require", broken)
    app = make_app()
    assert "Drag and drop is unavailable" in caplog.text
    classify(app, [write_xray(tmp_path / "a.png")])
    assert rows(app)[0]["status"] == "Classified"


def test_a_cell_its_column_clips_shows_its_full_text_in_a_tooltip(app, tmp_path):
    """A narrow Status column cuts "Could not read…"; resting the pointer on it shows it all."""
    text_file = tmp_path / "report.png"
    text_file.write_text("Patient report, not an image.\n")
    classify(app, [text_file])
    tree, tooltip = app.table.tree, app.table.tooltip
    iid = tree.get_children()[0]
    full = str(tree.item(iid, "values")[3])
    tree.column("status", width=60)
    wait_for(app, lambda: bool(tree.bbox(iid, "status")), "lay out the narrow column")
    x, y, width, height = tree.bbox(iid, "status")
    assert tooltip.text_at(x + width // 2, y + height // 2) == full
    tree.event_generate("<Motion>", x=x + width // 2, y=y + height // 2)
    wait_for(app, lambda: tooltip.window is not None, "show the tooltip")
    shown = [w.cget("text") for w in tooltip.window.winfo_children()]
    assert shown == [full]
    tree.event_generate("<Leave>")
    wait_for(app, lambda: tooltip.window is None, "hide the tooltip")

    x, y, width, height = tree.bbox(iid, "file")  # "report.png" fits: no tooltip
    assert tooltip.text_at(x + width // 2, y + height // 2) is None


@pytest.mark.parametrize("language", ["es", "pt_BR"])
def test_the_shortcuts_dialog_fits_its_translated_text(make_app, language):
    """No "up-down for brightne": both columns as wide as their longest text, the dialog as wide
    as both columns."""
    from tkinter import font as tkfont

    from desktop.ui.text_fit import is_clipped

    app = make_app(Settings(language=language))
    app.show_shortcuts()
    dialog = app.shortcuts_dialog
    wait_for(app, lambda: dialog.winfo_viewable() and dialog.winfo_width() > 1,
             "open the shortcuts dialog")
    table = dialog.table
    measure = tkfont.nametofont(ttk.Style(table).lookup("Treeview", "font")
                                or "TkDefaultFont").measure
    widths = [int(table.column(c, "width")) for c in ("keys", "action")]
    rows = dialog.rows()
    assert rows and table.heading("keys", "text") != "Keys"  # in the language asked for
    for keys, action in rows:
        assert not is_clipped(keys, widths[0], measure), keys
        assert not is_clipped(action, widths[1], measure), action
    assert table.winfo_width() >= sum(widths)


@pytest.mark.parametrize("language", ["es", "pt_BR"])
def test_no_button_or_label_clips_its_translated_text_at_the_minimum_size(
        make_app, tmp_path, language):
    """At the smallest window, every shown button, check box and one-line label is at least as
    wide as its translated text needs ("Canc", "Sin mapa de c" were cut)."""
    app = make_app(Settings(language=language))
    one_result_at_the_minimum_size(app, tmp_path)
    clipped = []

    def walk(widget: tk.Misc) -> None:
        for child in widget.winfo_children():
            walk(child)
        if not isinstance(widget, (ttk.Button, ttk.Checkbutton, ttk.Radiobutton, ttk.Label)):
            return
        if not widget.winfo_ismapped() or not str(widget.cget("text")):
            return
        if isinstance(widget, ttk.Label) and str(widget.cget("wraplength")) not in ("", "0"):
            return  # wraps at its width
        if widget.winfo_width() < widget.winfo_reqwidth():
            clipped.append((widget.cget("text"), widget.winfo_width(), widget.winfo_reqwidth()))

    walk(app.root)
    assert not clipped


@pytest.mark.parametrize("language", ["es", "pt_BR"])
def test_at_the_minimum_size_the_heatmap_controls_stay_inside_the_result_pane(
        make_app, tmp_path, language):
    """The image gives up room (down to a quarter of the pane) before the verdict, the bar and
    the heatmap check box and opacity fall off the bottom of the pane ("Sin mapa de c")."""
    app = make_app(Settings(language=language))
    one_result_at_the_minimum_size(app, tmp_path)
    pane = app.pane

    def inside(widget) -> bool:
        bottom = widget.winfo_rooty() + widget.winfo_height()
        return bottom <= pane._pane.winfo_rooty() + pane._pane.winfo_height()

    wait_for(app, lambda: all(inside(w) for w in (pane.heatmap_check, pane.opacity_scale,
                                                  pane.bar)), "the heatmap controls on screen")
    assert pane.preview.winfo_height() >= 0.25 * pane._pane.winfo_height() - 4


def test_the_result_pane_keeps_its_share_of_a_shrinking_window_and_a_dragged_divider(
        make_app, tmp_path):
    """Shrinking the window from full size to the minimum takes width from both sides in
    proportion (it took as much from the 490-pixel pane as from the table, leaving the image
    a strip); the share the user drags to is kept through the next resize."""
    from desktop.ui.divider import RIGHT_MIN
    from desktop.ui.style import MIN_SIZE

    app = make_app(Settings(language="es"))
    panes = app.divider.panes
    right = app.pane._pane

    def share() -> float:
        return right.winfo_width() / panes.winfo_width()

    for width in (1280, MIN_SIZE[0]):
        app.root.geometry(f"{width}x{MIN_SIZE[1] + 100}")
        wait_for(app, lambda w=width: app.root.winfo_width() == w
                 and abs(share() - 0.4) < 0.03, f"the pane's share at {width} px")
    panes.sashpos(0, 100)  # the user drags the divider far left, then lets go
    panes.event_generate("<ButtonRelease-1>", x=100, y=10)
    wait_for(app, lambda: panes.sashpos(0) >= 400, "keep the table usable")
    panes.sashpos(0, panes.winfo_width() - 50)  # and far right
    panes.event_generate("<ButtonRelease-1>", x=panes.winfo_width() - 50, y=10)
    wait_for(app, lambda: right.winfo_width() >= RIGHT_MIN - 20, "keep the pane usable")
    panes.sashpos(0, int(panes.winfo_width() * 0.5))  # half and half, then a bigger window
    panes.event_generate("<ButtonRelease-1>", x=int(panes.winfo_width() * 0.5), y=10)
    app.root.geometry("1280x700")
    wait_for(app, lambda: app.root.winfo_width() == 1280 and abs(share() - 0.5) < 0.03,
             "the dragged share kept when the window grows")


def test_f11_shows_the_image_on_the_whole_screen_following_the_selection(app, tmp_path):
    """At the smallest window the image has part of a pane; F11 opens it screen-sized, it
    follows the selected row, and F11 again (or Esc) closes it without cancelling anything."""
    classify(app, [write_xray(tmp_path / "a.png"), write_xray(tmp_path / "b.png", seed=2)])
    select_row(app, "a.png")
    wait_for(app, lambda: preview_shown(app), "show a.png")
    app.run_command("image_large")
    large = app.pane.large
    wait_for(app, lambda: large.winfo_viewable() and large.viewer.rendered is not None,
             "open the whole-screen image")
    assert large.viewer.picture is app.pane.preview.picture
    assert large.viewer.winfo_width() >= 0.9 * large.winfo_screenwidth()
    assert large.viewer.rendered.width > 2 * app.pane.preview.rendered.width

    select_row(app, "b.png")
    wait_for(app, lambda: preview_shown(app) and large.viewer.picture is app.pane.preview.picture,
             "follow the selection to b.png")

    large.event_generate("<Escape>")
    wait_for(app, lambda: not large.winfo_exists(), "close on Esc")
    app.run_command("image_large")
    wait_for(app, lambda: app.pane.large.winfo_viewable(), "open again")
    app.run_command("image_large")  # F11 again
    wait_for(app, lambda: app.pane.large is None, "close on F11")
