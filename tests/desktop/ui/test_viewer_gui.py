"""The viewer, the information panel and the reports in the real window under Xvfb.

As in ``tests/desktop/ui/test_app.py`` (whose fixtures and helpers these tests use), a test
waits for
the state it asserts, with a deadline that only guards against a hang; where the worker's timing
could change the outcome (a batch report finishing before Cancel) the worker is held at a known
point with an event.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from desktop import i18n
from desktop.settings import Settings, load_settings
from tests.desktop.ui import test_app as gui
from tests.desktop.ui.test_app import (
    classify,
    preview_shown,
    rows,
    wait_for,
    wait_for_value,
    write_xray,
)
from tests.support.model_fixtures import xray_like

pytestmark = pytest.mark.gui
make_app, app = gui.make_app, gui.app  # the window fixtures of the GUI tests


def write_16bit(path: Path, size=(1200, 1000)) -> Path:
    """A 12-bit-range chest-like PNG: the viewer gets a display buffer for it."""
    Image.fromarray(xray_like(3, size).astype(np.uint16) * 16).save(path)
    return path


def write_dicom(path: Path) -> Path:
    """A CR chest DICOM with two window presets and a patient's name and ID."""
    from tests.support.fuzz_corpus import dicom_bytes

    pixels = xray_like(4, (500, 440)).astype(np.uint16) * 16
    path.write_bytes(dicom_bytes(pixels, extra={
        "BodyPartExamined": "CHEST", "ViewPosition": "PA", "PatientID": "H-123",
        "WindowCenter": [2000, 1200], "WindowWidth": [4000, 800],
        "WindowCenterWidthExplanation": ["FULL", "LUNG"]}))
    return path


def shown(app) -> np.ndarray:
    return np.asarray(app.pane.preview.rendered.convert("L"), dtype=float)


def test_zoom_pan_and_window_level_change_the_view_and_never_the_model_input(app, tmp_path):
    image = write_16bit(tmp_path / "sixteen.png")
    classify(app, [image])
    wait_for(app, lambda: preview_shown(app), "show the image")
    result = app.state.selected
    model_input, p, key = result.model_input.copy(), result.p_pneumonia, result.fingerprint
    verdict = app.session.verdict(result)
    viewer, canvas = app.pane.preview.viewer, app.pane.preview
    assert viewer.zoom is None and result.display is not None  # 16 bits: values kept
    fitted = viewer.scale

    canvas.event_generate("<Button-4>", x=40, y=40)  # the wheel, over the top left
    canvas.event_generate("<Button-4>", x=40, y=40)
    wait_for(app, lambda: viewer.scale == pytest.approx(fitted * 1.25 ** 2), "zoom in twice")
    assert app.pane.view_label.cget("text").startswith(f"Zoom {viewer.zoom_percent:.0f}%")
    before = viewer.center
    canvas.event_generate("<ButtonPress-1>", x=200, y=150)
    canvas.event_generate("<B1-Motion>", x=150, y=110)  # drag the image up and left
    wait_for(app, lambda: viewer.center != before, "pan")
    assert viewer.center[0] > before[0] and viewer.center[1] > before[1]

    plain = shown(app)
    canvas.event_generate("<ButtonPress-3>", x=100, y=100)
    canvas.event_generate("<B3-Motion>", x=20, y=140)  # narrower and darker
    wait_for(app, lambda: viewer.window is not None, "window by right-drag")
    assert viewer.window.on_values and app.window_preset.get() == ""  # custom, in file units
    canvas.event_generate("<ButtonRelease-3>", x=20, y=140)
    wait_for(app, lambda: app.pane.preview.rendered is not None
             and shown(app).mean() < plain.mean(),
             "draw the darker window")
    assert "Window: level" in app.pane.view_label.cget("text")

    app.run_command("invert")
    wait_for(app, lambda: viewer.invert and app.invert_view.get(), "invert")
    app.run_command("window_high_contrast")
    assert viewer.preset == "high_contrast" and app.window_preset.get() == "high_contrast"
    app.run_command("zoom_actual")
    assert viewer.zoom_percent == pytest.approx(100)
    for _ in range(2):  # a double-click: two clicks in a row, at the same place
        canvas.event_generate("<ButtonPress-1>", x=10, y=10)
        canvas.event_generate("<ButtonRelease-1>", x=10, y=10)
    wait_for(app, lambda: viewer.zoom is None and viewer.window is None and not viewer.invert,
             "reset by double-click")
    assert app.window_preset.get() == "default" and not app.invert_view.get()

    # what the model saw and said is as it was
    assert np.array_equal(result.model_input, model_input) and result.p_pneumonia == p
    assert result.fingerprint == key and app.session.verdict(result) == verdict


