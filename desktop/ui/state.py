"""The window's running state, without Tk: what the window shows is decided here, and tested
without a display (``tests/desktop/ui/test_state.py``).

``WindowState`` holds the batches being classified (pending, progress, what the folder scans
skipped), the batch report being written, the selection and which images to ask the worker for,
the table's order (CSV export and the batch report read it from here, never from the widget),
the status sentence, which commands are enabled, and the settings, saved from one place. The
worker's messages arrive through ``handle``, a dispatch table by message type. The window
(``desktop.ui.app``) forwards user events here and renders what the state tells its ``View``;
the model of this split is napari's Qt-free ``ViewerModel`` under its Qt view.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from desktop import i18n
from desktop.engine.results import Result, write_csv
from desktop.engine.scope import UNUSUAL
from desktop.engine.session import Session, withheld
from desktop.engine.threshold import ThresholdPolicy
from desktop.errors import N_, UserError
from desktop.i18n import _, ngettext
from desktop.outcomes import Outcome
from desktop.reading.files import LISTED, Skipped
from desktop.reports.wording import describe
from desktop.settings import Settings, save_settings
from desktop.ui import worker as messages

Status = Callable[[], str]  # a status sentence, built again in the language shown
READY = lambda: _("Open or drop chest X-ray images to classify them.")  # noqa: E731
NO_CATALOG = N_("{language} is not installed here (its translation files are missing), so the "
                "window stays in English. Reinstall the application.")


def folder_of(path: Path) -> str:
    """The folder a file was saved in, as the status bar names it (where to find it)."""
    return str(Path(path).absolute().parent)


def _borderline(result: Result, session: Session) -> bool:
    """A verdict the threshold gave against the model's lean (confidence below even odds)."""
    confidence = session.confidence(result)
    return confidence is not None and confidence < 0.5


# The table's filters (View menu): which rows they show. They only hide rows: CSV export and the
# batch report take every row, in the table's order.
FILTERS: dict[str, Callable[[Result, Session], bool]] = {
    "all": lambda result, session: True,
    "unusual": lambda result, session: result.ok and result.scope is not None
    and result.scope.state == UNUSUAL,
    "withheld": lambda result, session: withheld(result),
    "borderline": _borderline,
    "referred": lambda result, session: session.outcome(result) is Outcome.REFER,
    "error": lambda result, session: not result.ok,
}


class View(Protocol):
    """What the state asks of the window; each method draws what the state now holds."""

    def put_row(self, key: int, values: tuple[str, str, str, str], tag: str) -> None: ...
    def order_rows(self, keys: list[int], sorted_by: tuple[str, bool] | None) -> None: ...
    def clear_rows(self) -> None: ...
    def select_row(self, key: int) -> None: ...
    def focus_table(self) -> None: ...
    def show_selected(self) -> None: ...
    def show_status(self) -> None: ...
    def show_activity(self) -> None: ...
    def show_threshold(self, threshold: float, preset: str | None) -> None: ...
    def set_operating_points(self, points: list[dict]) -> None: ...


