"""The labelled cases a calibration is fitted on: a labelled folder (``DIR/NORMAL/…``,
``DIR/PNEUMONIA/…``, the training layout) classified now, or the history's cases with a
confirmed NORMAL or PNEUMONIA under this model file. Either way: the model's own P, the label,
and what was left out and why (not chest X-rays, unreadable files, duplicate copies).

A labelled folder is read strictly, since a wrong label makes a wrong profile: every sub-folder
whose name is a label in any letter case (``NORMAL/`` and ``normal/`` both count), images
counted once by content (sha256: forty copies of one image are one case), and a calibration is
refused when an image is filed under both labels, by its content (the same bytes under
``NORMAL/`` and ``PNEUMONIA/``) or by its path (``NORMAL/PNEUMONIA/x.jpeg``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from desktop.cases.store import HistoryStore
from desktop.engine.scope import NOT_CHEST_XRAY
from desktop.errors import N_, NP_, Sentence, UserError

log = logging.getLogger(__name__)

LABELS = ("NORMAL", "PNEUMONIA")
NOT_LABELLED = N_("The folder {name} has no NORMAL and PNEUMONIA sub-folders; put each labelled "
                  "image in the sub-folder of its diagnosis.")
BOTH_LABELS = NP_("{count} image is filed under both NORMAL/ and PNEUMONIA/ (e.g. {example}), so "
                  "no profile was fitted; put each image under its one diagnosis only.",
                  "{count} images are filed under both NORMAL/ and PNEUMONIA/ (e.g. {example}), "
                  "so no profile was fitted; put each image under its one diagnosis only.")
LEFT_OUT = N_("Left out: {duplicates} duplicate copies (each image counted once), {unreadable} "
              "unreadable files{names}, {out_of_scope} not chest X-rays.")
SHOWN_NAMES = 5  # unreadable files named in the sentence; the rest are in the log


class LabelsContradict(UserError):
    """The same image under both labels: no profile can be fitted on that."""

    message = BOTH_LABELS[0]

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.plural = BOTH_LABELS[1]


@dataclass
class Samples:
    p_model: list[float] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)  # 1 PNEUMONIA, 0 NORMAL
    out_of_scope: int = 0
    unreadable: int = 0
    unreadable_names: list[str] = field(default_factory=list)
    duplicates: int = 0  # copies of an image already counted under its label

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.p_model, dtype=np.float64), np.asarray(self.labels, np.int64)

    def left_out(self) -> Sentence | None:
        """What was left out and why, in one sentence (None: nothing was)."""
        if not (self.duplicates or self.unreadable or self.out_of_scope):
            return None
        names = self.unreadable_names[:SHOWN_NAMES]
        more = ", …" if len(self.unreadable_names) > SHOWN_NAMES else ""
        return Sentence(LEFT_OUT, duplicates=self.duplicates, unreadable=self.unreadable,
                        names=f" ({', '.join(names)}{more})" if names else "",
                        out_of_scope=self.out_of_scope)


class LabelledFiles(list):
    """(file, label) for each distinct labelled image, with how many copies were dropped and
    which files could not be read to hash (``labelled_files``)."""

    def __init__(self, files=(), duplicates: int = 0, unreadable: list[str] | None = None):
        super().__init__(files)
        self.duplicates = duplicates
        self.unreadable = unreadable or []


def _labelled_subfolders(folder: Path) -> list[tuple[Path, str]]:
    """Every sub-folder of ``folder`` named as a label in any letter case, with its label."""
    if not folder.is_dir():
        return []
    return sorted(((p, p.name.upper()) for p in folder.iterdir()
                   if p.is_dir() and p.name.upper() in LABELS), key=lambda pair: str(pair[0]))


def labelled_files(folder: Path) -> LabelledFiles:
    """(file, label) for each distinct image under ``folder``'s label sub-folders (see the
    module's docstring); ``UserError`` when it has none, ``LabelsContradict`` when an image
    is filed under both labels."""
    from desktop.reading.files import scan
    from desktop.reading.identity import file_sha256

    folder = Path(folder)
    by_content: dict[str, tuple[Path, str]] = {}
    conflicts: list[str] = []
    duplicates, unreadable = 0, []
    for subfolder, label in _labelled_subfolders(folder):
        for path in scan([subfolder]).files:
            inner = {part.upper() for part in path.relative_to(subfolder).parts[:-1]}
            if inner & set(LABELS) - {label}:  # NORMAL/PNEUMONIA/x.jpeg: which is it?
                conflicts.append(str(path.relative_to(folder)))
                continue
            try:
                digest = file_sha256(path)
            except OSError:
                log.warning("Cannot read %s to calibrate on it", path, exc_info=True)
                unreadable.append(path.name)
                continue
            first = by_content.setdefault(digest, (path, label))
            if first[0] == path:
                continue
            if first[1] != label:
                conflicts.append(f"{first[0].relative_to(folder)} = {path.relative_to(folder)}")
            else:
                duplicates += 1
    if conflicts:
        raise LabelsContradict(count=len(conflicts), example=conflicts[0])
    if not by_content and not unreadable:
        raise UserError(NOT_LABELLED, name=folder.name)
    return LabelledFiles(by_content.values(), duplicates, unreadable)


def classify_labelled(engine, files: list[tuple[Path, str]],
                      on_result: Callable | None = None) -> Samples:
    """Run the model over the labelled files; ``on_result(result, label)`` sees each one (to
    record it, to show progress). What was left out is counted, unreadable files by name."""
    labels = dict(files)
    samples = Samples(duplicates=getattr(files, "duplicates", 0),
                      unreadable=len(getattr(files, "unreadable", [])),
                      unreadable_names=list(getattr(files, "unreadable", [])))
    for result in engine.predict_paths([p for p, _ in files], preview_size=None):
        result.drop_images()
        label = labels[result.path]
        if on_result is not None:
            on_result(result, label)
        if not result.ok:
            samples.unreadable += 1
            samples.unreadable_names.append(result.path.name)
            log.info("Left out of the calibration, unreadable: %s (%s)", result.path,
                     result.error)
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
    for confirmed, p_model, withheld in store.confirmed_p_model(model_sha256, NOT_CHEST_XRAY):
        if withheld:
            samples.out_of_scope += 1
        else:
            samples.p_model.append(float(p_model))
            samples.labels.append(int(confirmed == "PNEUMONIA"))
    return samples
