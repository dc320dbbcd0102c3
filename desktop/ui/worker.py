"""The window's background threads: they load the model, classify batches, read the selected
result's preview and heatmap and write batch reports, and post messages to a ``queue.Queue``
that the Tk thread drains with ``after()``. Nothing here touches Tk; nothing in the window runs
the model.
"""

from __future__ import annotations

import functools
import itertools
import logging
import queue
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from desktop.engine.results import Result, read_again
from desktop.errors import (
    N_,
    InternalError,
    ModelError,
    ReadError,
    UserError,
)
from desktop.reading.files import Skipped

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 720  # enough for the preview pane; ~0.5 MB per image held


# --- Messages from the worker to the Tk thread -------------------------------------------------


@dataclass
class ModelReady:
    card: dict
    sha256: str = ""


@dataclass
class ModelFailed:
    error: UserError


@dataclass
class BatchStarted:
    batch: int
    total: int
    skipped: Skipped = field(default_factory=Skipped)  # what the folder scan left out, and why


@dataclass
class Classified:
    """One file of a batch. Only a one-file batch keeps its images (opening one X-ray shows it
    without a second read); a longer batch's results carry the fingerprint alone."""

    batch: int
    result: Result


@dataclass
class BatchFinished:
    batch: int
    done: int
    total: int
    cancelled: bool
    error: UserError | None = None


@dataclass
class PreviewReady:
    """A result's image read again for the preview pane, or the reason it cannot be shown."""

    key: int
    preview: object = field(repr=False)  # PIL image or None
    model_input: np.ndarray | None = field(repr=False)
    error: UserError | None = None
    display: object = field(default=None, repr=False)  # imaging.DisplayBuffer or None


@dataclass
class HeatmapReady:
    key: int
    heatmap: np.ndarray | None = field(repr=False)
    error: UserError | None = None


@dataclass
class ReportProgress:
    """A batch report has read ``done`` of its ``total`` files again (for their thumbnails)."""

    job: int
    done: int
    total: int


@dataclass
class ReportFinished:
    """A batch report is written (``size`` bytes), was cancelled (nothing written) or failed."""

    job: int
    path: Path
    size: int | None = None
    cancelled: bool = False
    error: UserError | None = None


class ModelNotLoaded(ModelError):
    """A batch or heatmap was asked for while the model could not be loaded."""

    message = N_("No model is loaded, so nothing can be classified. Reinstall the application.")


def as_user_error(exc: BaseException) -> UserError:
    """What the user is told about ``exc``: its own sentence, or the generic one (logged)."""
    if isinstance(exc, UserError):
        return exc
    log.error("unexpected failure on the worker thread", exc_info=exc)
    return InternalError()


