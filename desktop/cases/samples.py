"""The labelled cases a calibration is fitted on: a labelled folder (``DIR/NORMAL/…``,
``DIR/PNEUMONIA/…``, the training layout) classified now, or the history's cases with a
confirmed NORMAL or PNEUMONIA under this model file. Either way: the model's own P, the label,
and how many were left out as not chest X-rays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from desktop.cases.store import HistoryStore
from desktop.engine.scope import NOT_CHEST_XRAY
from desktop.errors import N_, UserError

LABELS = ("NORMAL", "PNEUMONIA")
NOT_LABELLED = N_("The folder {name} has no NORMAL and PNEUMONIA sub-folders; put each labelled "
                  "image in the sub-folder of its diagnosis.")


@dataclass
class Samples:
    p_model: list[float] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)  # 1 PNEUMONIA, 0 NORMAL
    out_of_scope: int = 0
    unreadable: int = 0

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.p_model, dtype=np.float64), np.asarray(self.labels, np.int64)


def labelled_files(folder: Path) -> list[tuple[Path, str]]:
    """(file, label) for every image under ``folder``'s NORMAL and PNEUMONIA sub-folders (any
    letter case); ``UserError`` when it has neither."""
    from desktop.reading.files import scan

    subfolders = {p.name.upper(): p for p in Path(folder).iterdir() if p.is_dir()} \
        if Path(folder).is_dir() else {}
    found = [(path, label) for label in LABELS if label in subfolders
             for path in scan([subfolders[label]]).files]
    if not found:
        raise UserError(NOT_LABELLED, name=Path(folder).name)
    return found


def classify_labelled(engine, files: list[tuple[Path, str]],
                      on_result: Callable | None = None) -> Samples:
    """Run the model over the labelled files; ``on_result(result, label)`` sees each one (to
    record it, to show progress)."""
    labels = dict(files)
    samples = Samples()
    for result in engine.predict_paths([p for p, _ in files], preview_size=None):
        result.drop_images()
        label = labels[result.path]
        if on_result is not None:
            on_result(result, label)
        if not result.ok:
            samples.unreadable += 1
        elif result.scope is not None and result.scope.state == NOT_CHEST_XRAY:
            samples.out_of_scope += 1
        else:
            samples.p_model.append(float(result.p_pneumonia))
            samples.labels.append(int(label == "PNEUMONIA"))
    return samples


def confirmed_samples_at(db_path: Path | None, model_sha256: str) -> Samples:
    """``confirmed_samples`` of the history file at ``db_path`` (default: the user's)."""
    store = HistoryStore.open(db_path, read_only=True)  # a reading: nothing created
    try:
        return confirmed_samples(store, model_sha256)
    finally:
        store.close()


def confirmed_samples(store: HistoryStore, model_sha256: str) -> Samples:
    """The history's cases confirmed NORMAL or PNEUMONIA, with this model's own P (one per
    case, whatever profile was in force when it was classified)."""
    samples = Samples()
    query = """SELECT c.confirmed, max(r.p_model), max(r.scope = ?) FROM cases c
               JOIN results r ON r.case_id = c.id
               WHERE c.confirmed IN ('NORMAL', 'PNEUMONIA') AND r.model_sha256 = ?
               GROUP BY c.id"""
    for confirmed, p_model, withheld in store.connection.execute(
            query, (NOT_CHEST_XRAY, model_sha256)):
        if withheld:
            samples.out_of_scope += 1
        else:
            samples.p_model.append(float(p_model))
            samples.labels.append(int(confirmed == "PNEUMONIA"))
    return samples
