"""The window's link to the case history and the site profile: every result shown is recorded
on a background thread (hashing and writing never run on the Tk thread), the active site profile
is applied when the model is ready (or the user is told why not), and the Cases menu's views are
opened from here. ``desktop.ui.app`` holds one ``HistoryLink`` and calls it from a few hooks.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from desktop.cases.profile import SiteProfile, in_force_sentence, interval_text
from desktop.cases.recorder import Recorder
from desktop.cases.teaching import LABELLED_FOLDER, folder_label
from desktop.engine.results import Result
from desktop.errors import Sentence
from desktop.i18n import _, class_name
from desktop.ui.cases_context import CasesContext

log = logging.getLogger(__name__)



class HistoryLink:
    """Records the window's results and keeps the site profile in force."""

    def __init__(self, app, db_path: Path | None = None) -> None:
        self.app = app
        self.db_path = db_path
        self.profile: SiteProfile | None = None
        self.problem: Sentence | None = None  # why the chosen profile is not applied
        self.notices: list[Sentence] = []  # what the recorder had to say (shown once each)
        self._jobs: queue.Queue = queue.Queue()
        self.recorder = Recorder(db_path, notify=self._notify)
        self._thread = threading.Thread(target=self._record_loop, name="cxr-history",
                                        daemon=True)
        self._thread.start()
        self.history_view = None
        self.calibration_view = None
        self.monitoring_view = None
        self.teaching_view = None

    # --- recording ------------------------------------------------------------------------

    def classified(self, result: Result) -> None:
        """A result was added to the window's session: record it as the table labels it."""
        if not result.ok:
            return
        row = self.app.session.row(result)
        card = self.app.state.card or {}
        # an image the Storage SCP received is recorded here too, once, as received
        origin = "dicom-listen" if self.app.state.was_received(result) else "window"
        self._jobs.put((row, result, self.app.state.model_sha256, card.get("model_version"),
                        origin))

    def recording(self) -> bool:
        """Whether results are still being recorded (not once the history could not be
        written, or is read-only): the engine need not hash files nobody will record."""
        return not self.recorder.stopped

    def _record_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                break
            row, result, sha, version, origin = job
            try:
                if self.recorder.record_row(row, result, model_sha256=sha,
                                            model_version=version, origin=origin):
                    label = folder_label(result.path)  # a teacher's NORMAL/ PNEUMONIA/ folder
                    if label is not None:
                        self.recorder.store.confirm_unless_set(
                            self.recorder.last_case_id, label, how=LABELLED_FOLDER)
            except Exception:  # noqa: BLE001 - recording never stops the window
                log.exception("Recording %s failed", result.path)
            finally:
                self._jobs.task_done()

    def wait_recorded(self, timeout: float = 30.0) -> bool:
        """Block until every queued result is written (tests, closing)."""
        done = threading.Event()
        threading.Thread(target=lambda: (self._jobs.join(), done.set()), daemon=True).start()
        return done.wait(timeout)

    def _notify(self, sentence: Sentence) -> None:
        """From the recording thread: the window shows it in the status bar, once."""
        self.notices.append(sentence)
        try:
            self.app.root.after(0, lambda: self.app.state.say(sentence.user_message))
        except RuntimeError:  # the window is closing
            pass

    # --- the site profile -----------------------------------------------------------------

    def model_ready(self) -> None:
        """Apply the settings' active profile to the session if it fits this model file."""
        self.apply_profile(self.app.settings.site_profile)

    def apply_profile(self, path: str | Path | None) -> None:
        """The window's state applies it (``WindowState.apply_profile``, the command line's
        function); kept here for the About box."""
        applied = self.app.state.apply_profile(path)
        self.profile, self.problem = applied.profile, applied.problem

    def profile_lines(self) -> list[str]:
        """The profile in force, for the About box."""
        if self.problem is not None:
            return [self.problem.user_message()]
        if self.profile is None:
            return [_("None: the model's own calibration and thresholds apply.")]
        site = self.profile.calibration
        lines = [in_force_sentence(site, site.threshold).user_message(),
            _("Fitted on {created} on {normal} {normal_name} and {pneumonia} {pneumonia_name} "
              "cases.").format(
                normal_name=class_name("NORMAL"), pneumonia_name=class_name("PNEUMONIA"),
                created=self.profile.created[:10], normal=self.profile.cases.get("NORMAL", "?"),
                pneumonia=self.profile.cases.get("PNEUMONIA", "?"))]
        if self.profile.notice is not None:  # a version-1 profile: no refer band
            lines.append(self.profile.notice.user_message())
        if site.sensitivity and site.specificity:
            lines.append(_("Sensitivity {sensitivity}, specificity {specificity} (95% CI).").format(
                sensitivity=interval_text(site.sensitivity),
                specificity=interval_text(site.specificity)))
        return lines

    # --- the Cases menu -------------------------------------------------------------------

    def show_history(self) -> None:
        from desktop.ui.history_view import HistoryView

        self._show("history_view", HistoryView)

    def show_calibration(self) -> None:
        from desktop.ui.calibration_view import CalibrationView

        self._show("calibration_view", CalibrationView)

    def show_monitoring(self) -> None:
        from desktop.ui.monitoring_view import MonitoringView

        self._show("monitoring_view", MonitoringView)

    def show_teaching(self) -> None:
        from desktop.ui.teaching_view import TeachingView

        self._show("teaching_view", TeachingView)

    def _show(self, attribute: str, view_class) -> None:
        """Bring the view forward if it is open, else open it."""
        view = getattr(self, attribute)
        if view is not None and view.winfo_exists():
            view.lift()
            return
        setattr(self, attribute, view_class(CasesContext.of(self.app, self), self.db_path))

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=5.0)
        self.recorder.close()