class Worker:
    """Loads the model and runs predictions on background threads, posting to ``inbox``.

    One thread runs batches in the order they were submitted; a second one serves the selected
    result (its preview read again from disk, its Grad-CAM heatmap), so the result pane never
    waits behind a 200-file batch. Only the latest such request counts (arrowing through the
    table skips the stale ones).
    """

    def __init__(self, model_path: Path | None, inbox: queue.Queue) -> None:
        self.model_path = model_path
        self.inbox = inbox
        self.engine = None
        self.load_error: UserError | None = None
        self._ready = threading.Event()
        self._jobs: queue.Queue = queue.Queue()
        self._cancels: dict[int, threading.Event] = {}  # batch -> its cancel flag, until done
        self._view_lock = threading.Condition()
        self._view_request: Callable[[], None] | None = None  # the latest; older ones dropped
        self._stopping = False
        self._batches = itertools.count(1)
        # Whether each file read is also identified (its sha256, in the lanes) for the case
        # history: the window turns it off while the history is not recording.
        self.identify: Callable[[], bool] = lambda: True
        self._reports = itertools.count(1)
        self._report_cancel: threading.Event | None = None  # of the report being written
        self._threads = [
            threading.Thread(target=self._run_batches, name="cxr-worker", daemon=True),
            threading.Thread(target=self._run_view_requests, name="cxr-view", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, paths: Iterable[str | Path], listed: Collection[str] = ()) -> int:
        """Queue a batch (files and folders); returns its number. Does not block. Files whose
        real path is in ``listed`` are skipped (the window lists them already)."""
        batch = next(self._batches)
        self._cancels[batch] = threading.Event()
        self._jobs.put((batch, [Path(p) for p in paths], frozenset(listed)))
        return batch

    def cancel(self) -> None:
        """Stop the running batch and the queued ones (results so far are kept)."""
        for flag in list(self._cancels.values()):
            flag.set()

    def request_preview(
        self, key: int, path: Path, expected: str | None, *, heatmap: bool = False
    ) -> None:
        """Read ``path`` again for the preview pane (posts ``PreviewReady``); with ``heatmap``,
        then its heatmap too. ``expected`` is the fingerprint of the input classified."""
        self._request(functools.partial(self._read_preview, key, Path(path), expected, heatmap))

    def request_heatmap(self, key: int, model_input: np.ndarray) -> None:
        """Compute the heatmap of an image in memory (posts ``HeatmapReady``)."""
        # a writable copy: torch warns on read-only arrays
        self._request(functools.partial(
            self._compute_heatmap, key, np.array(model_input, dtype=np.uint8)))

    def _request(self, job: Callable[[], None]) -> None:
        """Replace the pending view request: the user has moved on from the older one."""
        with self._view_lock:
            self._view_request = job
            self._view_lock.notify()

    def start_report(self, report, path: Path) -> int:
        """Write a batch report (``desktop.reports.content.BatchReport``) to ``path`` on a thread of
        its own: it re-reads every file for its thumbnail, posting ``ReportProgress``, then
        ``ReportFinished``. Returns the job's number; ``cancel_report()`` stops it."""
        job = next(self._reports)
        cancel = threading.Event()
        self._report_cancel = cancel
        threading.Thread(target=self._write_report, args=(job, report, Path(path), cancel),
                         name="cxr-report", daemon=True).start()
        return job

    def cancel_report(self) -> None:
        if self._report_cancel is not None:
            self._report_cancel.set()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask both threads to finish; waits briefly (they are daemons, so exit never hangs)."""
        self._stopping = True
        self.cancel_report()
        self.cancel()
        self._jobs.put((None, None, None))
        with self._view_lock:
            self._view_lock.notify()
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout)

    # --- on the worker threads ---

    def _load(self) -> None:
        from desktop.engine.inference import Engine
        from desktop.modelfile import default_model_path

        try:
            self.engine = Engine.load(self.model_path or default_model_path())
        except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
            self.load_error = as_user_error(exc)
            log.error("The model could not be loaded: %s", self.load_error)
            self.inbox.put(ModelFailed(self.load_error))
        else:
            self.inbox.put(ModelReady(self.engine.metadata, self.engine.sha256))
        finally:
            self._ready.set()

    def _run_batches(self) -> None:
        self._load()
        while True:
            batch, paths, listed = self._jobs.get()
            if batch is None or self._stopping:
                return
            cancel = self._cancels[batch]
            try:
                if cancel.is_set():
                    self.inbox.put(BatchFinished(batch, 0, 0, cancelled=True))
                else:
                    self._run_batch(batch, paths, cancel, listed)
            finally:
                self._cancels.pop(batch, None)

    def _run_batch(self, batch: int, paths: list[Path], cancel: threading.Event,
                   listed: frozenset[str] = frozenset()) -> None:
        from desktop.reading.files import scan

        done = total = 0
        try:
            found = scan(paths, listed)
            files, total = found.files, len(found.files)
            self.inbox.put(BatchStarted(batch, total, found.skipped))
            if self.engine is None:
                raise ModelNotLoaded() if self.load_error is None else self.load_error
            single = len(files) == 1  # opening one X-ray: keep its images, no second read
            results = self.engine.predict_paths(
                files, cancel=cancel, preview_size=PREVIEW_MAX_SIDE if single else None,
                identify=self.identify(),  # the case history's key, taken in the lanes
            )
            for result in results:
                if not single:
                    result.drop_images()
                self.inbox.put(Classified(batch, result))
                done += 1
                if cancel.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
            self.inbox.put(BatchFinished(batch, done, total, False, as_user_error(exc)))
            return
        self.inbox.put(BatchFinished(batch, done, total, cancelled=done < total))

    def _run_view_requests(self) -> None:
        """The selected result's preview and heatmap, one request at a time, the latest only."""
        self._ready.wait()
        while True:
            with self._view_lock:
                while self._view_request is None and not self._stopping:
                    self._view_lock.wait()
                if self._stopping:
                    return
                job, self._view_request = self._view_request, None
            job()

    def _superseded(self) -> bool:
        with self._view_lock:
            return self._view_request is not None or self._stopping

    def _read_preview(self, key: int, path: Path, expected: str | None, heatmap: bool) -> None:
        """Re-read a file for its preview; a file that no longer gives the classified input is
        reported as changed, never shown as if it were the image classified."""
        try:
            xray = read_again(path, expected, PREVIEW_MAX_SIDE)
        except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
            if isinstance(exc, ReadError):
                log.info("No preview for %s: %s", path, exc)
            self.inbox.put(PreviewReady(key, None, None, as_user_error(exc)))
            return
        self.inbox.put(PreviewReady(key, xray.preview, xray.model_input, display=xray.display))
        if heatmap and not self._superseded():
            self._compute_heatmap(key, np.array(xray.model_input, dtype=np.uint8))

    def _write_report(self, job: int, report, path: Path, cancel: threading.Event) -> None:
        from desktop.reports.pdf import save_batch

        def progress(done: int, total: int) -> None:
            self.inbox.put(ReportProgress(job, done, total))

        try:
            size = save_batch(path, report, progress=progress, cancel=cancel)
        except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
            self.inbox.put(ReportFinished(job, path, error=as_user_error(exc)))
            return
        self.inbox.put(ReportFinished(job, path, size, cancelled=size is None))

    def _compute_heatmap(self, key: int, model_input: np.ndarray) -> None:
        if self.engine is None:
            self.inbox.put(HeatmapReady(key, None, ModelNotLoaded()))
            return
        try:
            heatmap = self.engine.explain(model_input)
        except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
            self.inbox.put(HeatmapReady(key, None, as_user_error(exc)))
        else:
            self.inbox.put(HeatmapReady(key, heatmap))
