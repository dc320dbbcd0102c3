"""The case history as a CSV file (``history export`` and the History view's Export CSV): the
same columns both ways, written atomically through the one CSV writer
(``desktop.engine.results.csv_document``: formulas neutralised, every cell lossless).
Identifiers are not in the history, so never here."""

from __future__ import annotations

import logging
from pathlib import Path

from desktop.cases.store import HistoryRow
from desktop.engine.results import DECIMALS, csv_document, write_text_file

log = logging.getLogger(__name__)

COLUMNS = ("created", "file", "path", "sha256", "verdict", "p_pneumonia", "p_model", "threshold",
           "scope", "scope_reason", "profile", "model_version", "model_sha256", "confirmed",
           "confirmed_how", "reader_read", "note", "confirmed_by", "confirmed_at", "agreement",
           "decision", "t_low", "t_high")
# As ``predict --csv``: ``verdict`` is the class alone (empty for a referred result), ``decision``
# NORMAL, PNEUMONIA or REFER, ``t_low``/``t_high`` the refer band that decided (empty: the
# threshold did). The new columns come last, so a script reading the first ones reads the same.


def _cells(row: HistoryRow) -> list:
    agreement = {True: "agree", False: "disagree", None: ""}[row.agreement]
    return [row.created, row.file_name, row.path, row.sha256, row.verdict,
            row.p_text(DECIMALS), row.p_text(DECIMALS, model=True),
            f"{row.threshold:.{DECIMALS}f}", row.scope, row.scope_reason, row.profile,
            row.model_version, row.model_sha256, row.confirmed, row.confirmed_how,
            row.reader_read, row.note, row.confirmed_by, row.confirmed_at, agreement,
            row.decision, _band_end(row.t_low), _band_end(row.t_high)]


def _band_end(value: float | None) -> str:
    return "" if value is None else f"{value:.{DECIMALS}f}"


def history_csv_text(rows: list[HistoryRow]) -> str:
    return csv_document(COLUMNS, (_cells(row) for row in rows))


def write_history_csv(path: Path, rows: list[HistoryRow]) -> None:
    """Atomically; ``WriteError`` when it cannot be written."""
    write_text_file(path, history_csv_text(rows))
