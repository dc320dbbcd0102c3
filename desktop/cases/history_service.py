"""The case history served to a window: typed requests answered in order on one thread, with
one connection of that thread's own, as ``desktop.ui.worker`` serves images. Cases → History
asks for pages, confirmations, deletions and exports; the window never waits for the database
and holds no SQL (``HistoryStore`` owns every statement).

Once the first request is answered the file is verified (``Check``: ``quick_check`` on a
connection of its own, on another thread, about 0.3 s for 100,000 cases, not in the way of the
queries). A damaged file is then kept aside and a new history begun, in order with the other
requests, and the window told (``Answered`` to ``BeginAnew``).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from desktop.cases.export import write_history_csv
from desktop.cases.store import Filters, HistoryRow, HistoryStore, quick_check
from desktop.errors import Sentence, UserError

log = logging.getLogger(__name__)

PAGE = 200  # rows per page: the History view asks for the next page near the end of the list


# --- Requests: what a window asks for ----------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """``PAGE`` rows from ``offset`` on, newest first; the count of all too when ``offset`` is 0."""

    filters: Filters
    offset: int = 0


@dataclass(frozen=True)
class Confirm:
    """Set the confirmed diagnosis of cases, how it was confirmed, by whom, and a note."""

    case_ids: tuple[int, ...]
    diagnosis: str
    how: str
    by: str
    note: str = ""


@dataclass(frozen=True)
class Delete:
    """Forget cases and their results (the image files are never touched)."""

    case_ids: tuple[int, ...]


@dataclass(frozen=True)
class DeleteMatching:
    """Forget every case with a result the filters select (all pages)."""

    filters: Filters


@dataclass(frozen=True)
class Export:
    """Write the rows the filters select as CSV (atomically) at ``path``."""

    filters: Filters
    path: Path


@dataclass(frozen=True)
class Check:
    """Verify the file (``quick_check``) off the serving thread; asked once by the service."""


@dataclass(frozen=True)
class BeginAnew:
    """The check found the file damaged: keep it aside and begin a new history."""


Request = Page | Confirm | Delete | DeleteMatching | Export | Check | BeginAnew
WRITES = (Confirm, Delete, DeleteMatching)  # answered with how many changed; rows shown again


# --- Replies: what the service posts back ------------------------------------------------------


@dataclass(frozen=True)
class Rows:
    """A ``Page``'s answer: ``total`` is None for a page after the first."""

    offset: int
    total: int | None
    rows: list[HistoryRow] = field(repr=False)


@dataclass(frozen=True)
class Exported:
    count: int
    path: Path


@dataclass(frozen=True)
class Answered:
    """``request`` (asked under ``generation``) done: ``value`` is ``Rows`` for a page, the
    count changed for a write, ``Exported`` for an export, the notice (or None) for
    ``BeginAnew``."""

    request: Request
    generation: int
    value: object = None


@dataclass(frozen=True)
class Failed:
    """``request`` failed: ``error`` says why in the user's words (None: see the log)."""

    request: Request
    generation: int
    error: UserError | None = None


@dataclass(frozen=True)
class Unavailable:
    """The history could not be opened at all (folder not readable, not a history of ours)."""


@dataclass(frozen=True)
class Notice:
    """What opening the history had to say (moved aside, read-only), once."""

    sentence: Sentence


class HistoryService:
    """One thread, one connection; ``ask`` queues a request, ``post`` gets each reply (from the
    service's thread: a window puts it in the queue it drains on its own thread)."""

    def __init__(self, db_path: Path | None, post: Callable[[object], None]) -> None:
        self.db_path = db_path
        self.post = post
        self._requests: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="cxr-history-view",
                                        daemon=True)

    def start(self) -> HistoryService:
        self._thread.start()
        return self

    def ask(self, request: Request, generation: int = 0) -> None:
        self._requests.put((request, generation))

    def stop(self) -> None:
        """The serving thread ends once the requests before are answered."""
        self._requests.put(None)

    def _serve(self) -> None:
        try:
            store = HistoryStore.open(self.db_path)
        except (OSError, sqlite3.Error, UserError):  # UserError: not a history of ours
            log.exception("The History view cannot open the history")
            self.post(Unavailable())
            return
        if store.notice is not None:
            self.post(Notice(store.notice))
        checked = False
        try:
            while (item := self._requests.get()) is not None:
                request, generation = item
                try:
                    self.post(Answered(request, generation, self._answer(store, request)))
                except (OSError, sqlite3.Error, UserError) as exc:
                    log.exception("History request %s failed", type(request).__name__)
                    self.post(Failed(request, generation,
                                     exc if isinstance(exc, UserError) else None))
                if not checked:
                    checked = True
                    self._answer(store, Check())
        finally:
            store.close()

    def _answer(self, store: HistoryStore, request: Request):
        if isinstance(request, Page):
            total = store.count(request.filters) if request.offset == 0 else None
            return Rows(request.offset, total,
                        store.rows(request.filters, limit=PAGE, offset=request.offset))
        if isinstance(request, Confirm):
            return store.confirm(request.case_ids, request.diagnosis, how=request.how or None,
                                 by=request.by, note=request.note or None)
        if isinstance(request, Delete):
            return store.delete_cases(request.case_ids)
        if isinstance(request, DeleteMatching):
            return store.delete_matching(request.filters)
        if isinstance(request, Export):
            rows = store.rows(request.filters)
            write_history_csv(request.path, rows)
            return Exported(len(rows), request.path)
        if isinstance(request, Check):
            threading.Thread(target=self._verify, args=(store.path,), daemon=True,
                             name="cxr-history-check").start()
            return None
        if isinstance(request, BeginAnew):
            if not store.read_only:
                store.begin_anew()
            return store.notice
        raise TypeError(f"not a history request: {request!r}")

    def _verify(self, path: Path) -> None:
        """``quick_check`` on a connection of its own; damage is handed to the serving thread."""
        check = quick_check(path)
        if check is not None and check != "ok":
            log.error("History %s fails quick_check: %s", path, check)
            self.ask(BeginAnew())