def test_plain_keys_drive_the_viewer_and_ctrl_keys_stay_theirs(app, tmp_path):
    classify(app, [write_xray(tmp_path / "a.png")])
    wait_for(app, lambda: preview_shown(app), "show the image")
    viewer = app.pane.preview.viewer
    app.pane.preview.focus_force()
    wait_for(app, lambda: app.root.focus_get() is app.pane.preview, "focus the image")
    app.pane.preview.event_generate("<KeyPress>", keysym="plus")
    wait_for(app, lambda: viewer.zoom is not None, "+ zooms in")
    app.pane.preview.event_generate("<KeyPress>", keysym="0")
    wait_for(app, lambda: viewer.zoom is None, "0 resets")
    app.pane.preview.event_generate("<KeyPress>", keysym="i", state=0x4)  # Ctrl+I
    wait_for(app, lambda: app.show_image_info.get(), "Ctrl+I opens the information panel")
    assert not viewer.invert  # ... and does not invert
    app.pane.preview.event_generate("<KeyPress>", keysym="i")
    wait_for(app, lambda: viewer.invert, "i inverts")


def test_the_heatmap_follows_the_zoom_and_its_opacity_is_saved(app, tmp_path):
    classify(app, [write_xray(tmp_path / "a.png")])
    app.run_command("heatmap")
    wait_for(app, lambda: app.state.selected.heatmap is not None
             and app.pane.preview.rendered.mode == "RGB",
             "overlay the heatmap")
    app.run_command("zoom_in")
    wait_for(app, lambda: app.pane.preview.rendered.size == app.pane.preview.viewer.viewport().size,
             "redraw zoomed")
    assert app.pane.preview.rendered.mode == "RGB"  # still overlaid, on the zoomed crop
    app.pane.opacity_scale.set(0.25)
    wait_for(app, lambda: app.pane.preview.viewer.opacity == pytest.approx(0.25), "apply opacity")
    app.state.remember()
    assert load_settings().heatmap_opacity == pytest.approx(0.25)


def test_a_dicoms_own_windows_are_in_the_view_menu_and_map_in_its_units(app, tmp_path):
    classify(app, [write_dicom(tmp_path / "cr.dcm")])
    wait_for(app, lambda: preview_shown(app), "show the DICOM")
    menu = app.file_windows_menu
    labels = [menu.entrycget(i, "label") for i in range(menu.index("end") + 1)]
    assert labels == ["FULL (level 2000, width 4000)", "LUNG (level 1200, width 800)"]
    parent, index = app.file_windows_entry
    assert parent.entrycget(index, "state") == "normal"
    menu.invoke(1)
    wait_for(app, lambda: app.pane.preview.viewer.preset == "file_2", "apply LUNG")
    window = app.pane.preview.viewer.window
    assert (window.center, window.width, window.on_values) == (1200.0, 800.0, True)
    assert app.window_preset.get() == "file_2"
    assert "level 1200, width 800" in app.pane.view_label.cget("text")

    classify(app, [write_xray(tmp_path / "eight.png")])  # an 8-bit PNG: no such windows
    wait_for(app, lambda: parent.entrycget(index, "state") == "disabled",
             "grey out the file's windows")


