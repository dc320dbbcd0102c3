"""Monitoring a site's use: per week and per block of 50 cases, the share called PNEUMONIA, the
share referred to a human reader (where a refer band decided), the share out of scope, and
agreement with the confirmed diagnoses where they are known; a warning when the flagged share,
or the referred share, has left what calibration saw.

"Left" means the period's own exact 95% interval of the flagged share does not overlap the
profile's interval: a quiet week of six images does not raise an alarm, a real shift does. The
calibration's share reflects the mix of the cases it was fitted on (a labelled folder may be
half pneumonia), which the warning's sentence says. The referred share is compared with the
exact 95% interval of the share the band referred among the images it was certified on
(``referral_interval``): a week that refers far more than that met images unlike them.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from desktop.cases.calibration import Rate
from desktop.cases.store import HistoryRow, HistoryStore
from desktop.engine.scope import NOT_CHEST_XRAY
from desktop.errors import N_, UserError
from desktop.outcomes import Outcome
from desktop.stats import clopper_pearson

log = logging.getLogger(__name__)

BLOCK = 50  # cases per block in the "per 50 cases" view
SHIFTED = N_("The share called {pneumonia} ({share}) is outside what calibration saw "
             "({low}–{high}) in {period}; if the patients have not changed, calibrate again.")
REFERRAL_SHIFTED = N_("The share referred to a human reader ({share}) is outside what the refer "
                      "band referred when it was certified ({low}–{high}) in {period}; if the "
                      "patients have not changed, calibrate again.")


@dataclass(frozen=True)
class Period:
    label: str  # "2026-W49", or "1–50"
    results: int  # cases (distinct contents), each counted once: by its newest result
    flagged: Rate  # PNEUMONIA among the images given a verdict
    out_of_scope: Rate  # withheld (not chest X-rays) among all results
    agreement: Rate  # verdict = confirmed among the confirmed NORMAL / PNEUMONIA
    shifted: bool  # the flagged share left the calibration's interval
    referred: Rate = Rate.of(0, 0)  # REFER among the answers a refer band gave (n 0: no band)
    referral_shifted: bool = False  # the referred share left the band's certified interval


def referral_interval(band) -> tuple[float, float] | None:
    """The exact 95% interval of the share ``band`` (a ``desktop.referband.ReferBand``)
    referred among the images it was certified on; None where it does not say (no band, or a
    band without its share or its counts)."""
    n = 0 if band is None else band.n_normal + band.n_pneumonia
    if not n or band.referred is None:
        return None
    return clopper_pearson(round(band.referred * n), n)


def _week(created: str) -> str:
    year, week, _ = dt.date.fromisoformat(created[:10]).isocalendar()
    return f"{year}-W{week:02d}"


def periods(rows: Iterable[HistoryRow], *, by: str = "week",
            calibration_interval: tuple[float, float] | None = None,
            referral_interval: tuple[float, float] | None = None) -> list[Period]:
    """Cases in time order, grouped per ISO week (``by="week"``) or per ``BLOCK`` cases. A case
    (a file's content) opened again, or classified under another profile, has several results:
    it counts once, by its newest (20 cases showed as "30 results"). ``referral_interval``: the
    band's (``referral_interval(band)``), for the referred share's warning."""
    newest: dict[int, HistoryRow] = {}
    for row in rows:
        kept = newest.get(row.case_id)
        if kept is None or (row.created, row.result_id) > (kept.created, kept.result_id):
            newest[row.case_id] = row
    ordered = sorted(newest.values(), key=lambda r: (r.created, r.result_id))
    groups: dict[str, list[HistoryRow]] = {}
    for i, row in enumerate(ordered):
        key = _week(row.created) if by == "week" else \
            f"{i // BLOCK * BLOCK + 1}–{i // BLOCK * BLOCK + BLOCK}"
        groups.setdefault(key, []).append(row)
    return [_period(label, group, calibration_interval, referral_interval)
            for label, group in groups.items()]


def history_periods(db_path: Path | None, *, by: str = "week",
                    calibration_interval: tuple[float, float] | None = None,
                    referral_interval: tuple[float, float] | None = None,
                    ) -> list[Period] | None:
    """``periods`` of every result in the history at ``db_path`` (Cases → Monitoring, on a
    thread of its own); None when the history cannot be read (why is in the log)."""
    try:
        store = HistoryStore.open(db_path)
        try:
            rows = store.rows()
        finally:
            store.close()
    except (OSError, sqlite3.Error, UserError):  # UserError: not a history of ours
        log.exception("Monitoring could not read the history")
        return None
    return periods(rows, by=by, calibration_interval=calibration_interval,
                   referral_interval=referral_interval)


def _left(rate: Rate, interval: tuple[float, float] | None) -> bool:
    """The period's own interval does not overlap ``interval`` (nothing to say without one)."""
    return bool(interval and rate.n and (rate.high < interval[0] or rate.low > interval[1]))


def _period(label: str, rows: list[HistoryRow], interval: tuple[float, float] | None,
            referral: tuple[float, float] | None) -> Period:
    verdicts = [r for r in rows if r.outcome.is_verdict]
    known = [r for r in rows if r.agreement is not None]
    banded = [r for r in rows if r.outcome.is_decision and r.t_low is not None]
    flagged = Rate.of(sum(r.outcome is Outcome.PNEUMONIA for r in verdicts), len(verdicts))
    referred = Rate.of(sum(r.outcome is Outcome.REFER for r in banded), len(banded))
    return Period(label, len(rows), flagged,
                  Rate.of(sum(r.scope == NOT_CHEST_XRAY for r in rows), len(rows)),
                  Rate.of(sum(bool(r.agreement) for r in known), len(known)),
                  _left(flagged, interval), referred, _left(referred, referral))
