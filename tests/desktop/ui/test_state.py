"""The window's state without a display: batches and Cancel, sorting and the table's order that
CSV export and the batch report follow, the status sentence, the selection and the images asked
of the worker, which commands are enabled, and the settings saved. A recording view stands in
for the window (``desktop.ui.state.View``), a recording worker for the threads."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest

from desktop import i18n
from desktop.engine.results import Result
from desktop.engine.scope import NOT_CHEST_XRAY, R_COLOUR, R_LATERAL, UNUSUAL, Reason, Scope
from desktop.errors import NotAnImageError
from desktop.reading.files import LISTED, NOT_IMAGE, Skipped
from desktop.settings import Settings
from desktop.ui import worker as messages
from desktop.ui.state import WindowState
from tests.support.model_fixtures import sample_metadata


class RecordingWorker:
    """What the state asks of the worker threads, recorded; nothing runs."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self._batches, self._jobs = itertools.count(1), itertools.count(1)
        self.reports: list = []

    def submit(self, paths, listed=frozenset()) -> int:
        self.calls.append(("submit", [p.name for p in paths]))
        self.listed = listed
        return next(self._batches)

    def cancel(self) -> None:
        self.calls.append(("cancel",))

    def cancel_report(self) -> None:
        self.calls.append(("cancel_report",))

    def request_preview(self, key, path, fingerprint, heatmap=False) -> None:
        self.calls.append(("preview", key, heatmap))

    def request_heatmap(self, key, model_input) -> None:
        self.calls.append(("heatmap", key))

    def start_report(self, content, path) -> int:
        self.reports.append(content)
        return next(self._jobs)


