"""The window's logic without the window: results, threshold, sorting, CSV, the worker thread.

Everything here runs without Tk, so it is tested without a display. The view (``desktop.app``)
owns the widgets and calls into a ``Session`` (what is on screen) and a ``Worker`` (the model,
on a background thread). The worker never touches Tk: it posts messages to a ``queue.Queue``
that the Tk thread drains with ``after()``.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import queue
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from desktop.errors import N_, InternalError, ModelError, UserError

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 720  # kept per result: enough for the preview pane, ~0.5 MB per image


def verdict(p: float, threshold: float) -> str:
    """``desktop.inference.verdict``, imported on first use: importing the engine imports torch
    (1-2 s), which the worker thread does while the window is already on screen."""
    from desktop.inference import verdict as engine_verdict

    return engine_verdict(p, threshold)
CSV_COLUMNS = ("file", "path", "verdict", "p_pneumonia", "threshold", "error")


@dataclass
class Result:
    """One opened file: its probability or its error, plus what the result pane shows."""

    key: int
    path: Path
    p_pneumonia: float | None
    error: UserError | None
    preview: Image.Image | None = None
    model_input: np.ndarray | None = None
    heatmap: np.ndarray | None = None
    heatmap_error: UserError | None = None

    @property
    def ok(self) -> bool:
        return self.p_pneumonia is not None


class Session:
    """The results on screen and the decision threshold that labels them."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.results: dict[int, Result] = {}
        self._keys = itertools.count(1)

    def add(
        self,
        path: Path,
        p_pneumonia: float | None,
        error: UserError | None,
        preview: Image.Image | None = None,
        model_input: np.ndarray | None = None,
    ) -> Result:
        result = Result(next(self._keys), Path(path), p_pneumonia, error, preview, model_input)
        self.results[result.key] = result
        return result

    def clear(self) -> None:
        self.results.clear()

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
    batch: int
    path: Path
    p_pneumonia: float | None
    error: UserError | None
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
class HeatmapReady:
    key: int
    heatmap: np.ndarray | None
    error: UserError | None = None


def _as_user_error(exc: BaseException) -> UserError:
    if isinstance(exc, UserError):
        return exc
    log.error("unexpected failure on the worker thread", exc_info=exc)
    return InternalError()


class Worker:
    """Loads the model and runs predictions on background threads, posting to ``inbox``.

    One thread runs batches in the order they were submitted; a second one computes Grad-CAM
    heatmaps for the selected result, so a heatmap never waits behind a 200-file batch. Only
    the latest heatmap request counts (arrowing through the table skips the stale ones).
    """

    def __init__(self, model_path: Path | None, inbox: queue.Queue) -> None:
        self.model_path = model_path
        self.inbox = inbox
        self.engine = None
        self.load_error: UserError | None = None
        self._ready = threading.Event()
        self._jobs: queue.Queue = queue.Queue()
        self._cancels: dict[int, threading.Event] = {}  # batch -> its cancel flag, until done
        self._heatmap_lock = threading.Condition()
        self._heatmap_request: tuple[int, np.ndarray] | None = None
        self._stopping = False
        self._batches = itertools.count(1)
        self._threads = [
            threading.Thread(target=self._run_batches, name="cxr-worker", daemon=True),
            threading.Thread(target=self._run_heatmaps, name="cxr-heatmaps", daemon=True),
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

    def request_heatmap(self, key: int, model_input: np.ndarray) -> None:
        with self._heatmap_lock:  # a writable copy: torch warns on read-only arrays
            self._heatmap_request = (key, np.array(model_input, dtype=np.uint8))
            self._heatmap_lock.notify()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask both threads to finish; waits briefly (they are daemons, so exit never hangs)."""
        self._stopping = True
        self.cancel()
        self._jobs.put((None, None))
        with self._heatmap_lock:
            self._heatmap_lock.notify()
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
            predictions = self.engine.predict_paths(
                files, cancel=cancel, preview_size=PREVIEW_MAX_SIDE
            )
            for prediction in predictions:
                xray = prediction.xray
                self.inbox.put(
                    Predicted(
                        batch,
                        Path(prediction.path),
                        prediction.p_pneumonia,
                        prediction.error,
                        xray.preview if xray is not None else None,
                        xray.model_input if xray is not None else None,
                    )
                )
                done += 1
                if cancel.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
            self.inbox.put(BatchFinished(batch, done, total, False, _as_user_error(exc)))
            return
        self.inbox.put(BatchFinished(batch, done, total, cancelled=done < total))

    def _run_heatmaps(self) -> None:
        self._ready.wait()
        while True:
            with self._heatmap_lock:
                while self._heatmap_request is None and not self._stopping:
                    self._heatmap_lock.wait()
                if self._stopping:
                    return
                key, model_input = self._heatmap_request
                self._heatmap_request = None
            if self.engine is None:
                self.inbox.put(HeatmapReady(key, None, ModelNotLoaded()))
                continue
            try:
                heatmap = self.engine.explain(model_input)
            except BaseException as exc:  # noqa: BLE001 - reported to the user, traceback logged
                self.inbox.put(HeatmapReady(key, None, _as_user_error(exc)))
            else:
                self.inbox.put(HeatmapReady(key, heatmap))


class ModelNotLoaded(ModelError):
    """A batch or heatmap was asked for while the model could not be loaded."""

    message = N_("No model is loaded, so nothing can be classified. Reinstall the application.")
