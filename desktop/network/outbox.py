"""The outbox: results waiting for the archive, kept on disk so that nothing is lost.

A result enters the outbox before anything is sent: its file is written (atomically) into the
outbox folder and its row committed, keyed on the SOP Instance UID; only then is it sent. So a
crash, a dead archive or a pulled cable leaves the row ``pending``, and the next delivery sends
it. Adding an object that is already there changes nothing (a resend is not a duplicate); a
``sent`` row stays sent. A row is ``pending`` (with when to try next: 30 s after the first
failure, doubling up to an hour), ``sent``, or ``failed`` (refused for good, with the reason).

A row keeps how to reach its archive: ``AET@HOST:PORT``, the calling AE title, and the TLS files
(``tls``, JSON; '' for a plain connection, as in every row written before TLS, whose databases
gain the column on opening). Saving the archive's settings again in the window hands them to
the rows still waiting for that archive (``reroute``): a certificate fixed there is the one the
next try uses.

The database lives beside the case history in the user's data folder (``outbox.db``, WAL), the
files in ``outbox/`` there.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.atomicio import atomic_write_bytes
from desktop.cases.store import data_dir, now_text
from desktop.errors import Sentence
from desktop.network.destination import Destination
from desktop.network.tls import TlsFiles

DB_FILE = "outbox.db"
# What reading or writing the outbox may raise: a window catches these without knowing SQLite.
OUTBOX_ERRORS = (OSError, sqlite3.Error)
FILES = "outbox"
PENDING, SENT, FAILED = "pending", "sent", "failed"
FIRST_DELAY_S, MAX_DELAY_S = 30.0, 3600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    sop_uid TEXT PRIMARY KEY,
    sop_class TEXT NOT NULL,
    file TEXT NOT NULL,
    destination TEXT NOT NULL,
    calling_aet TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    reason_msgid TEXT NOT NULL DEFAULT '',
    reason_params TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    sent TEXT,
    tls TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt);
"""
# read by name: a table made before TLS has the column added at its end
COLUMNS = ("sop_uid, sop_class, file, destination, calling_aet, source, state, attempts, "
           "next_attempt, reason, reason_msgid, reason_params, created, sent, tls")


