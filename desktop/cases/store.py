"""The case history: one SQLite file (WAL) in the user's data folder, shared by the window and
``python -m desktop predict`` (several processes may write at once).

A *case* is a file's content (its sha256): the same file opened again is the same case, wherever
it lies. Each classification is a *result* of a case; a result under another model file or
another site profile is a new result row, the same model and profile again updates it. A person
adds to a case the confirmed diagnosis, how it was confirmed, their own read and a note.
Patient name and ID are never stored, nor any pixel.

The schema is versioned (``PRAGMA user_version``) and migrated forward in one transaction per
step. A history is marked as ours by ``PRAGMA application_id`` (``APPLICATION_ID``), set when it
is created; a history of ours from before the mark is recognised by its exact schema and marked
when first opened for writing. Any other file (notes, an image, another program's SQLite, a file
whose header is damaged) is refused with ``NotAHistoryError`` and left untouched: never renamed,
never adopted, never switched to WAL. A history of ours found damaged inside is moved aside
under a dated name and a new history begun (when opened for writing); a file from a newer
version of the app is opened read-only, never downgraded. ``open(read_only=True)`` (the reading
commands) creates, renames, migrates and marks nothing, and reads also from a read-only folder.
``CXR_DATA_DIR`` overrides the folder (tests).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktop.errors import N_, Sentence, UserError
from desktop.i18n import format_decimal
from desktop.outcomes import Outcome, parse
from desktop.settings import user_folder

log = logging.getLogger(__name__)

DB_FILE = "history.db"
BUSY_TIMEOUT_MS = 15_000  # another process's write transaction lasts milliseconds
DIAGNOSES = ("NORMAL", "PNEUMONIA", "OTHER", "UNKNOWN")  # a confirmed diagnosis is one of these
# What ``Filters.verdict`` selects: an outcome's value, or NO_ANSWER (withheld: no decision).
NO_ANSWER = "none"

DAMAGED = N_("The case history file was damaged; it was kept as {name} and a new history was "
             "begun.")
APPLICATION_ID = 0x43585248  # "CXRH" in the SQLite header: this file is our case history
SQLITE_MAGIC = b"SQLite format 3\x00"


# What reading a damaged history (a bad page) or a future schema raises, for callers that read
# through the store and must not import sqlite3 themselves (``history export``/``stats``).
DatabaseError = sqlite3.DatabaseError


class NotAHistoryError(UserError):
    """The file is not a case history of ours (or its header is damaged): refused untouched."""

    message = N_("{name} is not a case history of this application (or its header is damaged); "
                 "it was left untouched. Name another file for the case history.")


class NoHistoryError(UserError):
    """A reading command named a history that does not exist: nothing is created."""

    message = N_("There is no case history at {path}; nothing was created. Check the file name.")


class HistoryDamagedError(UserError):
    """A reading command met a damaged page of a history of ours: refused, nothing moved."""

    message = N_("The case history {name} is damaged and could not be read; it was left "
                 "untouched. Restore it from a backup (see docs/history.md).")


class HistoryUnreadableError(UserError):
    """The history's tables are not those this version reads (a future schema)."""

    message = N_("The case history {name} is in a form this version of the application cannot "
                 "read; it was left untouched. Update the application.")


NEWER = N_("The case history was written by a newer version of this application; it is shown "
           "read-only and nothing new is recorded. Update the application to record cases.")