class WindowState:
    """The window's state; ``view`` draws it, ``worker`` does the work, ``save`` keeps settings."""

    def __init__(self, settings: Settings, worker, view: View,
                 save: Callable[[Settings], None] = save_settings) -> None:
        self.settings, self.worker, self.view, self._save = settings, worker, view, save
        policy = ThresholdPolicy()  # until the model's card gives the operating points
        policy.restore(settings.threshold, None)
        self.session = Session(policy)
        self.card: dict | None = None
        self.model_error: UserError | None = None
        self.model_sha256 = ""
        self.model_ready = False
        self.pending: set[int] = set()
        self.batch_progress: tuple[int, int] = (0, 0)  # (done, total) of the running batch
        self.first_of_batch: set[int] = set()  # batches whose first row is not selected yet
        self.skipped = Skipped()  # what the folder scans of the running batches left out
        self.report_job: int | None = None  # the batch report being written
        self.report_progress: tuple[int, int] = (0, 0)
        self.progress: tuple[int, int] = (0, 1)  # the progress bar: (value, maximum)
        self.selected: Result | None = None
        self.show_heatmap = settings.show_heatmap
        self._asked: tuple[int, bool] | None = None  # (key, with heatmap) asked of the worker
        self.sort_state: tuple[str, bool] | None = None
        self.order: list[int] = []  # the table's rows, top to bottom
        self.row_filter = "all"  # which rows the table shows (one of FILTERS); all are exported
        self._listed: set[str] = set()  # real paths of the files listed: never listed twice
        self._received: set[str] = set()  # real paths of the files the Storage SCP received
        self.received_now: Counter[str] = Counter()  # this round's received images by sender
        self._adding = False  # the running batches add to a list that had results
        self._status: Status = lambda: _("Loading model…")
        # who else hears of a loaded model and of each result listed (the case history)
        self.on_model_ready: list[Callable[[], None]] = []
        self.on_added: list[Callable[[Result], None]] = []
        self._handlers: dict[type, Callable] = {
            messages.ModelReady: self._model_ready,
            messages.ModelFailed: self._model_failed,
            messages.BatchStarted: self._batch_started,
            messages.Classified: self._classified,
            messages.BatchFinished: self._batch_finished,
            messages.PreviewReady: self._preview_ready,
            messages.HeatmapReady: self._heatmap_ready,
            messages.ReportProgress: self._report_progress,
            messages.ReportFinished: self._report_finished,
        }

    # --- settings, status, what is enabled ------------------------------------------------

    def remember(self, save: bool = True, **values) -> None:
        """Set settings (``threshold=0.3``) and save them: the one place settings are saved."""
        for name, value in values.items():
            setattr(self.settings, name, value)
        if save:
            self._save(self.settings)

    def status(self) -> str:
        """The status bar's sentence, in the current language."""
        return self._status()

    def say(self, text: Status) -> None:
        """Show the status built by ``text`` (built again on a language switch)."""
        self._status = text
        self.view.show_status()

    @property
    def busy(self) -> bool:
        """A batch is being classified or a report written: Cancel is enabled."""
        return bool(self.pending) or self.report_job is not None

    def enabled(self) -> set[str]:
        """The commands that would do something now (the others explain why not)."""
        have = bool(self.session.results)
        return {name for name, on in (
            ("cancel", self.busy), ("export_csv", have), ("clear", have),
            ("save_report", self.selected is not None),
            ("save_batch_report", have and self.report_job is None)) if on}

    def initial_dir(self, beside: Path | None = None) -> str | None:
        """Where a file dialog starts: the folder of ``beside`` (the image a report is of),
        else the folder files were last opened from, else the user's documents folder (Tk's
        default, the program's own folder, is no place for a person's files)."""
        import platformdirs

        for folder in (beside.parent if beside is not None else None, self.settings.last_folder,
                       platformdirs.user_documents_dir(), Path.home()):
            if folder and Path(folder).is_dir():
                return str(folder)
        return None

    def set_language(self, code: str) -> None:
        i18n.set_language(code)
        self.remember(language=code)
        if i18n.catalog_missing():
            self.say(self._ready_text)

    def _ready_text(self) -> str:
        """"Open or drop…", after the sentence saying a chosen language is missing."""
        missing = _(NO_CATALOG).format(language=i18n.LANGUAGES[i18n.current_language()])
        return " ".join(([missing] if i18n.catalog_missing() else []) + [READY()])

    # --- batches ----------------------------------------------------------------------------

    def open_paths(self, paths: list[str | Path]) -> int | None:
        """Classify files and folders (dialog, drop, command line); returns the batch number."""
        paths = [Path(p) for p in paths if str(p)]
        if not paths:
            return None
        first = paths[0].absolute()
        self.remember(last_folder=str(first if first.is_dir() else first.parent))
        return self._submit(paths, select_first=True)

    def receive(self, paths: list[Path], sender: str) -> int | None:
        """Images the Storage SCP stored (``desktop.ui.listen_link``), from the AE titled
        ``sender``: classified as opened files are (the same worker, rows, verdicts and
        recording), without moving the folder the file dialogs open, and selected only when
        no row is (a person reading another image is not taken away from it). The round's
        final status says how many arrived from whom."""
        if not paths:
            return None
        self._received.update(os.path.realpath(p) for p in paths)
        batch = self._submit([Path(p) for p in paths], select_first=self.selected is None)
        self.received_now[sender] += len(paths)
        return batch

    def was_received(self, result: Result) -> bool:
        """Whether ``result``'s file came from the Storage SCP (the history's origin, and
        "Send each result back to the archive")."""
        return os.path.realpath(result.path) in self._received

    def _submit(self, paths: list[Path], *, select_first: bool) -> int:
        if not self.pending:  # a new round: what the last one skipped and received is said
            self.skipped = Skipped()
            self.received_now = Counter()
            self._adding = bool(self.session.results)
        batch = self.worker.submit(paths, listed=frozenset(self._listed))
        self.pending.add(batch)
        if select_first:
            self.first_of_batch.add(batch)
        self.view.show_activity()
        if not self.model_ready and self.model_error is None:
            self.say(lambda: _("Loading model…"))
        return batch

    def show_listed(self, path: str | Path) -> bool:
        """Select and show the row of ``path`` when that file is listed already (History → Open
        case): opening it again finds nothing new to list, and said "No chest X-ray images were
        found there". False when it is not listed."""
        real = os.path.realpath(path)
        key = next((k for k, r in self.session.results.items()
                    if os.path.realpath(r.path) == real), None)
        if key is None:
            return False
        if key not in self.visible():
            self.filter_rows("all")
        self.view.select_row(key)
        self.select(key)
        return True

    def cancel(self) -> None:
        """Stop the running batch, and the batch report being written."""
        if self.report_job is not None:
            self.worker.cancel_report()
            self.say(lambda: _("Cancelling…"))
        if self.pending:
            self.worker.cancel()
            self.say(lambda: _("Cancelling…"))

    def clear_results(self) -> None:
        self.session.clear()
        self.skipped = Skipped()
        self._asked = None
        self.order = []
        self._listed.clear()
        self.view.clear_rows()
        self.select(None)
        self.say(READY)

    def handle(self, message) -> None:
        """One message from the worker, to the method for its type."""
        self._handlers[type(message)](message)

    def _model_ready(self, message: messages.ModelReady) -> None:
        """The card's operating points, and the threshold the user chose last time (a preset of
        this card at its exact value, else the saved custom value, else the card's default)."""
        self.model_ready, self.card, self.model_sha256 = True, message.card, message.sha256
        policy = ThresholdPolicy.from_card(self.card)
        policy.restore(self.settings.threshold, self.settings.operating_point)
        policy.refer = self.settings.refer_band  # the band turned off stays off
        flipped = self.session.set_policy(policy)
        self.view.set_operating_points(policy.points)
        self._threshold_changed(flipped, save=False)
        if not self.pending:
            self.say(self._ready_text)
        for listener in self.on_model_ready:
            listener()

    def _model_failed(self, message: messages.ModelFailed) -> None:
        self.model_error = message.error
        self.say(message.error.user_message)

    def _batch_started(self, message: messages.BatchStarted) -> None:
        self.skipped.extend(message.skipped)
        self.batch_progress = (0, message.total)
        self.progress = (0, max(message.total, 1))
        self.view.show_activity()
        self.say(self._progress_text)

    def _classified(self, message: messages.Classified) -> None:
        real = os.path.realpath(message.result.path)
        if real in self._listed:  # listed by a batch that ran meanwhile: not added twice
            self.skipped.add(message.result.path, LISTED)
        else:
            self._listed.add(real)
            self._add(message)
        done, total = self.batch_progress
        self.batch_progress = (done + 1, total)
        self.progress = (done + 1, self.progress[1])
        self.view.show_activity()
        self.say(self._progress_text)

    def _add(self, message: messages.Classified) -> None:
        result = self.session.add(message.result)
        self.order.append(result.key)
        self.put_row(result)
        for listener in self.on_added:
            listener(result)
        if self.row_filter != "all":
            self.view.order_rows(self.visible(), self.sort_state)
        if message.batch in self.first_of_batch:
            self.first_of_batch.discard(message.batch)
            self.view.select_row(result.key)

    def _batch_finished(self, message: messages.BatchFinished) -> None:
        self.pending.discard(message.batch)
        self.first_of_batch.discard(message.batch)
        if self.pending:
            return
        if self.report_job is None:
            self.progress = (0, self.progress[1])
        self.view.show_activity()
        if self.sort_state:
            self._apply_sort()
        if message.error is not None:
            self.say(message.error.user_message)
        elif message.cancelled and message.total == 0:
            self.say(lambda: _("Cancelled."))
        elif message.cancelled:
            done, total = message.done, message.total
            self.say(lambda: ngettext("Cancelled after {done} of {total} file.",
                                      "Cancelled after {done} of {total} files.",
                                      total).format(done=done, total=total))
        elif message.total == 0 and not self.received_now:
            self.say(lambda: self._with_skipped(_(
                "No chest X-ray images were found there. "
                "Open JPEG, PNG, BMP, TIFF or DICOM files.")))
        else:
            received = dict(self.received_now)
            self.say(lambda: " ".join([*(ngettext(
                "Received {count} image from {sender}.", "Received {count} images from {sender}.",
                count).format(count=count, sender=sender) for sender, count in received.items()),
                self._with_skipped(self.session.summary())]))
        if not self.received_now:  # an image that arrives never takes the keyboard's focus
            self.view.focus_table()

    def _progress_text(self) -> str:
        """"Classifying 3 of 10 files…", or, when the list had results, that they are added."""
        done, total = self.batch_progress
        if self._adding:
            text = ngettext("Adding to the list: {done} of {total} file classified…",
                            "Adding to the list: {done} of {total} files classified…", total)
        else:
            text = ngettext("Classifying {done} of {total} file…",
                            "Classifying {done} of {total} files…", total)
        return text.format(done=done, total=total)

    def _with_skipped(self, text: str) -> str:
        """``text``, then what the folder scans skipped ("3 files skipped: not images.")."""
        return " ".join(part for part in (text, self.skipped.summary()) if part)

    # --- the table ----------------------------------------------------------------------------

    def row(self, result: Result) -> tuple[tuple[str, str, str, str], str]:
        """A result's row (file, verdict, P, status) and its colour tag."""
        words = describe(result, self.session)
        tag = "withheld" if withheld(result) else self.session.verdict(result) or "error"
        return (result.path.name, words.table_verdict, words.probability, words.status), tag

    def put_row(self, result: Result) -> None:
        self.view.put_row(result.key, *self.row(result))

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; a second click on the same column reverses the order."""
        same = self.sort_state is not None and self.sort_state[0] == column
        self.sort_state = (column, not self.sort_state[1] if same else False)
        self._apply_sort()

    def _apply_sort(self) -> None:
        self.order = self.session.sorted_keys(*self.sort_state)
        self.view.order_rows(self.visible(), self.sort_state)

    def visible(self) -> list[int]:
        """The rows the table shows now, in its order (the filter applied)."""
        keep = FILTERS[self.row_filter]
        return [k for k in self.order if keep(self.session.results[k], self.session)]

    def filter_rows(self, name: str) -> None:
        """Show only the rows of one kind (``FILTERS``); "all" shows every row again."""
        self.row_filter = name if name in FILTERS else "all"
        self.view.order_rows(self.visible(), self.sort_state)

    def export_csv(self, path: Path) -> bool:
        """Write the table (in its current order) as CSV, atomically: the same writer and rows
        as ``predict --csv``."""
        try:
            write_csv(path, self.session.rows(self.order))
        except UserError as error:
            self.say(error.user_message)
            return False
        count = len(self.order)
        self.say(lambda: _("Saved {count} results to {name} in {folder}.").format(
            count=count, name=path.name, folder=folder_of(path)))
        return True

    # --- the threshold ------------------------------------------------------------------------

    def slide_threshold(self, value: float) -> None:
        """The slider moved: a custom threshold, in hundredths."""
        self._threshold_changed(self.session.slide(value))

    def step_threshold(self, delta: float) -> None:
        self._threshold_changed(self.session.step(delta))

    def choose_operating_point(self, name: str) -> None:
        """A preset of the card at its exact threshold; ``""`` ("Custom") keeps the value."""
        if self.session.policy.point(name) is not None:
            flipped = self.session.choose_preset(name)
        else:
            flipped = self.session.set_threshold(self.session.threshold)
        self._threshold_changed(flipped)

    def set_refer(self, on: bool) -> None:
        """View > Refer band: the band decides (where the model or profile has one), or the
        threshold alone; the rows whose answer changed are labelled again, the choice saved."""
        self.remember(refer_band=bool(on))
        self._threshold_changed(self.session.set_refer(on), save=False)

    def set_threshold(self, threshold: float) -> None:
        """A custom threshold, exact (as ``predict --threshold`` takes it)."""
        self._threshold_changed(self.session.set_threshold(threshold))

    def apply_profile(self, path: str | Path | None):
        """Put the site profile at ``path`` in force (None: none), through the one function
        the command line uses too (``desktop.cases.profile.apply_profile``); the status says
        which profile is in force and at which threshold (and, for a version-1 profile, that it
        has no refer band), or why it is not applied. Returns
        what was applied (``desktop.cases.profile.Applied``)."""
        from desktop.cases.profile import apply_profile, in_force_sentence

        applied = apply_profile(self.session, path, self.model_sha256)
        self.site_changed(applied.flipped)
        site = self.session.site
        if applied.problem is not None:
            self.say(applied.problem.user_message)
        elif site is not None:
            in_force = in_force_sentence(site, self.session.threshold)
            notice = applied.notice  # a version-1 profile: no refer band, its threshold decides
            self.say(in_force.user_message if notice is None else
                     lambda: f"{in_force.user_message()} {notice.user_message()}")
        return applied

    def site_changed(self, flipped: list[Result]) -> None:
        """A site profile was applied or dropped: P changed on every row, not only on the
        flipped verdicts, and the operating points moved to its scale (or back)."""
        self.view.set_operating_points(self.session.policy.points)
        for result in self.session.results.values():
            self.put_row(result)
        self._threshold_changed(flipped, save=False)

    def _threshold_changed(self, flipped: list[Result], save: bool = True) -> None:
        """Show the session's threshold and re-label the rows whose verdict flipped (a row
        depends on the threshold only through its verdict; no model re-run)."""
        policy = self.session.policy
        self.view.show_threshold(policy.threshold, policy.preset)
        for result in flipped:
            self.put_row(result)
        if flipped and self.row_filter != "all":
            self.view.order_rows(self.visible(), self.sort_state)
        self.view.show_selected()
        if not self.pending and self.session.results:
            self.say(lambda: self._with_skipped(self.session.summary()))
        if save:
            self.remember(threshold=policy.threshold, operating_point=policy.preset)

    # --- selection and the images asked of the worker -----------------------------------------

    def select(self, key: int | None) -> None:
        if self.selected is None or self.selected.key != key:
            self._asked = None  # a new selection asks the worker afresh
        self.selected = self.session.select(key)
        self._request_images()
        self.view.show_selected()

    def set_heatmap(self, on: bool) -> None:
        self.show_heatmap = on
        self.remember(show_heatmap=on)
        self._request_images()
        self.view.show_selected()

    def _request_images(self) -> None:
        """Ask the worker, once per selection, for what the selected result lacks: its preview
        (read from disk again: a batch keeps no images) and, with the heatmap on, its heatmap."""
        result = self.selected
        if result is None or not result.ok or result.preview_error is not None:
            return
        heat = self.show_heatmap and result.heatmap is None \
            and result.heatmap_error is None and not withheld(result)
        asked = self._asked if self._asked and self._asked[0] == result.key else None
        if self.session.needs_preview(result):
            if asked is None or (heat and not asked[1]):
                self.worker.request_preview(result.key, result.path, result.fingerprint,
                                            heatmap=heat)
                self._asked = (result.key, heat)
        elif heat and asked != (result.key, True):
            self.worker.request_heatmap(result.key, result.model_input)
            self._asked = (result.key, True)

    def _preview_ready(self, message: messages.PreviewReady) -> None:
        result = self.session.preview_ready(message.key, message.preview, message.model_input,
                                            message.error, display=message.display)
        if result is not None and result is self.selected:
            self._request_images()
            self.view.show_selected()

    def _heatmap_ready(self, message: messages.HeatmapReady) -> None:
        result = self.session.heatmap_ready(message.key, message.heatmap, message.error)
        if result is not None and result is self.selected:
            self.view.show_selected()

    # --- the batch report -------------------------------------------------------------------

    def batch_report_refused(self) -> bool:
        """True (and the status says why) when no batch report can start now."""
        if not self.session.results:
            self.say(lambda: _("There are no results to report yet."))
        elif self.report_job is not None:
            self.say(lambda: _("A report is being written. Wait for it, or cancel it."))
        else:
            return False
        return True

    def start_batch_report(self, path: Path, show_identifiers: bool) -> int | None:
        """Every row of the table, in its order, as a PDF written on a worker thread (each file
        is read again for its thumbnail), with progress and Cancel; returns the job number."""
        from desktop.reports.content import batch_report

        if self.batch_report_refused():
            return None
        content = batch_report([self.session.results[k] for k in self.order], self.session,
                               self.card, self.model_sha256, show_identifiers=show_identifiers)
        self.report_job = self.worker.start_report(content, Path(path))
        self.report_progress = (0, len(self.order))
        self.progress = (0, max(len(self.order), 1))
        self.view.show_activity()
        self.say(self._report_progress_text)
        return self.report_job

    def _report_progress_text(self) -> str:
        done, total = self.report_progress
        return ngettext("Writing the report: {done} of {total} file…",
                        "Writing the report: {done} of {total} files…", total).format(
            done=done, total=total)

    def _report_progress(self, message: messages.ReportProgress) -> None:
        if message.job == self.report_job:
            self.report_progress = (message.done, message.total)
            self.progress = (message.done, self.progress[1])
            self.view.show_activity()
            self.say(self._report_progress_text)

    def _report_finished(self, message: messages.ReportFinished) -> None:
        if message.job != self.report_job:
            return
        self.report_job = None
        if not self.pending:
            self.progress = (0, self.progress[1])
        self.view.show_activity()
        name, total, folder = message.path.name, self.report_progress[1], folder_of(message.path)
        if message.error is not None:
            self.say(message.error.user_message)
        elif message.cancelled:
            self.say(lambda: _("Cancelled: no report was written."))
        else:
            self.say(lambda: ngettext(
                "Saved the report of {count} file to {name} in {folder}.",
                "Saved the report of {count} files to {name} in {folder}.", total).format(
                count=total, name=name, folder=folder))
