"""The window's logic without the window: results, threshold, sorting, CSV, the worker thread.

Everything here runs without Tk, so it is tested without a display. The view (``desktop.app``)
owns the widgets and calls into a ``Session`` (what is on screen) and a ``Worker`` (the model,
on a background thread). The worker never touches Tk: it posts messages to a ``queue.Queue``
that the Tk thread drains with ``after()``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import itertools
import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from desktop.errors import N_, FileChangedError, InternalError, ModelError, ReadError, UserError

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 720  # enough for the preview pane; ~0.5 MB per image held
# Results whose preview, model input and heatmap stay in memory (~0.6 MB each): the most recently
# viewed ones. Older ones are read from disk again when selected, so a batch of thousands of files
# costs a few hundred bytes per row, not half a megabyte.
IMAGES_KEPT = 32


def fingerprint(model_input: np.ndarray) -> str:
    """A short digest of what the model saw: a re-read for the preview must give the same input,
    or the image shown would not be the one classified."""
    data = np.ascontiguousarray(model_input, dtype=np.uint8).tobytes()
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def verdict(p: float, threshold: float) -> str:
    """``desktop.inference.verdict``, imported on first use: importing the engine imports torch
    (1-2 s), which the worker thread does while the window is already on screen."""
    from desktop.inference import verdict as engine_verdict

    return engine_verdict(p, threshold)
CSV_COLUMNS = ("file", "path", "verdict", "p_pneumonia", "threshold", "error")


@dataclass
class Result:
    """One opened file: its probability or its error, plus what the result pane shows.

    ``preview``, ``model_input`` and ``heatmap`` are held only for recently viewed results (see
    ``Session``); ``fingerprint`` stays, to check that a re-read gives the image classified.
    """

    key: int
    path: Path
    p_pneumonia: float | None
    error: UserError | None
    fingerprint: str | None = None
    preview: Image.Image | None = field(default=None, repr=False)
    model_input: np.ndarray | None = field(default=None, repr=False)
    heatmap: np.ndarray | None = field(default=None, repr=False)
    heatmap_error: UserError | None = None
    preview_error: UserError | None = None  # why the re-read for the preview failed

    @property
    def ok(self) -> bool:
        return self.p_pneumonia is not None


class Session:
    """The results on screen, the decision threshold that labels them, and which results hold
    their images in memory (the ``images_kept`` most recently viewed, the selected one always)."""

    def __init__(self, threshold: float = 0.5, images_kept: int = IMAGES_KEPT) -> None:
        self.threshold = threshold
        self.results: dict[int, Result] = {}
        self.images_kept = max(1, images_kept)
        self.selected_key: int | None = None
        self._held: OrderedDict[int, None] = OrderedDict()  # keys with images, oldest view first
        self._keys = itertools.count(1)

    def add(
        self,
        path: Path,
        p_pneumonia: float | None,
        error: UserError | None,
        *,
        fingerprint: str | None = None,
        preview: Image.Image | None = None,
        model_input: np.ndarray | None = None,
    ) -> Result:
        result = Result(next(self._keys), Path(path), p_pneumonia, error, fingerprint)
        self.results[result.key] = result
        if model_input is not None:
            self._hold(result, preview, model_input)
        return result

    def clear(self) -> None:
        self.results.clear()
        self._held.clear()
        self.selected_key = None

    # --- which results keep their images -------------------------------------------------

    @property
    def held_keys(self) -> list[int]:
        """Keys of the results holding images, least recently viewed first."""
        return list(self._held)

    def select(self, key: int | None) -> Result | None:
        """Make ``key`` the result on screen: its images are the last to go, and a re-read that
        failed before is tried again (the file may be back) when the user comes back to it."""
        result = self.results.get(key) if key is not None else None
        if result is None:
            self.selected_key = None
            return None
        if result.key != self.selected_key:
            result.preview_error = None
        self.selected_key = result.key
        if result.key in self._held:
            self._held.move_to_end(result.key)
        return result

    def needs_preview(self, result: Result) -> bool:
        """True for a classified result whose image is not in memory: the worker re-reads it."""
        return result.ok and result.model_input is None and result.preview_error is None

    def preview_ready(self, message: PreviewReady) -> Result | None:
        """Store a re-read preview, or why there is none; None when that result is gone."""
        result = self.results.get(message.key)
        if result is None:
            return None
        if message.error is not None:
            result.preview_error = message.error
        else:
            self._hold(result, message.preview, message.model_input)
        return result

    def heatmap_ready(self, message: HeatmapReady) -> Result | None:
        """Store a heatmap beside its preview; None when the result or its images are gone
        (a heatmap is only held together with them, so memory stays bounded)."""
        result = self.results.get(message.key)
        if result is None or result.key not in self._held:
            return None
        result.heatmap, result.heatmap_error = message.heatmap, message.error
        return result

    def _hold(self, result: Result, preview: Image.Image | None, model_input: np.ndarray) -> None:
        """Keep ``result``'s images as the most recently viewed; drop the oldest beyond the limit,
        never the selected result's."""
        result.preview, result.model_input, result.preview_error = preview, model_input, None
        self._held[result.key] = None
        self._held.move_to_end(result.key)
        while len(self._held) > self.images_kept:
            oldest = next(key for key in self._held if key != self.selected_key)
            del self._held[oldest]
            self._drop_images(self.results.get(oldest))

    @staticmethod
    def _drop_images(result: Result | None) -> None:
        if result is not None:
            result.preview = result.model_input = result.heatmap = None
            result.heatmap_error = None

    def verdict(self, result: Result) -> str | None:
        """``"NORMAL"`` / ``"PNEUMONIA"`` at the current threshold; None for an error row."""
        return verdict(result.p_pneumonia, self.threshold) if result.ok else None

    def confidence(self, result: Result) -> float | None:
        """The probability of the class shown (P(pneumonia) for PNEUMONIA, else 1 - it)."""
        if not result.ok:
            return None
        p = result.p_pneumonia
        return p if self.verdict(result) == "PNEUMONIA" else 1.0 - p

    def set_threshold(self, threshold: float) -> list[Result]:
        """Change the threshold; returns the results whose verdict flipped (no model re-run)."""
        threshold = min(1.0, max(0.0, float(threshold)))
        before = {key: self.verdict(r) for key, r in self.results.items()}
        self.threshold = threshold
        return [r for key, r in self.results.items() if self.verdict(r) != before[key]]

    def counts(self) -> dict[str, int]:
        """How many results are PNEUMONIA, NORMAL and errors at the current threshold."""
        counts = {"PNEUMONIA": 0, "NORMAL": 0, "error": 0}
        for result in self.results.values():
            counts[self.verdict(result) or "error"] += 1
        return counts

    def sorted_keys(self, column: str, descending: bool = False) -> list[int]:
        """Keys ordered by ``column`` (file, verdict, p_pneumonia, status); errors always last."""

        def sort_key(result: Result):
            if column == "file":
                return (0, result.path.name.casefold(), str(result.path))
            if column == "verdict":
                return (0, self.verdict(result) or "", result.p_pneumonia or 0.0)
            if column == "status":
                return (0, str(result.error) if result.error else "", result.path.name.casefold())
            return (0, result.p_pneumonia or 0.0, result.path.name.casefold())

        ok = [r for r in self.results.values() if r.ok or column == "status"]
        failed = [r for r in self.results.values() if not r.ok and column != "status"]
        ordered = sorted(ok, key=sort_key, reverse=descending)
        ordered += sorted(failed, key=lambda r: r.path.name.casefold())
        return [r.key for r in ordered]

    def csv_text(self, keys: Sequence[int] | None = None) -> str:
        """The results as CSV (in ``keys`` order, e.g. the table's): one row per file.

        ``verdict`` is the class name as in ``python -m desktop predict --csv``; ``error`` is the
        English message so the file reads the same whatever the window's language.
        """
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for key in keys if keys is not None else list(self.results):
            result = self.results[key]
            writer.writerow(
                [
                    result.path.name,
                    str(result.path),
                    self.verdict(result) or "",
                    f"{result.p_pneumonia:.4f}" if result.ok else "",
                    f"{self.threshold:.2f}",
                    str(result.error) if result.error else "",
                ]
            )
        return buffer.getvalue()