# Each step takes the schema from version N - 1 to N; never edit a released step, add one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        file_name TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        study_uid TEXT, series_uid TEXT, sop_uid TEXT,
        confirmed TEXT CHECK (confirmed IN ('NORMAL', 'PNEUMONIA', 'OTHER', 'UNKNOWN')),
        confirmed_how TEXT, reader_read TEXT, note TEXT, confirmed_by TEXT, confirmed_at TEXT
    );
    CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        created TEXT NOT NULL,
        model_version TEXT, model_sha256 TEXT NOT NULL,
        profile TEXT NOT NULL DEFAULT '',
        p_model REAL NOT NULL, p REAL NOT NULL, threshold REAL NOT NULL,
        verdict TEXT, scope TEXT, scope_reason TEXT, origin TEXT,
        UNIQUE (case_id, model_sha256, profile)
    );
    CREATE INDEX results_created ON results(created);
    CREATE INDEX results_verdict ON results(verdict, created);
    CREATE INDEX results_scope ON results(scope, created);
    CREATE INDEX cases_confirmed ON cases(confirmed);
    CREATE INDEX cases_file_name ON cases(file_name COLLATE NOCASE);
    """,
    # 2: teaching reads apart from the clinic's record (they were results of cases, their
    # folder's name a confirmed diagnosis, counted by Monitoring and calibration); the reads
    # kept so far move here, and the cases only they held go.
    """
    CREATE TABLE teaching_reads (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        file_name TEXT NOT NULL,
        path TEXT NOT NULL,
        created TEXT NOT NULL,
        reader_read TEXT NOT NULL,
        verdict TEXT, p REAL, confirmed TEXT
    );
    INSERT OR REPLACE INTO teaching_reads (sha256, file_name, path, created, reader_read,
        verdict, p, confirmed)
        SELECT c.sha256, c.file_name, c.path, r.created, c.reader_read, r.verdict, r.p,
            c.confirmed
        FROM results r JOIN cases c ON c.id = r.case_id
        WHERE r.origin = 'teaching' AND c.reader_read IS NOT NULL;
    DELETE FROM results WHERE origin = 'teaching';
    DELETE FROM cases WHERE id NOT IN (SELECT case_id FROM results)
    """,
    # 3: the refer band (desktop.outcomes): ``decision`` is NORMAL, PNEUMONIA or REFER (NULL:
    # withheld, no answer), ``verdict`` stays the class alone (NULL for a referred result, so a
    # query written for verdicts never counts REFER as one), and ``t_low``/``t_high`` the band
    # that decided (NULL: the single threshold did). The results kept so far were decided by
    # their threshold: their decision is their verdict.
    """
    ALTER TABLE results ADD COLUMN decision TEXT;
    ALTER TABLE results ADD COLUMN t_low REAL;
    ALTER TABLE results ADD COLUMN t_high REAL;
    UPDATE results SET decision = verdict WHERE verdict IS NOT NULL;
    CREATE INDEX results_decision ON results(decision, created)
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def data_dir() -> Path:
    return user_folder("data", "CXR_DATA_DIR")


def default_db_path() -> Path:
    return data_dir() / DB_FILE


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now_text() -> str:
    """UTC, ISO 8601 to the second: sorts as text, and is what the date filters compare."""
    return dt.datetime.now(dt.timezone.utc).strftime(TIME_FORMAT)


def local_day_start(day: str) -> str:
    """The stored time (UTC text) at which the local calendar day ``day`` (YYYY-MM-DD) begins on
    this computer: a person who filters on 2026-12-04 means their own day, not UTC's.
    ``ValueError`` when ``day`` is not a date; ``OverflowError`` at the calendar's ends."""
    midnight = dt.datetime.combine(dt.date.fromisoformat(day), dt.time())
    return midnight.astimezone(dt.timezone.utc).strftime(TIME_FORMAT)  # naive: local time


def local_days(first: str | None, last: str | None) -> tuple[str | None, str | None]:
    """``Filters.since`` / ``until`` for the local days ``first`` to ``last``, both included
    (either may be empty: no bound). ``ValueError`` when one is not a date. A day at the
    calendar's ends (0001-01-01, 9999-12-31), whose local midnight has no UTC time, is no bound
    at all: nothing was recorded before or after it."""
    since = until = None
    if first:
        try:
            since = local_day_start(first)
        except (OverflowError, ValueError):
            dt.date.fromisoformat(first)  # not a date: ValueError; else year 1 (no bound)
    if last:
        try:
            next_day = dt.date.fromisoformat(last) + dt.timedelta(days=1)
            until = local_day_start(next_day.isoformat())
        except (OverflowError, ValueError):
            dt.date.fromisoformat(last)  # not a date: ValueError; else year 9999 (no bound)
    return since, until


