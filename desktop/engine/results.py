"""One file's outcome (``Result``), the row it becomes in a CSV or a JSON line (``ResultRow``),
and the one CSV writer: the window's "Export CSV…" and ``python -m desktop predict --csv`` both
write through ``write_csv``, so the two files are the same for the same inputs.

The engine makes a ``Result`` per file, the worker hands it to the window, the ``Session`` keeps
it; the verdict is not stored but computed from ``p_pneumonia`` at the session's threshold, so a
threshold change re-labels every result without running the model again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.errors import (
    FileChangedError,
    FileMissingError,
    NoSuchFileError,
    UserError,
    WriteError,
)
from desktop.safetext import csv_cell, lossless

log = logging.getLogger(__name__)

# ``decision`` is NORMAL, PNEUMONIA or REFER (``desktop.outcomes``); ``verdict`` stays the class
# alone (empty for REFER), so a script written for the first columns reads the same. ``t_low`` and
# ``t_high`` are the refer band that decided (empty when the single threshold did).
CSV_COLUMNS = ("file", "path", "verdict", "p_pneumonia", "threshold", "scope", "scope_reason",
               "error", "profile", "decision", "t_low", "t_high")
DECIMALS = 6  # P(pneumonia) and the threshold in files: as precise as researchers want them


def fingerprint(model_input: np.ndarray) -> str:
    """A short digest of what the model saw: a re-read for the preview must give the same input,
    or the image shown would not be the one classified."""
    data = np.ascontiguousarray(model_input, dtype=np.uint8).tobytes()
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def read_again(path: Path, expected: str | None, preview_size: int):
    """A classified file read again for a picture (rows keep no images). Raises
    ``FileMissingError`` when it has gone since (it was there when classified) and
    ``FileChangedError`` when it no longer gives the input classified (``expected``), so what is
    shown is never another image than the one classified; any other ``ReadError`` as read."""
    from desktop.reading.imaging import read_image

    try:
        xray = read_image(path, preview_size=preview_size)
    except NoSuchFileError as exc:
        raise FileMissingError() from exc
    if expected is not None and fingerprint(xray.model_input) != expected:
        raise FileChangedError()
    return xray


@dataclass(eq=False)
class Result:
    """One opened file: its probability or its error, what the reader learnt about it, and (for
    the files on screen) the images the result pane shows.

    ``key`` is given by the ``Session`` that holds it. ``preview``, ``model_input`` and
    ``heatmap`` are kept only where they are needed (the result on screen and a few recently
    viewed ones); ``fingerprint`` stays, to check that a re-read gives the image classified.
    """

    path: Path
    p_pneumonia: float | None  # as shown: the site profile's recalibration applied (if any)
    error: UserError | None = None
    source: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None
    scope: Any = None  # desktop.engine.scope.Scope: in scope, unusual or not a chest X-ray, and why
    key: int = 0
    preview: Any = field(default=None, repr=False)  # PIL "L" image
    display: Any = field(default=None, repr=False)  # imaging.DisplayBuffer (>8-bit images)
    model_input: np.ndarray | None = field(default=None, repr=False)  # uint8 [224, 224]
    heatmap: np.ndarray | None = field(default=None, repr=False)  # float [224, 224] in [0, 1]
    heatmap_error: UserError | None = None
    preview_error: UserError | None = None  # why the re-read for the preview failed
    p_model: float | None = None  # the model's own P, before a site profile (Session.add)
    identity: Any = None  # reading.identity.FileIdentity, when the engine was asked to identify

    @property
    def ok(self) -> bool:
        return self.error is None and self.p_pneumonia is not None

    def drop_images(self) -> None:
        """Forget the images (a batch keeps none); the fingerprint stays."""
        self.preview = self.display = self.model_input = self.heatmap = None
        self.heatmap_error = None


@dataclass(frozen=True)
class ResultRow:
    """What a file exports: the CSV columns, and the ``--json`` line's keys. Errors are in
    English, so a file reads the same whatever language the window was in."""

    file: str
    path: str
    verdict: str | None  # NORMAL/PNEUMONIA; None: unreadable, withheld, or referred
    p_pneumonia: float | None  # None where there is no decision: unreadable, or withheld
    threshold: float
    scope: str | None  # desktop.engine.scope.STATES; None: unreadable, or a model without a check
    scope_reason: str | None
    error: str | None
    profile: str | None = None  # the site profile in force (its refit gave P and the threshold)
    # The model's output for an image outside its scope (no verdict): in ``--json`` only, for
    # researchers, under a name that does not read as a probability of pneumonia.
    score_outside_scope: float | None = None
    decision: str | None = None  # NORMAL, PNEUMONIA or REFER; None: unreadable or withheld
    t_low: float | None = None  # the refer band that decided, when one did
    t_high: float | None = None

    def __post_init__(self) -> None:
        if self.decision is None and self.verdict is not None:  # a verdict is its decision
            object.__setattr__(self, "decision", self.verdict)

    def csv_cells(self) -> list[str]:
        return [
            self.file,
            self.path,
            self.verdict or "",
            "" if self.p_pneumonia is None else f"{self.p_pneumonia:.{DECIMALS}f}",
            f"{self.threshold:.{DECIMALS}f}",
            self.scope or "",
            self.scope_reason or "",
            self.error or "",
            self.profile or "",
            self.decision or "",
            "" if self.t_low is None else f"{self.t_low:.{DECIMALS}f}",
            "" if self.t_high is None else f"{self.t_high:.{DECIMALS}f}",
        ]

    def as_json(self) -> dict[str, Any]:
        return {
            "path": lossless(self.path),
            "verdict": self.verdict,
            "decision": None if self.decision is None else str(self.decision),
            "p_pneumonia": None if self.p_pneumonia is None else round(self.p_pneumonia,
                                                                        DECIMALS),
            "threshold": self.threshold,  # exact: the number the verdict was decided at
            "scope": self.scope,
            "scope_reason": self.scope_reason,
            "error": self.error,
            "profile": None if self.profile is None else lossless(self.profile),
            "refer_band": None if self.t_low is None else [self.t_low, self.t_high],
        } | ({} if self.score_outside_scope is None else
             {"score_outside_scope": round(self.score_outside_scope, DECIMALS)})


def csv_document(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The one CSV writer (``predict --csv``, the window's Export CSV, ``history export``).

    RFC 4180: CRLF line ends, and a cell holding a comma, a quote, CR or LF is quoted, so a file
    name with a carriage return reads back as one cell. Every cell goes through
    ``desktop.safetext.csv_cell``: undecodable bytes escaped, formulas neutralised (numbers stay
    numbers)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(name) for name in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue()


def csv_text(rows: list[ResultRow]) -> str:
    return csv_document(CSV_COLUMNS, (row.csv_cells() for row in rows))


def write_csv(path: Path, rows: list[ResultRow]) -> None:
    """Write ``rows`` atomically (no half-written file, ever); ``WriteError`` when it cannot."""
    write_text_file(path, csv_text(rows))


def write_text_file(path: Path, text: str) -> None:
    """A file the user asked for, written atomically; ``WriteError`` when it cannot be."""
    from desktop.atomicio import atomic_write_text

    try:
        atomic_write_text(Path(path), text)
    except OSError as exc:
        log.exception("Cannot write %s", path)
        raise WriteError(name=Path(path).name) from exc
