"""Recording classifications into the case history, for the window and ``predict`` alike.

A ``Recorder`` opens the history on first use and records each result as its row is shown; when
the history cannot be written (data folder read-only, disk full) classification goes on and the
user is told once, in one sentence, that results are not being recorded.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from desktop.cases.store import CaseRecord, HistoryStore, is_damage
from desktop.engine.results import Result, ResultRow
from desktop.engine.session import Session
from desktop.errors import N_, Sentence, UserError
from desktop.reading.identity import identify
from desktop.safetext import lossless

log = logging.getLogger(__name__)

# Results committed per transaction in a batch (``predict``): a file's line waits for at most
# this many files; one commit per 16 costs less than one per lane chunk (docs/benchmarks.md).
RECORD_EVERY = 16
NOT_RECORDING = N_("Results are not being recorded in the case history: its folder cannot be "
                   "written (read-only or full). Classification goes on.")


def case_record(row: ResultRow, result: Result, *, model_sha256: str,
                model_version: str | None, origin: str) -> CaseRecord | None:
    """What the history keeps of ``result``, labelled as ``row`` (its session's row: its
    decision, REFER included, and the refer band that made it); None for a file that got no
    probability. The file's identity is the one the engine's lane took
    (``identify=True``), else it is taken here; only its DICOM UIDs come from the reader."""
    if not result.ok:
        return None
    identity = result.identity
    if identity is None:
        try:
            identity = identify(result.path)
        except OSError:
            log.info("Not recorded (the file went away): %s", result.path)
            return None
    uids = (result.source or {}).get("uids") or {}
    return CaseRecord(
        sha256=identity.sha256, file_name=lossless(os.path.basename(result.path)),
        path=lossless(str(identity.path)),
        size=identity.size,
        model_sha256=model_sha256, model_version=model_version,
        profile=lossless(row.profile or ""),
        p_model=float(result.p_model if result.p_model is not None else result.p_pneumonia),
        p=float(result.p_pneumonia), threshold=row.threshold, verdict=row.verdict,
        scope=row.scope, scope_reason=row.scope_reason, origin=origin,
        uids={k: v for k, v in uids.items() if v},
        decision=row.decision, t_low=row.t_low, t_high=row.t_high)


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
            except UserError as refused:  # not a history of ours: left untouched
                log.warning("Not recording into %s: %s", self.path, refused)
                self.stopped = True
                self.notify(refused)
                return None
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
        return self.record_rows([(row, result)], model_sha256=model_sha256,
                                model_version=model_version, origin=origin) == 1

    def record_rows(self, items: Sequence[tuple[ResultRow, Result]], *, model_sha256: str,
                    model_version: str | None, origin: str) -> int:
        """Record each ``(row, result)`` in one transaction (committed before returning); how
        many were recorded (files without a probability, or gone, are not)."""
        if self.stopped or self.open() is None or self.stopped:
            return 0
        records = [record for row, result in items
                   if (record := case_record(row, result, model_sha256=model_sha256,
                                             model_version=model_version,
                                             origin=origin)) is not None]
        if not records:
            return 0
        for attempt in range(2):
            try:
                self.last_case_id = self.store.record_many(records)[-1]
                return len(records)
            except (OSError, sqlite3.Error) as exc:
                if attempt == 0 and is_damage(exc):  # a damaged page: keep it, begin anew
                    try:
                        self.store.begin_anew()
                        self.notify(self.store.notice)
                        continue
                    except (OSError, sqlite3.Error):
                        pass
                log.exception("Cannot record %d results in the case history (first: %s)",
                              len(records), records[0].path)
                self._stop()
                return 0
        return 0

    def _stop(self) -> None:
        self.stopped = True
        self.notify(Sentence(NOT_RECORDING))

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def classified_rows(engine, files: Iterable[Path], session: Session, recorder: Recorder | None,
                    *, model_version: str | None, origin: str
                    ) -> Iterator[tuple[ResultRow, Result]]:
    """A batch's ``(row, result)`` per file, in order, each result added to ``session`` (its
    images dropped). With a recorder, results are committed to the history ``RECORD_EVERY`` at a
    time *before* they are yielded: a line printed is a result recorded, whatever ends the
    process next. Without one, each lane chunk is yielded as soon as it is classified."""
    pending: list[tuple[ResultRow, Result]] = []
    for chunk in engine.predict_chunks(files, preview_size=None,
                                       identify=recorder is not None):
        for result in chunk:
            result.drop_images()  # a run over thousands of files keeps one row each
            session.add(result)
            pending.append((session.row(result), result))
        if recorder is None or len(pending) >= RECORD_EVERY:
            yield from _committed(pending, recorder, engine.sha256, model_version, origin)
            pending = []
    yield from _committed(pending, recorder, engine.sha256, model_version, origin)


def _committed(rows: list, recorder: Recorder | None, model_sha256: str,
               model_version: str | None, origin: str) -> list:
    if recorder is not None and rows:
        recorder.record_rows(rows, model_sha256=model_sha256, model_version=model_version,
                             origin=origin)
    return rows