def local_time(created: str) -> str:
    """A stored UTC time as this computer's local time, to the minute (as the History view
    shows it)."""
    try:
        when = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return created
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class CaseRecord:
    """One classification as the history keeps it (``desktop.cases.recorder`` builds it)."""

    sha256: str
    file_name: str
    path: str
    size: int | None
    model_sha256: str
    model_version: str | None
    profile: str  # "" when the model's own calibration applied
    p_model: float
    p: float
    threshold: float
    verdict: str | None
    scope: str | None
    scope_reason: str | None
    origin: str  # "window", "predict", "calibrate"
    uids: dict = field(default_factory=dict)  # study_uid, series_uid, sop_uid (DICOM)
    created: str | None = None  # default: now
    decision: str | None = None  # NORMAL, PNEUMONIA or REFER; default: the verdict
    t_low: float | None = None  # the refer band that decided (None: the threshold did)
    t_high: float | None = None

    def __post_init__(self) -> None:
        if self.decision is None and self.verdict is not None:  # a verdict is its decision
            object.__setattr__(self, "decision", self.verdict)


@dataclass(frozen=True)
class HistoryRow:
    """One result with its case, as the History view and the CSV export show it."""

    result_id: int
    case_id: int
    created: str
    file_name: str
    path: str
    sha256: str
    verdict: str | None
    p: float
    p_model: float
    threshold: float
    scope: str | None
    scope_reason: str | None
    profile: str
    model_version: str | None
    model_sha256: str
    confirmed: str | None
    confirmed_how: str | None
    reader_read: str | None
    note: str | None
    confirmed_by: str | None
    confirmed_at: str | None
    decision: str | None = None  # NORMAL, PNEUMONIA, REFER; None: withheld (no answer)
    t_low: float | None = None  # the refer band that decided; None: the threshold did
    t_high: float | None = None

    @property
    def outcome(self) -> Outcome:
        """What the model answered (``desktop.outcomes``): a stored result always got a P, so
        without a decision it was withheld (not a chest X-ray)."""
        return parse(self.decision) or Outcome.WITHHELD

    def p_text(self, decimals: int, *, model: bool = False, for_people: bool = False) -> str:
        """P (or the model's own P) as the export (a decimal point) or, ``for_people``, the
        History view (the language's decimal sign) show it: empty for a result without a decision
        (out of scope, withheld), as ``predict --csv`` leaves it; a referred result's P is shown
        (it is what the reader should know)."""
        if not self.outcome.is_decision:
            return ""
        value = self.p_model if model else self.p
        return format_decimal(value, decimals) if for_people else f"{value:.{decimals}f}"

    @property
    def agreement(self) -> bool | None:
        """Whether the verdict matches the confirmed NORMAL / PNEUMONIA; None where unknown or
        where the model gave no class (withheld, referred)."""
        if not self.outcome.is_verdict or self.confirmed not in ("NORMAL", "PNEUMONIA"):
            return None
        return self.verdict == self.confirmed