# --- Messages from the worker to the Tk thread -------------------------------------------------


@dataclass
class ModelReady:
    metadata: dict
    default_threshold: float
    operating_points: list


@dataclass
class ModelFailed:
    error: UserError


@dataclass
class BatchStarted:
    batch: int
    total: int


@dataclass
class Predicted:
    """One file of a batch. Only a one-file batch carries its images (opening one X-ray shows
    it without a second read); a longer batch carries the fingerprint of the model input."""

    batch: int
    path: Path
    p_pneumonia: float | None
    error: UserError | None
    fingerprint: str | None = None
    preview: Image.Image | None = field(repr=False, default=None)
    model_input: np.ndarray | None = field(repr=False, default=None)


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
    preview: Image.Image | None = field(repr=False)
    model_input: np.ndarray | None = field(repr=False)
    error: UserError | None = None


@dataclass
class HeatmapReady:
    key: int
    heatmap: np.ndarray | None = field(repr=False)
    error: UserError | None = None


def _as_user_error(exc: BaseException) -> UserError:
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
        self._threads = [
            threading.Thread(target=self._run_batches, name="cxr-worker", daemon=True),
            threading.Thread(target=self._run_view_requests, name="cxr-view", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, paths: Iterable[str | Path]) -> int:
        """Queue a batch (files and folders); returns its number. Does not block."""
        batch = next(self._batches)
        self._cancels[batch] = threading.Event()
        self._jobs.put((batch, [Path(p) for p in paths]))
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

    def stop(self, timeout: float = 2.0) -> None:
        """Ask both threads to finish; waits briefly (they are daemons, so exit never hangs)."""
        self._stopping = True
        self.cancel()
        self._jobs.put((None, None))
        with self._view_lock:
            self._view_lock.notify()
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout)

    # --- on the worker threads ---

    def _load(self) -> None:
        from desktop.inference import DEFAULT_MODEL_PATH, Engine

        try:
            self.engine = Engine.load(self.model_path or DEFAULT_MODEL_PATH)
        except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
            self.load_error = _as_user_error(exc)
            log.error("The model could not be loaded: %s", self.load_error)
            self.inbox.put(ModelFailed(self.load_error))
        else:
            self.inbox.put(
                ModelReady(
                    self.engine.metadata,
                    self.engine.default_threshold,
                    list(self.engine.operating_points),
                )
            )
        finally:
            self._ready.set()

    def _run_batches(self) -> None:
        self._load()
        while True:
            batch, paths = self._jobs.get()
            if batch is None or self._stopping:
                return
            cancel = self._cancels[batch]
            try:
                if cancel.is_set():
                    self.inbox.put(BatchFinished(batch, 0, 0, cancelled=True))
                else:
                    self._run_batch(batch, paths, cancel)
            finally:
                self._cancels.pop(batch, None)

    def _run_batch(self, batch: int, paths: list[Path], cancel: threading.Event) -> None:
        from desktop.files import collect_images

        done = total = 0
        try:
            files = collect_images(paths)
            total = len(files)
            self.inbox.put(BatchStarted(batch, total))
            if self.engine is None:
                raise ModelNotLoaded() if self.load_error is None else self.load_error
            single = len(files) == 1  # opening one X-ray: keep its images, no second read
            predictions = self.engine.predict_paths(
                files, cancel=cancel, preview_size=PREVIEW_MAX_SIDE if single else None
            )
            for prediction in predictions:
                self.inbox.put(_predicted(batch, prediction, with_images=single))
                done += 1
                if cancel.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
            self.inbox.put(BatchFinished(batch, done, total, False, _as_user_error(exc)))
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
        from desktop.imaging import read_image

        try:
            xray = read_image(path, preview_size=PREVIEW_MAX_SIDE)
            if expected is not None and fingerprint(xray.model_input) != expected:
                raise FileChangedError()
        except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
            if isinstance(exc, ReadError):
                log.info("No preview for %s: %s", path, exc)
            self.inbox.put(PreviewReady(key, None, None, _as_user_error(exc)))
            return
        self.inbox.put(PreviewReady(key, xray.preview, xray.model_input))
        if heatmap and not self._superseded():
            self._compute_heatmap(key, np.array(xray.model_input, dtype=np.uint8))

    def _compute_heatmap(self, key: int, model_input: np.ndarray) -> None:
        if self.engine is None:
            self.inbox.put(HeatmapReady(key, None, ModelNotLoaded()))
            return
        try:
            heatmap = self.engine.explain(model_input)
        except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
            self.inbox.put(HeatmapReady(key, None, _as_user_error(exc)))
        else:
            self.inbox.put(HeatmapReady(key, heatmap))


def _predicted(batch: int, prediction, *, with_images: bool) -> Predicted:
    """The message for one classified (or failed) file; images only ``with_images``."""
    xray = prediction.xray if prediction.p_pneumonia is not None else None
    if xray is None:
        return Predicted(batch, Path(prediction.path), prediction.p_pneumonia, prediction.error)
    return Predicted(
        batch, Path(prediction.path), prediction.p_pneumonia, prediction.error,
        fingerprint(xray.model_input),
        xray.preview if with_images else None,
        xray.model_input if with_images else None,
    )


class ModelNotLoaded(ModelError):
    """A batch or heatmap was asked for while the model could not be loaded."""

    message = N_("No model is loaded, so nothing can be classified. Reinstall the application.")