def test_the_information_panel_hides_identifiers_until_the_setting_is_on(make_app, tmp_path):
    app = make_app(Settings(language="en", show_image_info=True))
    classify(app, [write_dicom(tmp_path / "cr.dcm")])
    wait_for(app, lambda: "Modality: CR" in app.info_panel.text(), "list the DICOM's facts")
    text = app.info_panel.text()
    assert app.info_panel.body.winfo_ismapped()
    for line in ("Format: DICOM", "Size: 500 × 440 pixels", "Bit depth: 16 bits",
                 "Body part: CHEST", "View position: PA", "Frame shown: 1 of 1",
                 "Patient name and ID: hidden (View → Show patient identifiers)"):
        assert line in text
    assert "Fuzz" not in text and "H-123" not in text

    app.run_command("identifiers")  # View → Show patient identifiers
    wait_for(app, lambda: "Patient ID: H-123" in app.info_panel.text(), "show the identifiers")
    assert "Patient name: Fuzz, Corpus" in app.info_panel.text()
    assert load_settings().show_identifiers is True

    app.run_command("image_info")  # Ctrl+I closes the panel
    wait_for(app, lambda: not app.info_panel.body.winfo_ismapped(), "close the panel")
    assert app.info_panel.header.cget("text") == "▸ Image information"
    app.language_menu.invoke(list(i18n.LANGUAGES).index("es"))
    wait_for(app, lambda: app.language.get() == "es", "switch to Spanish")
    assert app.info_panel.header.cget("text") == "▸ Información de la imagen"


def test_ctrl_r_saves_the_report_of_the_image_as_shown(app, tmp_path, monkeypatch):
    from tkinter import filedialog

    classify(app, [write_dicom(tmp_path / "cr.dcm")])
    wait_for(app, lambda: preview_shown(app), "show the image")
    app.run_command("zoom_in")
    app.run_command("window_soft_tissue")
    out = tmp_path / "reports" / "cr_report.pdf"
    out.parent.mkdir()
    asked = {}

    def save_as(**options):
        asked.update(options)
        return str(out)

    monkeypatch.setattr(filedialog, "asksaveasfilename", save_as)
    app.root.event_generate("<Control-r>")  # the key, through the command table
    wait_for(app, lambda: out.exists(), "write the report")
    assert asked["initialfile"] == "cr_report.pdf" and asked["defaultextension"] == ".pdf"
    assert app.status_label.cget("text") == f"Saved the report to cr_report.pdf in {out.parent}."
    reader = PdfReader(out)
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    result = app.state.selected
    assert app.session.verdict(result) in text and f"{result.p_pneumonia:.3f}" in text
    assert "Research and teaching tool. Not for clinical diagnosis." in text
    assert app.pane.preview.viewer.describe() in text  # the zoom and window shown, as a caption
    assert "Window: level" in text and "H-123" not in text
    assert len(reader.pages[0].images) == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["cr_report.pdf"]  # no temp file


def test_a_report_into_a_folder_that_is_gone_says_so_in_one_sentence(app, tmp_path):
    classify(app, [write_xray(tmp_path / "a.png")])
    assert not app.save_report(tmp_path / "gone" / "r.pdf")
    assert app.status_label.cget("text") == (
        "The file r.pdf could not be written. Choose another folder and try again.")