@dataclass(frozen=True)
class Filters:
    """What the History view and ``history export`` select. Dates are ISO text (UTC), inclusive
    start and exclusive end (``local_days`` makes them from the user's calendar days);
    ``confirmed``: True / False / None (either); ``agreement``: "agree", "disagree" or None."""

    since: str | None = None
    until: str | None = None
    verdict: str | None = None  # an Outcome's value (NORMAL, PNEUMONIA, REFER), or NO_ANSWER
    scope: str | None = None
    confirmed: bool | None = None
    agreement: str | None = None
    search: str = ""
    model_sha256: str | None = None
    read: bool | None = None  # True: only cases with a reader's own read (teaching mode)

    def where(self) -> tuple[str, list]:
        """The WHERE clause over ``results r`` (conditions on the case as sub-selects on
        ``cases``, so a count never joins and each filter can use its index)."""
        clauses, params, on_case, case_params = [], [], [], []
        if self.since:
            clauses.append("r.created >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("r.created < ?")
            params.append(self.until)
        if self.verdict == NO_ANSWER:  # withheld: no decision (a referred result has one)
            clauses.append("r.decision IS NULL")
        elif self.verdict:
            clauses.append("r.decision = ?")
            params.append(str(self.verdict))
        if self.scope:
            clauses.append("r.scope = ?")
            params.append(self.scope)
        if self.model_sha256:
            clauses.append("r.model_sha256 = ?")
            params.append(self.model_sha256)
        if self.confirmed is True:
            on_case.append("confirmed IS NOT NULL")
        elif self.confirmed is False:
            on_case.append("confirmed IS NULL")
        if self.agreement in ("agree", "disagree"):
            on_case.append("confirmed IN ('NORMAL', 'PNEUMONIA')")
            clauses.append("r.verdict IS NOT NULL AND r.verdict "  # a class: never REFER
                           + ("=" if self.agreement == "agree" else "<>")
                           + " (SELECT confirmed FROM cases k WHERE k.id = r.case_id)")
        if self.read is True:
            on_case.append("reader_read IS NOT NULL")
        if self.search:
            on_case.append("file_name LIKE ? ESCAPE '\\'")
            escaped = self.search.replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_")
            case_params.append(f"%{escaped}%")
        if on_case:
            clauses.append(f"r.case_id IN (SELECT id FROM cases WHERE {' AND '.join(on_case)})")
            params += case_params
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


@dataclass(frozen=True)
class TeachingRead:
    """One image read first (teaching mode): the reader's read, the model's verdict and the
    confirmed label (its labelled folder's, or the history's), kept apart from the clinic's
    cases: no clinic query (History, Monitoring, calibration, export) sees these."""

    sha256: str
    file_name: str
    path: str
    created: str
    reader_read: str
    verdict: str | None
    p: float | None
    confirmed: str | None


_ROW_SQL = """SELECT r.id, c.id, r.created, c.file_name, c.path, c.sha256, r.verdict, r.p,
    r.p_model, r.threshold, r.scope, r.scope_reason, r.profile, r.model_version, r.model_sha256,
    c.confirmed, c.confirmed_how, c.reader_read, c.note, c.confirmed_by, c.confirmed_at,
    r.decision, r.t_low, r.t_high
    FROM results r JOIN cases c ON c.id = r.case_id"""


def _text(value) -> str | None:
    """An ``Outcome`` (a str subclass) stored as its plain value."""
    return None if value is None else str(value)


def _uid_values(uids: dict | None) -> tuple:
    uids = uids or {}
    return uids.get("study_uid"), uids.get("series_uid"), uids.get("sop_uid")


class HistoryStore:
    """An open history file. Methods may be called from one thread at a time per store (the
    window keeps one per thread); several processes may hold the same file."""

    def __init__(self, connection: sqlite3.Connection, path: Path, read_only: bool,
                 notice: Sentence | None = None) -> None:
        self.connection = connection
        self.path = path
        self.read_only = read_only
        self.notice = notice  # what opening it had to say (moved aside, read-only), once

    # --- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | None = None, *, verify: bool = False,
             read_only: bool = False) -> HistoryStore:
        """Open (or create) the history at ``path`` (default: the data folder's). Raises
        ``NotAHistoryError`` for a file that is not ours (left untouched), and ``OSError`` /
        ``sqlite3.Error`` only when the folder cannot hold a database at all (read-only, full):
        the caller then classifies without recording.

        ``read_only`` (``history export`` / ``stats``): nothing is created (``NoHistoryError``),
        moved, migrated or marked; a damaged history gives ``HistoryDamagedError``.

        Opening reads the header and the schema (a file that is not a database is found here);
        ``verify`` also runs ``PRAGMA quick_check`` over every page (about 0.1 s per 20 MB, so
        the window runs it off its Tk thread). A damaged page met later, in use, is handled by
        ``begin_anew``."""
        path = Path(path) if path is not None else default_db_path()
        if read_only:
            return cls._open_read_only(path, verify)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return cls._open_checked(path, verify)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            log.exception("History %s is damaged; moving it aside", path)
        kept = _move_aside(path)
        store = cls._open_checked(path, False)
        store.notice = Sentence(DAMAGED, name=kept.name)
        return store

    def begin_anew(self) -> None:
        """A damaged page was met in use: the file is moved aside (kept, dated) and a new
        history begun at the same path; ``notice`` says so. Never for a read-only store."""
        if self.read_only:
            raise HistoryDamagedError(name=self.path.name)
        log.error("History %s found damaged in use; moving it aside", self.path)
        self.connection.close()
        kept = _move_aside(self.path)
        self.connection = type(self)._open_checked(self.path, False).connection
        self.notice = Sentence(DAMAGED, name=kept.name)

    @classmethod
    def _open_checked(cls, path: Path, verify: bool) -> HistoryStore:
        _refuse_foreign_bytes(path)
        connection = _connect(path)
        try:
            legacy = _check_ours(connection, path)
            check = connection.execute("PRAGMA quick_check").fetchone()[0] if verify else "ok"
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check} (database disk image is "
                                            "malformed)")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                connection.close()
                log.warning("History %s has schema %d > %d: read-only", path, version,
                            SCHEMA_VERSION)
                return cls(_connect_read_only(path), path, True, Sentence(NEWER))
            connection.execute("PRAGMA journal_mode=WAL")
            _migrate(connection, version)
            if legacy:
                with connection:
                    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                log.info("History %s recognised by its schema and marked as ours", path)
        except BaseException:
            connection.close()
            raise
        return cls(connection, path, False)

    @classmethod
    def _open_read_only(cls, path: Path, verify: bool) -> HistoryStore:
        if not path.exists() or (path.is_file() and path.stat().st_size == 0):
            raise NoHistoryError(path=path)
        _refuse_foreign_bytes(path)
        connection = _connect_read_only(path)
        try:
            _check_ours(connection, path)
            if verify and connection.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise HistoryDamagedError(name=path.name)
            version = connection.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise (HistoryDamagedError(name=path.name) if is_damage(exc)
                   else HistoryUnreadableError(name=path.name)) from exc
        except BaseException:
            connection.close()
            raise
        return cls(connection, path, True, Sentence(NEWER) if version > SCHEMA_VERSION else None)

    def close(self) -> None:
        self.connection.close()

    # --- writing ------------------------------------------------------------------------------

    def record(self, record: CaseRecord) -> int:
        """Store one classification (committed before returning: a process killed right after
        has it); returns the case's id."""
        return self.record_many([record])[0]

    def record_many(self, records: Sequence[CaseRecord]) -> list[int]:
        """Store classifications in one transaction (committed before returning, all or none);
        returns each one's case id. Three statements per batch, whatever its size: one commit
        and few round trips for a chunk of files is what keeps recording cheap in a batch."""
        if not records:
            return []
        now = now_text()
        whens = [record.created or now for record in records]
        with self.connection:
            self.connection.executemany(
                """INSERT INTO cases (sha256, file_name, path, size, first_seen, last_seen,
                       study_uid, series_uid, sop_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (sha256) DO UPDATE SET file_name = excluded.file_name,
                       path = excluded.path, last_seen = excluded.last_seen""",
                [(r.sha256, r.file_name, r.path, r.size, when, when, *_uid_values(r.uids))
                 for r, when in zip(records, whens, strict=True)])
            shas = sorted({record.sha256 for record in records})
            ids = dict(self.connection.execute(
                f"SELECT sha256, id FROM cases WHERE sha256 IN ({', '.join('?' * len(shas))})",
                shas).fetchall())
            case_ids = [ids[record.sha256] for record in records]
            self.connection.executemany(
                """INSERT INTO results (case_id, created, model_version, model_sha256, profile,
                       p_model, p, threshold, verdict, scope, scope_reason, origin, decision,
                       t_low, t_high)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (case_id, model_sha256, profile) DO UPDATE SET
                       created = excluded.created, model_version = excluded.model_version,
                       p_model = excluded.p_model, p = excluded.p, threshold = excluded.threshold,
                       verdict = excluded.verdict, scope = excluded.scope,
                       scope_reason = excluded.scope_reason, origin = excluded.origin,
                       decision = excluded.decision, t_low = excluded.t_low,
                       t_high = excluded.t_high""",
                [(case_id, when, r.model_version, r.model_sha256, r.profile, r.p_model, r.p,
                  r.threshold, _text(r.verdict), r.scope, r.scope_reason, r.origin,
                  _text(r.decision), r.t_low, r.t_high)
                 for r, case_id, when in zip(records, case_ids, whens, strict=True)])
        return case_ids

    def confirm(self, case_ids: Iterable[int], diagnosis: str | None, *, how: str | None = None,
                by: str | None = None, reader_read: str | None = None,
                note: str | None = None) -> int:
        """Set the confirmed diagnosis (one of ``DIAGNOSES``, or None to clear it) of cases;
        ``how``, ``reader_read`` and ``note`` are set where given. Returns how many changed."""
        if diagnosis is not None and diagnosis not in DIAGNOSES:
            raise ValueError(f"not a diagnosis: {diagnosis!r}")
        ids = list(case_ids)
        sets = ["confirmed = ?", "confirmed_by = ?", "confirmed_at = ?"]
        values: list = [diagnosis, by, now_text() if diagnosis else None]
        for column, value in (("confirmed_how", how), ("reader_read", reader_read),
                              ("note", note)):
            if value is not None:
                sets.append(f"{column} = ?")
                values.append(value)
        with self.connection:
            return sum(self.connection.execute(
                f"UPDATE cases SET {', '.join(sets)} WHERE id = ?", (*values, case_id)).rowcount
                for case_id in ids)

    def confirm_unless_set(self, case_id: int, diagnosis: str, *, how: str) -> bool:
        """A label the file came with (its labelled folder): kept only where nobody has
        confirmed the case yet."""
        with self.connection:
            return self.connection.execute(
                "UPDATE cases SET confirmed = ?, confirmed_how = ?, confirmed_at = ? "
                "WHERE id = ? AND confirmed IS NULL",
                (diagnosis, how, now_text(), case_id)).rowcount == 1

    def set_read(self, case_id: int, read: str) -> None:
        """The reader's own read of a case (teaching mode), recorded before the answer is shown."""
        if read not in DIAGNOSES:
            raise ValueError(f"not a read: {read!r}")
        with self.connection:
            self.connection.execute("UPDATE cases SET reader_read = ? WHERE id = ?",
                                    (read, case_id))

    def record_read(self, read: TeachingRead) -> None:
        """Keep a teaching read (the newest read of the same image replaces the older)."""
        with self.connection:
            self.connection.execute(
                "INSERT OR REPLACE INTO teaching_reads (sha256, file_name, path, created, "
                "reader_read, verdict, p, confirmed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (read.sha256, read.file_name, read.path, read.created, read.reader_read,
                 _text(read.verdict), read.p, read.confirmed))

    def teaching_reads(self) -> list[TeachingRead]:
        """Every teaching read, oldest first."""
        return [TeachingRead(*row) for row in self.connection.execute(
            "SELECT sha256, file_name, path, created, reader_read, verdict, p, confirmed "
            "FROM teaching_reads ORDER BY created, id")]

    def confirmed_of(self, sha256: str) -> str | None:
        """The clinic's confirmed diagnosis of the image with this content, if any."""
        row = self.connection.execute("SELECT confirmed FROM cases WHERE sha256 = ?",
                                      (sha256,)).fetchone()
        return row[0] if row else None

    def delete_cases(self, case_ids: Iterable[int]) -> int:
        """Forget cases and their results (the files themselves are never touched)."""
        with self.connection:
            return sum(self.connection.execute("DELETE FROM cases WHERE id = ?", (i,)).rowcount
                       for i in case_ids)

    def delete_matching(self, filters: Filters) -> int:
        """Forget every case with a result the filters select (e.g. a date range); Filters()
        forgets everything."""
        where, params = filters.where()
        with self.connection:
            return self.connection.execute(
                f"DELETE FROM cases WHERE id IN (SELECT r.case_id FROM results r{where})",
                params).rowcount

    # --- reading ------------------------------------------------------------------------------

    def rows(self, filters: Filters = Filters(), *, limit: int | None = None,
             offset: int = 0) -> list[HistoryRow]:
        """Results with their cases, newest first (one page with ``limit``)."""
        where, params = filters.where()
        sql = f"{_ROW_SQL}{where} ORDER BY r.created DESC, r.id DESC"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return [HistoryRow(*row) for row in self.connection.execute(sql, params)]

    def confirmed_p_model(self, model_sha256: str, withheld_scope: str,
                          ) -> list[tuple[str, float, bool]]:
        """Each case confirmed NORMAL or PNEUMONIA with a result of this model: (its confirmed
        diagnosis, the model's own P, whether a result was withheld as ``withheld_scope``),
        one per case whatever profile was in force (the labelled cases a site fit uses)."""
        return [(confirmed, p_model, bool(withheld)) for confirmed, p_model, withheld in
                self.connection.execute(
                    """SELECT c.confirmed, max(r.p_model), max(r.scope = ?) FROM cases c
                       JOIN results r ON r.case_id = c.id
                       WHERE c.confirmed IN ('NORMAL', 'PNEUMONIA') AND r.model_sha256 = ?
                       GROUP BY c.id""", (withheld_scope, model_sha256))]

    def count(self, filters: Filters = Filters()) -> int:
        where, params = filters.where()
        return self.connection.execute(
            f"SELECT count(*) FROM results r{where}",
            params).fetchone()[0]

    def case_count(self) -> int:
        return self.connection.execute("SELECT count(*) FROM cases").fetchone()[0]

    def integrity(self) -> str:
        return self.connection.execute("PRAGMA integrity_check").fetchone()[0]


