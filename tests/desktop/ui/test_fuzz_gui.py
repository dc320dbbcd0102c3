"""The real window (Xvfb) when a user drops a folder of hostile files, or starts it with a
corrupt settings file: every file gets a row, bad ones an error row with one sentence, clicking
through every row shows it without a callback error, and the window keeps working."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from tests.desktop.ui.test_app import make_app, rows, wait_for, write_xray  # noqa: F401 (a fixture)
from tests.support.fuzz_corpus import OK, corpus_at, fingerprint

pytestmark = pytest.mark.gui

CALLBACK_ERROR = "Error in a window callback"


@pytest.fixture
def hostile_folder(tmp_path):
    with corpus_at(tmp_path / "dropped {hostile} files ç") as built:
        yield built


def drop(app, *paths) -> None:
    """What tkdnd hands the window: a Tcl list of paths (braces around names with spaces)."""
    data = app.root.tk.call("format", "%s", app.root.tk.call("list", *map(str, paths)))
    app._dropped(SimpleNamespace(data=data, action="copy"))


def test_dropping_a_folder_of_hostile_files_gives_a_row_each_and_the_window_keeps_working(
        make_app, hostile_folder, tmp_path, caplog):  # noqa: F811
    from desktop.errors import InternalError
    from desktop.reading.files import collect_images

    app = make_app()
    expected = collect_images([hostile_folder.root])
    before = fingerprint(case.path for case in hostile_folder.cases)
    caplog.set_level(logging.ERROR)

    drop(app, hostile_folder.root)
    wait_for(app, lambda: not app.state.pending, "finish the hostile batch", timeout_s=300)

    table = rows(app)
    assert len(table) == len(expected)
    for row in table:
        if row["status"] == "Classified" or row["status"].startswith("Unusual: "):
            continue
        # no verdict (not a chest X-ray, e.g. a colour picture) or an error: one sentence
        assert row["verdict"] in ("✕ Error", "⊘ No verdict"), row
        assert row["status"].endswith(".") and "Traceback" not in row["status"], row
        assert row["status"] != InternalError().user_message(), row
    by_path = {str(r.path): r for r in app.session.results.values()}
    refused_valid = [str(c.path) for c in hostile_folder.cases
                     if c.expect == OK and str(c.path) in by_path and not by_path[str(c.path)].ok]
    assert not refused_valid

    tree = app.table.tree
    for iid in tree.get_children():  # look at every row: preview, verdict, message
        tree.selection_set(iid)
        wait_for(app, lambda i=iid: str(getattr(app.state.selected, "key", None)) == i,
                 f"select row {iid}")
        assert app.pane.verdict_label.cget("text"), iid
        result = app.state.selected
        if result.ok:  # a batch keeps no images: the preview is read again, then shown
            wait_for(app, lambda r=result: r.preview_error or r.model_input is not None,
                     f"show the preview of {result.path.name}")
            assert result.preview_error is None, (str(result.path), str(result.preview_error))
            assert app.pane.preview.type("all") == "image", str(result.path)
            assert not app.pane.preview_note.winfo_ismapped(), str(result.path)
    app.show_heatmap.set(True)
    app.heatmap_toggled()
    for iid in tree.get_children()[:40]:  # with the heatmap on: each row's map is asked for
        tree.selection_set(iid)
        wait_for(app, lambda i=iid: str(getattr(app.state.selected, "key", None)) == i,
                 f"select row {iid}")
    last = app.state.selected
    if last.ok:
        wait_for(app, lambda: last.heatmap is not None or last.heatmap_error is not None
                 or last.preview_error is not None, "compute the last row's heatmap")

    assert not [r for r in caplog.records if r.getMessage() == CALLBACK_ERROR]
    assert app.status_label.cget("text") != InternalError().user_message()
    assert fingerprint(case.path for case in hostile_folder.cases) == before

    after = write_xray(tmp_path / "after.png", seed=5)
    drop(app, after)
    wait_for(app, lambda: not app.state.pending, "classify a file after the hostile batch")
    assert {r["file"]: r["status"] for r in rows(app)}["after.png"] == "Classified"


@pytest.mark.parametrize(
    "content",
    [
        '{"window_geometry": "not a geometry", "language": "es"}',
        '{"window_geometry": "99999x99999+-77777+88888"}',
        '{"operating_point": "no such preset", "threshold": 0.3}',
        '{"last_folder": "/no/such/folder", "show_heatmap": true}',
        "[" * 50_000 + "]" * 50_000,
    ],
    ids=["bad-geometry", "huge-geometry", "unknown-preset", "missing-folder", "deep-nesting"],
)
def test_the_window_opens_with_a_corrupt_settings_file(make_app, content, caplog):  # noqa: F811
    from desktop.settings import load_settings, settings_path

    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    caplog.set_level(logging.ERROR)
    app = make_app(load_settings())
    assert app.state.model_ready
    assert app.root.winfo_exists()
    assert not [r for r in caplog.records if r.getMessage() == CALLBACK_ERROR]
