"""Labelled image folders -> decoded uint8 tensors, and the patient-level validation split.

Images are decoded once, by the app's own reader (``desktop.reading.imaging.load_model_input``),
and kept
in memory as one uint8 tensor; augmentation then works on whole batches of tensors.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from desktop.modelfile import CLASSES, INPUT_SIZE

log = logging.getLogger(__name__)


class DataError(Exception):
    """A data folder the training cannot use; the message says what to fix."""


@dataclass
class Split:
    """Decoded images of one split: ``images`` uint8 [N, 1, 224, 224], ``labels`` int64 [N]."""

    images: torch.Tensor
    labels: torch.Tensor
    paths: list[Path]

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, index: list[int]) -> Split:
        idx = torch.as_tensor(index, dtype=torch.long)
        return Split(self.images[idx], self.labels[idx], [self.paths[i] for i in index])

    def counts(self) -> dict[str, int]:
        return {name: int((self.labels == k).sum()) for k, name in enumerate(CLASSES)}


def _image_suffixes() -> frozenset[str]:
    from desktop.reading.imaging import SUPPORTED_SUFFIXES

    return frozenset(SUPPORTED_SUFFIXES)


def list_split(root: Path) -> tuple[list[Path], list[int], list[Path]]:
    """Files of ``root/{NORMAL,PNEUMONIA}``: (image paths, labels, ignored non-image files)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; expected {root}/NORMAL and {root}/PNEUMONIA.")
    suffixes = _image_suffixes()
    paths: list[Path] = []
    labels: list[int] = []
    ignored: list[Path] = []
    for label, name in enumerate(CLASSES):
        folder = root / name
        if not folder.is_dir():
            raise DataError(f"missing class folder {folder}: put the {name} images there.")
        found = []
        for p in sorted(folder.rglob("*")):
            if not p.is_file() or p.name.startswith("."):
                continue
            (found if p.suffix.lower() in suffixes else ignored).append(p)
        if not found:
            raise DataError(
                f"class folder {folder} holds no images "
                f"(looked for {', '.join(sorted(suffixes))})."
            )
        paths += found
        labels += [label] * len(found)
    if ignored:
        shown = ", ".join(str(p) for p in ignored[:5])
        more = f" and {len(ignored) - 5} more" if len(ignored) > 5 else ""
        log.warning("ignored %d non-image files: %s%s", len(ignored), shown, more)
    return paths, labels, ignored


def _read(path: Path) -> np.ndarray | Exception:
    from desktop.reading.imaging import load_model_input

    try:
        img = load_model_input(path)
    except Exception as exc:  # noqa: BLE001 - every unreadable file is reported, then skipped
        return exc
    if img.shape != (INPUT_SIZE, INPUT_SIZE) or img.dtype != np.uint8:
        return ValueError(f"reader returned {img.shape} {img.dtype}")
    return img


def load_split(root: Path, *, workers: int | None = None, progress: bool = True) -> Split:
    """Decodes every image of a split once; unreadable files are skipped, named and counted."""
    paths, labels, _ = list_split(root)
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:
        results = list(tqdm(pool.map(_read, paths), total=len(paths), desc=f"read {root.name}",
                            disable=not progress, leave=False))
    keep = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
    bad = [(paths[i], results[i]) for i in range(len(paths)) if isinstance(results[i], Exception)]
    if bad:
        for p, exc in bad[:10]:
            log.warning("skipped unreadable file %s: %s", p, exc)
        log.warning("skipped %d unreadable file(s) of %d in %s", len(bad), len(paths), root)
    kept_labels = [labels[i] for i in keep]
    for k, name in enumerate(CLASSES):
        if k not in kept_labels:
            raise DataError(f"no readable {name} image in {root / name}; "
                            f"{len(bad)} file(s) could not be read.")
    images = torch.from_numpy(np.stack([results[i] for i in keep]))[:, None]
    return Split(images, torch.tensor(kept_labels, dtype=torch.long), [paths[i] for i in keep])


# --- patients ---------------------------------------------------------------------------------

_PNEUMONIA_NAME = re.compile(r"^person(\d+)_(?:bacteria|virus)_\d+", re.IGNORECASE)
_NORMAL_NAME = re.compile(r"^(?:NORMAL2-)?IM-(\d+)-\d+", re.IGNORECASE)


def patient_id(path: Path) -> str:
    """Patient group of a file (Kermany naming); a name that does not parse is its own group."""
    name = Path(path).name
    m = _PNEUMONIA_NAME.match(name)
    if m:
        return f"person{int(m.group(1))}"
    m = _NORMAL_NAME.match(name)
    if m:
        return f"IM-{int(m.group(1))}"
    return f"file:{name}"


def patient_split(
    paths: list[Path], labels: list[int], val_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Indices (train, val): about ``val_fraction`` of each class's patients go to validation.

    All images of a patient land on one side. A patient whose images carry both labels is
    counted with the class of the majority of them, and still kept whole.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(paths):
        groups[patient_id(p)].append(i)
    by_class: dict[int, list[str]] = defaultdict(list)
    for pid, idx in groups.items():
        votes = [labels[i] for i in idx]
        by_class[max(set(votes), key=votes.count)].append(pid)
    rng = random.Random(seed)
    val_ids: set[str] = set()
    for label in sorted(by_class):
        ids = sorted(by_class[label])
        rng.shuffle(ids)
        n_val = max(1, round(len(ids) * val_fraction)) if len(ids) > 1 else 0
        val_ids.update(ids[:n_val])
    train_idx = [i for i, p in enumerate(paths) if patient_id(p) not in val_ids]
    val_idx = [i for i, p in enumerate(paths) if patient_id(p) in val_ids]
    return train_idx, val_idx


def train_val(data_dir: Path, *, val_fraction: float, seed: int, min_val: int = 100,
              progress: bool = True) -> tuple[Split, Split, str]:
    """Train and validation splits of DIR: DIR/val when it is usable, else carved by patient."""
    data_dir = Path(data_dir)
    train = load_split(data_dir / "train", progress=progress)
    val_dir = data_dir / "val"
    if val_dir.is_dir():
        try:
            val = load_split(val_dir, progress=progress)
        except DataError as exc:
            log.warning("not using %s: %s", val_dir, exc)
        else:
            if len(val) >= min_val:
                return train, val, f"validation = the images of {val_dir.name}/"
            log.warning("%s holds only %d images (< %d): carving validation by patient",
                        val_dir, len(val), min_val)
    tr_idx, va_idx = patient_split(train.paths, train.labels.tolist(), val_fraction, seed)
    rule = f"validation = {val_fraction:.0%} of patients of train, by patient id (seed {seed})"
    return train.subset(tr_idx), train.subset(va_idx), rule