def _refuse_foreign_bytes(path: Path) -> None:
    """A file that exists, is not empty and does not begin as SQLite (notes, an image, a damaged
    header) is not ours: refused before SQLite ever opens it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise NotAHistoryError(name=path.name) from None
    if head and head != SQLITE_MAGIC:
        raise NotAHistoryError(name=path.name)


def _check_ours(connection: sqlite3.Connection, path: Path) -> bool:
    """Raise ``NotAHistoryError`` unless the open file is ours: marked with ``APPLICATION_ID``,
    new (no tables), or a history of ours from before the mark (its exact schema). Returns True
    for the last (to be marked). Damage in a file marked ours propagates (moved aside)."""
    try:
        app_id = connection.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise NotAHistoryError(name=path.name) from exc
    if app_id not in (0, APPLICATION_ID):
        raise NotAHistoryError(name=path.name)
    try:
        schema = connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if app_id == APPLICATION_ID or not is_damage(exc):
            raise
        raise NotAHistoryError(name=path.name) from exc  # unmarked and damaged: not known ours
    if app_id == APPLICATION_ID or not schema:
        return False
    if 0 < version <= SCHEMA_VERSION and schema == _schema_at(version):
        return True
    raise NotAHistoryError(name=path.name)


def _schema_at(version: int) -> list[tuple]:
    """``sqlite_master`` of a history created by our migrations up to ``version``."""
    memory = sqlite3.connect(":memory:")
    try:
        for script in MIGRATIONS[:version]:
            for statement in _statements(script):
                memory.execute(statement)
        return memory.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        memory.close()


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that can write nothing. On a read-only folder a WAL file cannot get its
    shared-memory file; it is then opened as immutable (a snapshot of the main file)."""
    uri = path.resolve().as_uri()
    for query in ("mode=ro", "immutable=1"):
        connection = sqlite3.connect(f"{uri}?{query}", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                     check_same_thread=False)
        try:
            connection.execute("PRAGMA application_id").fetchone()
            return connection
        except sqlite3.OperationalError:
            connection.close()
            if query == "immutable=1":
                raise
            log.info("History %s cannot be opened mode=ro; reading it as immutable", path)
        except sqlite3.DatabaseError as exc:  # "file is not a database": a damaged header
            connection.close()
            raise NotAHistoryError(name=path.name) from exc
    raise AssertionError("unreachable")


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA foreign_keys = ON")
    # WAL + NORMAL: a commit survives the process being killed (only a power cut may lose the
    # last ones), and costs no fsync per file.
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Bring the schema from ``version`` to ``SCHEMA_VERSION``, one transaction per step (a
    second process migrating at the same time waits, then finds nothing left to do)."""
    while version < SCHEMA_VERSION:
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                if version == 0:  # a new history: marked ours in the transaction that makes it
                    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                for statement in _statements(MIGRATIONS[version]):
                    connection.execute(statement)
                version += 1
                connection.execute(f"PRAGMA user_version = {version}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        log.info("History schema now at version %d", version)


def _statements(script: str) -> Sequence[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def is_damage(exc: sqlite3.Error) -> bool:
    """True for the errors of a damaged file or one that is not a database (not for a locked,
    read-only or full one)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def quick_check(path: Path) -> str | None:
    """``PRAGMA quick_check`` of the history at ``path`` on a connection of its own (a window
    runs it beside its queries): "ok", what is damaged, or None when the file could not be
    read at all (gone, locked past the timeout)."""
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            return connection.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            connection.close()
    except (OSError, sqlite3.Error) as exc:  # a locked or vanished file is not a damaged one
        return str(exc) if is_damage(exc) else None


def _move_aside(path: Path) -> Path:
    """Rename a damaged history (and its WAL and shared-memory files) to a dated name beside it;
    nothing is deleted."""
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H%M%S")
    kept = path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}")
    n = 1
    while kept.exists():
        n += 1
        kept = path.with_name(f"{path.stem}.damaged-{stamp}-{n}{path.suffix}")
    os.replace(path, kept)
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            os.replace(extra, Path(f"{kept}{suffix}"))
    return kept
