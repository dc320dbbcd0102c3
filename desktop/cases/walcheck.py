"""A write-ahead file (``history.db-wal``) left beside a history restored from a backup.

SQLite binds a WAL to its database by nothing but the file name: a stale ``-wal`` beside a
restored copy is replayed over it (550 results became 112 in a trial). Telling a stale WAL from
the live one of a process that crashed is not possible from the two files alone (the WAL's
salts are recorded nowhere in the database), so the history commands warn instead, on the sign a
restore leaves: a WAL with frames, older than the database file written after it. The restore
procedure that avoids the problem is in docs/history.md.
"""

from __future__ import annotations

import os
from pathlib import Path

from desktop.errors import N_, Sentence

WAL_HEADER = 32  # bytes; a WAL with frames is longer
STALE_WAL = N_("{wal} lies beside the case history but is older than it, as after restoring a "
               "backup: if you restored {name}, close the application and delete {wal} and "
               "{shm} before using the history again (docs/history.md).")


def stale_wal_warning(db: Path) -> Sentence | None:
    """The warning for ``db``'s WAL when it looks stale (see the module), else None."""
    wal = Path(f"{db}-wal")
    try:
        wal_stat, db_stat = os.stat(wal), os.stat(db)
    except OSError:
        return None
    if wal_stat.st_size <= WAL_HEADER or wal_stat.st_mtime_ns >= db_stat.st_mtime_ns:
        return None
    return Sentence(STALE_WAL, name=db.name, wal=wal.name, shm=f"{db.name}-shm")
