"""Cases → Calibrate's work below the window: gather the labelled cases (the history's confirmed
ones, or a labelled folder classified by the engine handed in) and fit the study, on a thread
of its own; the window gets one reply, ``Fitted`` or ``FitFailed``. The figures are the same
``Study`` the command line and the PDF use.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from desktop.cases.calibration import Study, calibrate
from desktop.cases.samples import classify_labelled, confirmed_samples_at, labelled_files
from desktop.errors import Sentence, UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fitted:
    """The study, what the labelled images left out and why (None: nothing), and the folder
    they came from (None: the history's confirmed cases)."""

    study: Study
    left_out: Sentence | None
    folder: Path | None


@dataclass(frozen=True)
class FitFailed:
    """Why no study: ``error`` in the user's words, or None (the details are in the log)."""

    error: UserError | None


class CalibrationJob:
    """Fits a site study with ``engine`` (the window's loaded one: it serves several threads)
    on the history at ``db_path`` or a labelled folder."""

    def __init__(self, engine, db_path: Path | None) -> None:
        self.engine = engine
        self.db_path = db_path

    def start(self, post: Callable[[Fitted | FitFailed], None], *, folder: Path | None,
              target: float | None, shipped: float) -> None:
        """``run`` on a thread of its own; ``post`` gets its reply from that thread."""
        threading.Thread(target=lambda: post(self.run(folder=folder, target=target,
                                                      shipped=shipped)),
                         name="cxr-calibrate", daemon=True).start()

    def run(self, *, folder: Path | None, target: float | None,
            shipped: float) -> Fitted | FitFailed:
        """The study on ``folder``'s labelled images (None: the history's confirmed cases of
        this model), at the sensitivity ``target`` (None: balanced), beside the ``shipped``
        threshold."""
        try:
            if folder is None:
                samples = confirmed_samples_at(self.db_path, self.engine.sha256)
            else:
                samples = classify_labelled(self.engine, labelled_files(folder))
            p_model, labels = samples.arrays()
            study = calibrate(p_model, labels, shipped_threshold=shipped,
                              target_sensitivity=target, n_out_of_scope=samples.out_of_scope)
            return Fitted(study, samples.left_out(), folder)
        except UserError as exc:
            return FitFailed(exc)
        except (OSError, sqlite3.Error, ValueError):
            log.exception("Calibration failed")
            return FitFailed(None)