def backoff(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failed tries: 30 s, 60 s, 2 min ... at most 1 h."""
    return min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** max(0, attempts - 1))


@dataclass(frozen=True)
class Item:
    sop_uid: str
    sop_class: str
    file: Path
    destination: str  # AET@HOST:PORT
    calling_aet: str
    source: str  # the image this result is about (a path), for people
    state: str
    attempts: int
    next_attempt: float
    reason: str  # in English (logs, scripts)
    reason_msgid: str
    reason_params: str
    created: str
    sent: str | None
    tls: str = ""  # TlsFiles.to_text(), '' for a plain connection

    def target(self) -> Destination:
        """Where and how to send it; ValueError for a row that names no usable archive."""
        return Destination.parse(self.destination, self.calling_aet,
                                 TlsFiles.from_text(self.tls))

    def reason_text(self) -> str:
        """Why, in the language shown now (the English text if it was not a known sentence)."""
        if not self.reason_msgid:
            return self.reason
        return Sentence(self.reason_msgid, **json.loads(self.reason_params)).user_message()


class Outbox:
    """One outbox database and its folder of files. Every method commits before returning."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else data_dir() / DB_FILE
        self.folder = self.path.parent / FILES
        self.folder.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        self.connection.execute("PRAGMA journal_mode = WAL")
        self.connection.execute("PRAGMA synchronous = FULL")  # a row said pending is on disk
        self.connection.executescript(SCHEMA)
        self._add_tls_column()

    def _add_tls_column(self) -> None:
        """A database written before TLS gains the ``tls`` column ('' in the old rows: they
        go as they always went, without TLS)."""
        known = {row[1] for row in self.connection.execute("PRAGMA table_info(outbox)")}
        if "tls" in known:
            return
        try:
            with self.connection:
                self.connection.execute(
                    "ALTER TABLE outbox ADD COLUMN tls TEXT NOT NULL DEFAULT ''")
        except sqlite3.OperationalError as exc:  # another process added it meanwhile
            if "duplicate column" not in str(exc):
                raise

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, dataset, destination: str, calling_aet: str, source: str = "",
            tls: TlsFiles | None = None) -> Item:
        """``dataset`` (a pydicom dataset with file meta) written into the outbox folder, then
        its row committed, both before any attempt; the row already there if it was."""
        import io

        uid = str(dataset.SOPInstanceUID)
        known = self.item(uid)
        if known is not None:
            return known
        buffer = io.BytesIO()
        dataset.save_as(buffer, enforce_file_format=True)
        file = atomic_write_bytes(self.folder / f"{uid}.dcm", buffer.getvalue())
        with self.connection:
            self.connection.execute(
                "INSERT OR IGNORE INTO outbox (sop_uid, sop_class, file, destination, "
                "calling_aet, source, created, tls) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (uid, str(dataset.SOPClassUID), str(file), destination, calling_aet, source,
                 now_text(), tls.to_text() if tls is not None else ""))
        return self.item(uid)

    def item(self, sop_uid: str) -> Item | None:
        row = self.connection.execute(f"SELECT {COLUMNS} FROM outbox WHERE sop_uid = ?",
                                      (sop_uid,)).fetchone()
        return None if row is None else _item(row)

    def items(self, state: str | None = None) -> list[Item]:
        query, args = f"SELECT {COLUMNS} FROM outbox", ()
        if state is not None:
            query, args = query + " WHERE state = ?", (state,)
        return [_item(row) for row in
                self.connection.execute(query + " ORDER BY created, rowid", args)]

    def due(self, now: float | None = None) -> list[Item]:
        """The pending rows whose next attempt has come, oldest first."""
        now = time.time() if now is None else now
        return [_item(row) for row in self.connection.execute(
            f"SELECT {COLUMNS} FROM outbox WHERE state = ? AND next_attempt <= ? "
            "ORDER BY created, rowid",
            (PENDING, now))]

    def next_due(self) -> float | None:
        """When the earliest pending row is due (a time.time() value), or None when none is
        pending: how long a background sender may sleep."""
        return self.connection.execute("SELECT MIN(next_attempt) FROM outbox WHERE state = ?",
                                       (PENDING,)).fetchone()[0]

    def counts(self) -> dict[str, int]:
        found = dict(self.connection.execute(
            "SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
        return {state: found.get(state, 0) for state in (PENDING, SENT, FAILED)}

    def mark_sent(self, sop_uid: str, reason: Sentence | None = None) -> None:
        with self.connection:
            self.connection.execute(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, reason = ?, "
                "reason_msgid = ?, reason_params = ?, sent = ? WHERE sop_uid = ?",
                (SENT, *_reason(reason), now_text(), sop_uid))

    def mark_retry(self, sop_uids: Sequence[str], reason: Sentence | str,
                   now: float | None = None) -> None:
        """Another failed try for each row: pending, next try after the back-off."""
        now = time.time() if now is None else now
        with self.connection:
            for uid in sop_uids:
                attempts = self.connection.execute(
                    "SELECT attempts FROM outbox WHERE sop_uid = ?", (uid,)).fetchone()[0] + 1
                self.connection.execute(
                    "UPDATE outbox SET state = ?, attempts = ?, next_attempt = ?, reason = ?, "
                    "reason_msgid = ?, reason_params = ? WHERE sop_uid = ? AND state != ?",
                    (PENDING, attempts, now + backoff(attempts), *_reason(reason), uid, SENT))

    def mark_failed(self, sop_uids: Sequence[str], reason: Sentence | str) -> None:
        """Refused for good: no more tries until someone asks for one (``retry``)."""
        with self.connection:
            self.connection.executemany(
                "UPDATE outbox SET state = ?, attempts = attempts + 1, reason = ?, "
                "reason_msgid = ?, reason_params = ? WHERE sop_uid = ? AND state != ?",
                [(FAILED, *_reason(reason), uid, SENT) for uid in sop_uids])

    def retry_now(self) -> int:
        """Every pending and failed row due at once; how many."""
        with self.connection:
            return self.connection.execute(
                "UPDATE outbox SET state = ?, next_attempt = 0 WHERE state != ?",
                (PENDING, SENT)).rowcount

    def reroute(self, destination: str, calling_aet: str, tls: TlsFiles | None) -> int:
        """The rows not sent to ``destination`` (``AET@HOST:PORT``) take this calling AE title
        and these TLS files (the archive's settings saved again); how many."""
        with self.connection:
            return self.connection.execute(
                "UPDATE outbox SET calling_aet = ?, tls = ? WHERE destination = ? AND state != ?",
                (calling_aet, tls.to_text() if tls is not None else "", destination,
                 SENT)).rowcount

    def purge_sent(self) -> int:
        """Forget the rows (and files) the archive has confirmed; how many."""
        sent = self.items(SENT)
        for item in sent:
            item.file.unlink(missing_ok=True)
        with self.connection:
            self.connection.executemany("DELETE FROM outbox WHERE sop_uid = ?",
                                        [(item.sop_uid,) for item in sent])
        return len(sent)


def _reason(reason: Sentence | str | None) -> tuple[str, str, str]:
    """A reason as stored: its English text, and its msgid and parameters to translate it."""
    if reason is None:
        return "", "", "{}"
    if isinstance(reason, Sentence):
        return str(reason), reason.msgid, json.dumps(reason.params, default=str)
    return reason, "", "{}"


def _item(row: tuple) -> Item:
    uid, sop_class, file, destination, calling, source, state, attempts, next_attempt, reason, \
        msgid, params, created, sent, tls = row
    return Item(uid, sop_class, Path(file), destination, calling, source, state, attempts,
                next_attempt, reason, msgid, params, created, sent, tls)