class RecordingView:
    """The window as the state sees it: rows by key in their order, the status line, the
    progress bar and Cancel, the threshold shown; selecting a row selects it in the state, as
    the table's <<TreeviewSelect>> does."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[tuple[str, str, str, str], str]] = {}
        self.order: list[int] = []
        self.sorted_by = None
        self.status = ""
        self.activity = None
        self.threshold = None
        self.points = None
        self.drawn = 0
        self.state: WindowState | None = None

    def put_row(self, key, values, tag) -> None:
        if key not in self.rows:
            self.order.append(key)
        self.rows[key] = (values, tag)

    def order_rows(self, keys, sorted_by) -> None:
        self.order, self.sorted_by = list(keys), sorted_by

    def clear_rows(self) -> None:
        self.rows.clear()
        self.order.clear()

    def select_row(self, key) -> None:
        self.state.select(key)

    def focus_table(self) -> None:
        pass

    def show_selected(self) -> None:
        self.drawn += 1

    def show_status(self) -> None:
        self.status = self.state.status()

    def show_activity(self) -> None:
        self.activity = (self.state.progress, self.state.busy)

    def show_threshold(self, threshold, preset) -> None:
        self.threshold = (threshold, preset)

    def set_operating_points(self, points) -> None:
        self.points = points

    def files(self) -> list[str]:
        return [self.rows[k][0][0] for k in self.order]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("en")


@pytest.fixture
def window():
    saved: list[Settings] = []
    view, worker = RecordingView(), RecordingWorker()
    state = WindowState(Settings(language="en"), worker, view,
                        save=lambda s: saved.append(Settings(**vars(s))))
    view.state = state
    state.saved = saved
    state.handle(messages.ModelReady(sample_metadata(), "ab" * 32))
    return state, view, worker


def result(name: str, p: float | None, error=None, scope=None) -> Result:
    return Result(Path(f"/ward/{name}"), p, error, fingerprint="f", scope=scope)


def run_batch(state, results, cancelled: bool = False, skipped: Skipped | None = None) -> int:
    """A batch as the worker reports it: started, one message per file, finished."""
    batch = state.open_paths([r.path for r in results] or [Path("/ward")])
    state.handle(messages.BatchStarted(batch, len(results), skipped or Skipped()))
    for r in results:
        state.handle(messages.Classified(batch, r))
    state.handle(messages.BatchFinished(batch, len(results), len(results), cancelled))
    return batch


def test_a_batch_fills_the_table_in_order_selects_its_first_row_and_says_the_counts(window):
    state, view, worker = window
    assert view.status == "Open or drop chest X-ray images to classify them."
    batch = state.open_paths([Path("/ward/b.png"), Path("/ward/a.png")])
    assert worker.calls[-1] == ("submit", ["b.png", "a.png"])
    assert view.activity == ((0, 1), True) and "cancel" in state.enabled()
    state.handle(messages.BatchStarted(batch, 2))
    assert view.status == "Classifying 0 of 2 files…"
    state.handle(messages.Classified(batch, result("b.png", 0.7)))
    assert view.status == "Classifying 1 of 2 files…" and view.activity == ((1, 2), True)
    assert state.selected.path.name == "b.png"  # the first row of a batch is shown at once
    state.handle(messages.Classified(batch, result("a.png", 0.2)))
    assert state.selected.path.name == "b.png"  # only the first
    state.handle(messages.BatchFinished(batch, 2, 2, False))
    assert view.files() == ["b.png", "a.png"] and state.order == [1, 2]
    assert view.rows[1] == (("b.png", "▲ PNEUMONIA", "0.700", "Classified"), "PNEUMONIA")
    assert view.rows[2] == (("a.png", "● NORMAL", "0.200", "Classified"), "NORMAL")
    assert view.status == ("2 files: 1 pneumonia, 1 normal, 0 not classified "
                           "(threshold 0.50).")
    assert view.activity == ((0, 2), False) and "cancel" not in state.enabled()
    assert state.saved[-1].last_folder == "/ward"


def test_cancel_stops_the_batch_and_says_how_far_it_got(window):
    state, view, worker = window
    batch = state.open_paths([Path("/ward")])
    state.handle(messages.BatchStarted(batch, 60))
    for i in range(3):
        state.handle(messages.Classified(batch, result(f"{i}.png", 0.5)))
    state.cancel()
    assert worker.calls[-1] == ("cancel",) and view.status == "Cancelling…"
    state.handle(messages.BatchFinished(batch, 3, 60, cancelled=True))
    assert view.status == "Cancelled after 3 of 60 files."
    assert len(view.rows) == 3 and not state.busy and "cancel" not in state.enabled()
    empty = state.open_paths([Path("/ward")])
    state.cancel()
    state.handle(messages.BatchFinished(empty, 0, 0, cancelled=True))
    assert view.status == "Cancelled."


def test_cancel_with_nothing_running_asks_nothing_of_the_worker(window):
    state, view, worker = window
    state.cancel()
    assert worker.calls == [] and view.status.startswith("Open or drop")


def test_sorting_orders_the_table_and_a_second_click_reverses_it_errors_last(window):
    state, view, _ = window
    run_batch(state, [result("b.png", 0.7), result("c.png", None, NotAnImageError()),
                      result("a.png", 0.2)])
    state.sort_by("file")
    assert view.files() == ["a.png", "b.png", "c.png"] and view.sorted_by == ("file", False)
    state.sort_by("file")
    assert view.files() == ["b.png", "a.png", "c.png"] and view.sorted_by == ("file", True)
    state.sort_by("p_pneumonia")
    assert view.files() == ["a.png", "b.png", "c.png"]
    assert state.order == view.order  # what export and the report read is what is shown


def test_a_sorted_table_sorts_again_when_a_batch_ends(window):
    state, view, _ = window
    state.sort_by("file")
    run_batch(state, [result("b.png", 0.7), result("a.png", 0.2)])
    assert view.files() == ["a.png", "b.png"]


def test_csv_export_follows_the_tables_order_and_says_where(window, tmp_path):
    state, view, _ = window
    run_batch(state, [result("b.png", 0.7), result("a.png", 0.2),
                      result("c.png", None, NotAnImageError())])
    state.sort_by("file")
    state.sort_by("file")
    out = tmp_path / "results.csv"
    assert state.export_csv(out)
    with open(out, newline="", encoding="utf-8") as fh:
        assert [r["file"] for r in csv.DictReader(fh)] == ["b.png", "a.png", "c.png"]
    assert view.status == f"Saved 3 results to results.csv in {tmp_path}."
    assert not state.export_csv(tmp_path / "no such folder" / "r.csv")
    assert view.status == ("The file r.csv could not be written. Choose another folder and "
                           "try again.")


def test_the_batch_report_follows_the_tables_order_with_progress_and_cancel(window, tmp_path):
    state, view, worker = window
    assert state.start_batch_report(tmp_path / "r.pdf", False) is None
    assert view.status == "There are no results to report yet."
    assert "save_batch_report" not in state.enabled()
    run_batch(state, [result("b.png", 0.7), result("a.png", 0.2)])
    state.sort_by("file")
    job = state.start_batch_report(tmp_path / "r.pdf", False)
    assert [e.name for e in worker.reports[-1].entries] == ["a.png", "b.png"]
    assert view.status == "Writing the report: 0 of 2 files…" and state.busy
    assert "save_batch_report" not in state.enabled()
    assert state.start_batch_report(tmp_path / "again.pdf", False) is None
    assert view.status == "A report is being written. Wait for it, or cancel it."
    state.handle(messages.ReportProgress(job, 1, 2))
    assert view.status == "Writing the report: 1 of 2 files…" and view.activity == ((1, 2), True)
    state.cancel()
    assert worker.calls[-1] == ("cancel_report",)
    state.handle(messages.ReportFinished(job, tmp_path / "r.pdf", cancelled=True))
    assert view.status == "Cancelled: no report was written." and not state.busy
    job = state.start_batch_report(tmp_path / "r.pdf", False)
    state.handle(messages.ReportFinished(job - 1, tmp_path / "old.pdf"))  # an old job: ignored
    assert state.report_job == job
    state.handle(messages.ReportFinished(job, tmp_path / "r.pdf", size=1000))
    assert view.status == f"Saved the report of 2 files to r.pdf in {tmp_path}."


def test_the_status_says_what_the_scan_skipped_and_follows_the_language(window):
    state, view, _ = window
    skipped = Skipped()
    for name in ("notes.txt", "report.pdf", "list.csv"):
        skipped.add(Path(name), NOT_IMAGE)
    run_batch(state, [result("a.png", 0.2)], skipped=skipped)
    assert view.status.endswith(" 3 files skipped: not images.")
    i18n.set_language("es")
    assert state.status().endswith(" 3 archivos omitidos: no son imágenes.")
    state.clear_results()
    assert view.rows == {} and state.order == [] and state.selected is None
    run_batch(state, [result("b.png", 0.2)])
    assert "omitidos" not in view.status  # a new run: the old skips are not told again


def test_a_folder_without_images_says_so(window):
    state, view, _ = window
    run_batch(state, [])
    assert view.status == ("No chest X-ray images were found there. Open JPEG, PNG, BMP, TIFF "
                           "or DICOM files.")


def test_a_model_that_fails_to_load_says_why(window):
    state, view, _ = window
    state.handle(messages.ModelFailed(NotAnImageError()))
    assert state.model_error is not None and view.status == NotAnImageError().user_message()


def test_the_threshold_relabels_flipped_rows_and_is_saved(window):
    state, view, _ = window
    run_batch(state, [result("a.png", 0.45), result("b.png", 0.9)])
    assert view.threshold == (0.5, "balanced") and view.points[0]["name"] == "balanced"
    state.set_threshold(0.4)
    assert view.rows[1][0][1] == "▲ PNEUMONIA" and view.threshold == (0.4, None)
    assert (state.saved[-1].threshold, state.saved[-1].operating_point) == (0.4, None)
    assert "(threshold 0.40)" in view.status
    state.choose_operating_point("high_sensitivity")
    assert view.threshold == (0.2, "high_sensitivity")
    assert state.saved[-1].operating_point == "high_sensitivity"


def test_selecting_a_row_asks_once_for_its_preview_and_with_the_heatmap_on_for_that_too(window):
    state, view, worker = window
    run_batch(state, [result("a.png", 0.2), result("b.png", 0.3)])
    assert worker.calls[-1] == ("preview", 1, False)  # the first row, selected by the batch
    state.select(2)
    state.select(2)
    assert [c for c in worker.calls if c[0] == "preview"] == [("preview", 1, False),
                                                               ("preview", 2, False)]
    state.set_heatmap(True)
    assert worker.calls[-1] == ("preview", 2, True) and state.saved[-1].show_heatmap is True
    drawn = view.drawn
    state.handle(messages.PreviewReady(2, object(), np.zeros((224, 224), np.uint8)))
    assert view.drawn == drawn + 1  # the selected result: drawn again
    state.handle(messages.PreviewReady(1, object(), np.zeros((224, 224), np.uint8)))
    assert view.drawn == drawn + 1  # another result's preview: nothing to draw
    state.handle(messages.HeatmapReady(2, np.zeros((224, 224))))
    assert view.drawn == drawn + 2 and state.selected.heatmap is not None
    state.select(None)
    assert state.selected is None and "save_report" not in state.enabled()


def test_no_heatmap_is_asked_for_an_image_without_a_verdict(window):
    state, _, worker = window
    photo = result("photo.jpg", 0.9, scope=Scope(NOT_CHEST_XRAY, Reason(R_COLOUR)))
    state.set_heatmap(True)
    run_batch(state, [photo])
    assert worker.calls[-1] == ("preview", 1, False)


def test_enabled_commands_follow_what_there_is(window):
    state, _, _ = window
    assert state.enabled() == set()
    run_batch(state, [result("a.png", 0.2)])
    assert state.enabled() == {"export_csv", "clear", "save_report", "save_batch_report"}
    state.open_paths([Path("/ward/b.png")])
    assert "cancel" in state.enabled()


def test_settings_are_saved_from_one_place(window):
    state, _, _ = window
    state.remember(save=False, heatmap_opacity=0.3)
    count = len(state.saved)
    state.remember(window_geometry="900x600")
    assert len(state.saved) == count + 1
    assert (state.saved[-1].heatmap_opacity, state.saved[-1].window_geometry) == (0.3, "900x600")
    state.set_language("pt_BR")
    assert state.saved[-1].language == "pt_BR" and i18n.current_language() == "pt_BR"


def test_the_state_needs_no_display():
    """Importing the state loads no Tk: it runs where there is no screen."""
    import subprocess
    import sys

    code = "import sys, desktop.ui.state; sys.exit('tkinter' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_a_file_already_listed_is_not_added_again_and_the_status_says_so(window, tmp_path):
    state, view, worker = window
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"x")
    first = Result(tmp_path / "a.png", 0.2, None, fingerprint="f")
    run_batch(state, [first])
    assert view.status.startswith("1 file: ")
    batch = state.open_paths([tmp_path])  # the folder, after one of its files
    assert str((tmp_path / "a.png").resolve()) in worker.listed  # the scan skips it
    skipped = Skipped()
    skipped.add(tmp_path / "a.png", LISTED)
    state.handle(messages.BatchStarted(batch, 1, skipped))
    assert view.status == "Adding to the list: 0 of 1 file classified…"
    state.handle(messages.Classified(batch, Result(tmp_path / "b.png", 0.3, None, fingerprint="f")))
    # a batch that ran meanwhile brings a.png again: it is not listed twice either
    state.handle(messages.Classified(batch, Result(tmp_path / "a.png", 0.2, None, fingerprint="f")))
    state.handle(messages.BatchFinished(batch, 2, 2, False))
    assert view.files() == ["a.png", "b.png"]
    assert view.status.startswith("2 files: ")
    assert view.status.endswith(" 2 files already in the list, not added again.")
    state.clear_results()
    state.open_paths([tmp_path])
    assert worker.listed == frozenset()  # a new list: everything is added again


def test_save_dialogs_start_beside_the_image_else_where_files_were_opened(window, tmp_path):
    import platformdirs

    state, _, _ = window
    # nothing opened yet: the documents folder (else home), never the program's own folder
    assert state.initial_dir() in (platformdirs.user_documents_dir(), str(Path.home()))
    (tmp_path / "ward").mkdir()
    state.open_paths([tmp_path / "ward"])
    assert state.initial_dir() == str(tmp_path / "ward")  # the folder opened
    (tmp_path / "other").mkdir()
    assert state.initial_dir(tmp_path / "other" / "x.png") == str(tmp_path / "other")
    assert state.initial_dir(tmp_path / "gone" / "x.png") == str(tmp_path / "ward")


def test_a_language_whose_catalog_is_missing_is_said_on_screen(window, tmp_path, monkeypatch):
    """An install without compiled catalogs: choosing Português shows English, and the status
    bar says why instead of a log line alone."""
    state, view, _ = window
    monkeypatch.setattr(i18n, "translations_dir", lambda: tmp_path)  # no catalogs there
    state.set_language("pt_BR")
    assert i18n.catalog_missing()
    assert view.status.startswith("Português (Brasil) is not installed here (its translation "
                                  "files are missing), so the window stays in English.")
    assert view.status.endswith("Open or drop chest X-ray images to classify them.")
    monkeypatch.undo()
    state.set_language("es")
    assert not i18n.catalog_missing() and "not installed" not in state.status()


def test_the_table_can_show_only_one_kind_of_row_and_export_still_takes_every_row(
        window, tmp_path):
    state, view, _ = window
    lateral = Scope(UNUSUAL, Reason(R_LATERAL))
    run_batch(state, [result("a.png", 0.2), result("lat.dcm", 0.3, scope=lateral),
                      result("dog.jpg", 0.9, scope=Scope(NOT_CHEST_XRAY, Reason(R_COLOUR))),
                      result("x.png", None, NotAnImageError()), result("b.png", 0.45)])
    shown = {"all": ["a.png", "lat.dcm", "dog.jpg", "x.png", "b.png"], "unusual": ["lat.dcm"],
             "withheld": ["dog.jpg"], "error": ["x.png"], "borderline": []}
    for name, files in shown.items():
        state.filter_rows(name)
        assert [state.session.results[k].path.name for k in view.order] == files, name
    state.set_threshold(0.4)  # b.png (0.45): PNEUMONIA though the model leans to normal
    assert [state.session.results[k].path.name for k in view.order] == ["b.png"]
    state.set_threshold(0.25)  # 0.3 and 0.45: PNEUMONIA though the model leans to normal
    assert [state.session.results[k].path.name for k in view.order] == ["lat.dcm", "b.png"]
    state.filter_rows("unusual")
    run_batch(state, [result("c.png", 0.1)])  # a new row of another kind stays hidden
    assert [state.session.results[k].path.name for k in view.order] == ["lat.dcm"]
    out = tmp_path / "all.csv"
    assert state.export_csv(out) and len(out.read_text().splitlines()) == 1 + 6


def banded_window(settings: Settings):
    """A state whose model card has a refer band from 0.40 to 0.60."""
    from desktop.referband import CARD_KEY, ReferBand

    saved: list[Settings] = []
    view, worker = RecordingView(), RecordingWorker()
    state = WindowState(settings, worker, view, save=lambda s: saved.append(Settings(**vars(s))))
    view.state = state
    card = sample_metadata()
    card[CARD_KEY] = ReferBand(t_low=0.4, t_high=0.6, n_normal=200, n_pneumonia=300).as_dict()
    state.handle(messages.ModelReady(card, "ab" * 32))
    return state, view, saved


def test_only_referred_shows_the_rows_inside_the_band_and_the_band_can_be_turned_off():
    state, view, saved = banded_window(Settings(language="en"))
    run_batch(state, [result("a.png", 0.1), result("b.png", 0.45), result("c.png", 0.55),
                      result("d.png", 0.9), result("x.png", None, error=NotAnImageError())])
    assert [v[1] for v in (view.rows[k] for k in view.order)] == [
        "NORMAL", "REFER", "REFER", "PNEUMONIA", "error"]
    state.filter_rows("referred")
    assert [state.session.results[k].path.name for k in view.order] == ["b.png", "c.png"]

    state.set_refer(False)  # View > Refer band off: the threshold (0.50) decides alone
    assert saved[-1].refer_band is False
    assert [view.rows[k][1] for k in sorted(view.rows)] == [
        "NORMAL", "NORMAL", "PNEUMONIA", "PNEUMONIA", "error"]
    assert view.order == []  # nothing is referred now
    state.set_refer(True)
    assert saved[-1].refer_band is True
    assert [state.session.results[k].path.name for k in view.order] == ["b.png", "c.png"]


def test_a_band_turned_off_stays_off_when_the_model_loads_again():
    state, view, _saved = banded_window(Settings(language="en", refer_band=False))
    assert state.session.policy.band is not None and state.session.band is None
    run_batch(state, [result("b.png", 0.45)])
    assert view.rows[view.order[0]][1] == "NORMAL"


def test_received_images_are_listed_like_opened_ones_and_said_with_their_sender(window):
    """Images the Storage SCP stored: the same worker and rows, the folder the file dialogs
    open left alone, the first selected only when nothing is, the sender named at the end."""
    state, view, worker = window
    run_batch(state, [result("opened.png", 0.2)])
    assert state.selected.path.name == "opened.png"
    saves = len(state.saved)
    received = [Path("/received/1.2.3.dcm"), Path("/received/1.2.4.dcm")]
    batch = state.receive(received, "MODALITY")
    assert worker.calls[-1] == ("submit", ["1.2.3.dcm", "1.2.4.dcm"])
    assert len(state.saved) == saves  # last_folder is where the user opens files: not saved
    state.handle(messages.BatchStarted(batch, 2))
    state.handle(messages.Classified(batch, Result(received[0], 0.8, None, fingerprint="f")))
    state.handle(messages.Classified(batch, Result(received[1], 0.1, None, fingerprint="f")))
    state.handle(messages.BatchFinished(batch, 2, 2, False))
    assert view.files() == ["opened.png", "1.2.3.dcm", "1.2.4.dcm"]
    assert state.selected.path.name == "opened.png"  # the reader is not taken away
    assert view.status == ("Received 2 images from MODALITY. 3 files: 1 pneumonia, 2 normal, "
                           "0 not classified (threshold 0.50).")
    assert [state.was_received(r) for r in state.session.results.values()] == [
        False, True, True]
    i18n.set_language("pt_BR")
    assert state.status().startswith("Recebidas 2 imagens de MODALITY. ")
    i18n.set_language("en")
    again = state.receive([received[0]], "MODALITY")  # sent twice: listed once, said so
    skipped = Skipped()
    skipped.add(received[0], LISTED)
    state.handle(messages.BatchStarted(again, 0, skipped))
    state.handle(messages.BatchFinished(again, 0, 0, False))
    assert view.status.startswith("Received 1 image from MODALITY. 3 files: ")
    assert view.status.endswith(" 1 file already in the list, not added again.")
    run_batch(state, [result("later.png", 0.2)])  # the next round says nothing received
    assert not view.status.startswith("Received")
    state.clear_results()
    batch = state.receive([Path("/received/1.2.5.dcm")], "MODALITY")
    state.handle(messages.Classified(batch, Result(Path("/received/1.2.5.dcm"), 0.8, None,
                                                   fingerprint="f")))
    assert state.selected.path.name == "1.2.5.dcm"  # nothing was selected: shown at once
