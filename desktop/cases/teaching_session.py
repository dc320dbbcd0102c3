"""Cases → Read first (teaching)'s work below the window: each image classified by the engine
handed in (on a thread of its own, its heatmap computed while the answer is hidden), the
reader's read kept beside the model's verdict and the confirmed diagnosis (the labelled folder
the image lies in, else the history's), and the summary over every read so far.

The reads are kept in the history's own table (``teaching_reads``), apart from the clinic's
cases; a read that cannot be kept is logged and the lesson goes on.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop.cases.recorder import Recorder
from desktop.cases.store import TeachingRead, now_text
from desktop.cases.teaching import ReaderSummary, folder_label, summarize
from desktop.engine.results import Result
from desktop.engine.session import Session
from desktop.engine.site import SiteCalibration
from desktop.engine.threshold import ThresholdPolicy
from desktop.errors import Sentence
from desktop.reading.identity import file_sha256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shown:
    """An image classified for reading: its result (None: it failed, see the log) and its
    content's sha256 (the read's key; None where it could not be read)."""

    result: Result | None
    sha256: str | None


@dataclass(frozen=True)
class Answer:
    """What the reader is shown once they have read: the model's verdict (None: no verdict)
    and the confirmed diagnosis (None: unknown)."""

    verdict: str | None
    confirmed: str | None


class TeachingSession:
    """The reads of one Read first window: its own ``Session`` at the card's threshold with the
    site profile in force, and the history at ``db_path`` (``notify`` gets what the user must
    read about it)."""

    def __init__(self, card: dict | None, site: SiteCalibration | None, db_path: Path | None,
                 notify: Callable[[Sentence], None]) -> None:
        self.session = Session(ThresholdPolicy.from_card(card))
        self.session.set_site(site)
        self.recorder = Recorder(db_path, notify=notify)

    def classify(self, engine, path: Path, *, preview_size: int,
                 post: Callable[[Shown], None]) -> None:
        """Classify ``path`` with ``engine`` (the window's loaded one) on a thread of its own,
        preview and heatmap included; ``post`` gets the ``Shown`` from that thread."""
        threading.Thread(target=lambda: post(self._shown(engine, path, preview_size)),
                         daemon=True, name="cxr-teaching").start()

    @staticmethod
    def _shown(engine, path: Path, preview_size: int) -> Shown:
        try:
            result = next(iter(engine.predict_paths([path], preview_size=preview_size,
                                                    heatmaps=True)))
            return Shown(result, file_sha256(path) if result.ok else None)
        except Exception:  # noqa: BLE001 - the window says so; the traceback is logged
            log.exception("Teaching view could not classify %s", path)
            return Shown(None, None)

    def add(self, result: Result) -> Result:
        """The result shown, labelled by this session."""
        return self.session.add(result)

    def keep_read(self, result: Result, sha256: str | None, read: str) -> Answer:
        """Keep the reader's ``read`` of ``result`` (kept apart from the clinic's cases) and
        give the answer to show."""
        confirmed = folder_label(result.path)
        verdict = self.session.verdict(result)
        store = self.recorder.open()
        if store is not None and sha256 is not None:
            try:
                if confirmed is None:
                    confirmed = store.confirmed_of(sha256)
                store.record_read(TeachingRead(
                    sha256=sha256, file_name=Path(result.path).name, path=str(result.path),
                    created=now_text(), reader_read=read, verdict=verdict,
                    p=result.p_pneumonia, confirmed=confirmed))
            except sqlite3.Error:
                log.exception("Could not keep the read of %s", result.path)
        return Answer(verdict, confirmed)

    def summary(self) -> ReaderSummary | None:
        """Reader, model and confirmed compared over every read kept (None: no history)."""
        store = self.recorder.open()
        return None if store is None else summarize(store.teaching_reads())

    def close(self) -> None:
        self.recorder.close()
