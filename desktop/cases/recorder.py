"""Recording classifications into the case history, for the window and ``predict`` alike.

A ``Recorder`` opens the history on first use and records each result as its row is shown; when
the history cannot be written (data folder read-only, disk full) classification goes on and the
user is told once, in one sentence, that results are not being recorded.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

from desktop.cases.store import CaseRecord, HistoryStore, is_damage
from desktop.engine.results import Result, ResultRow
from desktop.engine.session import Session
from desktop.errors import N_, Sentence

log = logging.getLogger(__name__)

NOT_RECORDING = N_("Results are not being recorded in the case history: its folder cannot be "
                   "written (read-only or full). Classification goes on.")
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The content's sha256: what makes a case the same case wherever the file lies."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def case_record(row: ResultRow, result: Result, *, model_sha256: str,
                model_version: str | None, origin: str) -> CaseRecord | None:
    """What the history keeps of ``result``, labelled as ``row`` (its session's row); None for
    a file that got no probability. The file is hashed here; only its DICOM UIDs are taken from
    what the reader found."""
    if not result.ok:
        return None
    path = Path(result.path)
    try:
        sha = file_sha256(path)
        size = path.stat().st_size
    except OSError:
        log.info("Not recorded (the file went away): %s", path)
        return None
    uids = (result.source or {}).get("uids") or {}
    return CaseRecord(
        sha256=sha, file_name=path.name, path=str(path.resolve()), size=size,
        model_sha256=model_sha256, model_version=model_version, profile=row.profile or "",
        p_model=float(result.p_model if result.p_model is not None else result.p_pneumonia),
        p=float(result.p_pneumonia), threshold=row.threshold, verdict=row.verdict,
        scope=row.scope, scope_reason=row.scope_reason, origin=origin,
        uids={k: v for k, v in uids.items() if v})


class Recorder:
    """Records results into one history file; never raises to the caller. ``notify`` gets each
    sentence the user must read (at most one about not recording)."""

    def __init__(self, path: Path | None = None,
                 notify: Callable[[Sentence], None] | None = None) -> None:
        self.path = path
        self.notify = notify or (lambda sentence: None)
        self.store: HistoryStore | None = None
        self.stopped = False  # True once recording has failed (or the history is read-only)
        self.last_case_id: int | None = None  # the case the last recorded result belongs to

    def open(self) -> HistoryStore | None:
        if self.store is None and not self.stopped:
            try:
                self.store = HistoryStore.open(self.path)
            except (OSError, sqlite3.Error):
                log.exception("Cannot open the case history %s", self.path)
                self._stop()
                return None
            if self.store.notice is not None:
                self.notify(self.store.notice)
            if self.store.read_only:
                self.stopped = True  # the notice said so
        return self.store

    def record(self, session: Session, result: Result, *, model_sha256: str,
               model_version: str | None, origin: str) -> bool:
        """Record ``result`` as ``session`` labels it; False when it was not recorded."""
        return self.record_row(session.row(result), result, model_sha256=model_sha256,
                               model_version=model_version, origin=origin)

    def record_row(self, row: ResultRow, result: Result, *, model_sha256: str,
                   model_version: str | None, origin: str) -> bool:
        """Record ``result`` labelled as ``row`` (taken on the thread that owns the session;
        the hashing and writing may then run on another)."""
        if self.stopped or self.open() is None or self.stopped:
            return False
        record = case_record(row, result, model_sha256=model_sha256,
                             model_version=model_version, origin=origin)
        if record is None:
            return False
        for attempt in range(2):
            try:
                self.last_case_id = self.store.record(record)
                return True
            except (OSError, sqlite3.Error) as exc:
                if attempt == 0 and is_damage(exc):  # a damaged page: keep it, begin anew
                    try:
                        self.store.begin_anew()
                        self.notify(self.store.notice)
                        continue
                    except (OSError, sqlite3.Error):
                        pass
                log.exception("Cannot record %s in the case history", result.path)
                self._stop()
                return False
        return False

    def _stop(self) -> None:
        self.stopped = True
        self.notify(Sentence(NOT_RECORDING))

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