def test_the_batch_report_follows_the_table_and_cancel_stops_it(app, tmp_path, monkeypatch):
    import desktop.reports.pdf

    classify(app, [write_xray(tmp_path / f"{name}.png", i) for i, name in enumerate("cab")])
    app.state.sort_by("file")
    out = tmp_path / "batch.pdf"
    job = app.save_batch_report(out)
    wait_for(app, lambda: app.state.report_job is None, "write the batch report")
    assert job and app.status_label.cget("text") == (
        f"Saved the report of 3 files to batch.pdf in {out.parent}.")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(out).pages).split())
    assert text.index("a.png") < text.index("b.png") < text.index("c.png")

    reading, release = threading.Event(), threading.Event()
    real = desktop.reports.pdf.read_thumbnail

    def held(entry):  # the first file is read, the others wait until Cancel is pressed
        if entry.name != "a.png":
            reading.set()
            release.wait(60)
        return real(entry)

    monkeypatch.setattr(desktop.reports.pdf, "read_thumbnail", held)
    second = tmp_path / "cancelled.pdf"
    app.save_batch_report(second)
    assert reading.wait(30), "the report never started reading the files again"
    wait_for_value(app, lambda: app.state.report_progress[0], 1, "show the first file read")
    assert app.status_label.cget("text") == "Writing the report: 1 of 3 files…"
    assert str(app.cancel_button.cget("state")) == "normal"
    app.cancel_button.invoke()
    release.set()
    wait_for(app, lambda: app.state.report_job is None, "stop the report")
    assert app.status_label.cget("text") == "Cancelled: no report was written."
    assert not second.exists() and str(app.cancel_button.cget("state")) == "disabled"


def test_help_lists_every_shortcut_in_the_language_shown(app):
    app.help_menu.invoke(0)  # Help → Keyboard shortcuts
    wait_for(app, lambda: app.shortcuts_dialog is not None
             and app.shortcuts_dialog.winfo_viewable(), "open the shortcuts")
    listed = dict(app.shortcuts_dialog.rows())
    assert listed["Ctrl+R"] == "Save report" and listed["0"] == "Reset the view"
    assert listed["+ / = / Num +"] == "Zoom in" and "Right-drag" in listed
    app.language_menu.invoke(list(i18n.LANGUAGES).index("pt_BR"))
    wait_for(app, lambda: dict(app.shortcuts_dialog.rows()).get("Ctrl+R") == "Salvar relatório",
             "relabel the shortcuts")
    assert app.shortcuts_dialog.title() == "Atalhos de teclado"
    assert [r["file"] for r in rows(app)] == []  # nothing opened: the window is as it was


def test_a_fitted_image_follows_a_resize_its_zoom_line_too_and_keeps_its_share(app, tmp_path):
    classify(app, [write_xray(tmp_path / "a.png")])
    wait_for(app, lambda: preview_shown(app), "show the image")
    app.root.geometry("1240x780")
    wait_for(app, lambda: app.root.winfo_height() == 780, "open the window large")
    large = app.pane.preview.viewer.zoom_percent
    wait_for_value(app, lambda: app.pane.view_label.cget("text").split(" ·")[0],
                   f"Zoom {large:.0f}%", "say the large zoom")
    app.root.geometry("900x600")
    wait_for(app, lambda: app.pane.preview.viewer.zoom_percent < large, "fit the smaller view")
    small = app.pane.preview.viewer.zoom_percent
    wait_for_value(app, lambda: app.pane.view_label.cget("text").split(" ·")[0],
                   f"Zoom {small:.0f}%", "say the new zoom without pressing F")
    pane = app.pane.preview.master
    # the texts and controls under it come first, but the image keeps at least 30% of the pane
    assert app.pane.preview.winfo_height() >= 0.3 * pane.winfo_height() - 2


def test_the_line_under_the_image_has_room_beyond_its_measured_text(app, tmp_path):
    # Under Wine the text is drawn a few pixels wider than Tk measures it: a label exactly as
    # wide as its measured text lost its last letter ("...as the file shows i").
    from tkinter import font

    classify(app, [write_xray(tmp_path / "chest.png")])
    wait_for(app, lambda: preview_shown(app), "show the image")
    label = app.pane.view_label
    wait_for(app, lambda: label.cget("text"), "the zoom line")
    measured = font.nametofont("TkSmallCaptionFont").measure(label.cget("text"))
    wait_for(app, lambda: label.winfo_width() >= measured + 20, "room after the zoom line")
