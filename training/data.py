"""Labelled image folders -> decoded uint8 images, and the patient-level validation split.

Images are decoded once, by the app's own reader (``desktop.reading.imaging.load_model_input``).
Training keeps them in an on-disk cache (``training.dataset``: one memory-mapped file per split,
read row by row by each process); the other commands, and ``--no-cache``, decode a split into
memory as one uint8 tensor.
"""

from __future__ import annotations

import logging
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from desktop.modelfile import CLASSES
from training.dataset import (
    RowFile,
    build_cache,
    cache_paths,
    decode_all,
    file_keys,
    open_cache,
    unreadable_files,
)
from training.distributed import Context

log = logging.getLogger(__name__)


class DataError(Exception):
    """A data folder the training cannot use; the message says what to fix."""


@dataclass
class Split:
    """Decoded images of one split: ``images`` uint8 [N, 1, 224, 224], ``labels`` int64 [N].

    ``rows`` is set when ``images`` is memory-mapped from the on-disk cache: training then reads
    the rows it needs from that file (``training.dataset.CachedImages``).
    """

    images: torch.Tensor
    labels: torch.Tensor
    paths: list[Path]
    rows: RowFile | None = None

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


def load_split(root: Path, *, workers: int | None = None, progress: bool = True) -> Split:
    """Decodes every image of a split once; unreadable files are skipped, named and counted."""
    root = Path(root)
    paths, labels, _ = list_split(root)
    results = [r for _, r in decode_all(paths, workers=workers, progress=progress,
                                        desc=f"read {root.name}")]
    bad = {str(p): str(r) for p, r in zip(paths, results, strict=True) if isinstance(r, Exception)}
    keep = _readable(root, paths, labels, bad)
    images = torch.from_numpy(np.stack([results[i] for i in keep]))[:, None]
    return Split(images, torch.tensor([labels[i] for i in keep], dtype=torch.long),
                 [paths[i] for i in keep])


def _readable(root: Path, paths: list[Path], labels: list[int], bad: dict[str, str]) -> list[int]:
    """Indices of the files that could be read; the others are named in the log, and a class
    left without any image is a DataError."""
    if bad:
        for p, exc in list(bad.items())[:10]:
            log.warning("skipped unreadable file %s: %s", p, exc)
        log.warning("skipped %d unreadable file(s) of %d in %s", len(bad), len(paths), root)
    keep = [i for i, p in enumerate(paths) if str(p) not in bad]
    kept_labels = {labels[i] for i in keep}
    for k, name in enumerate(CLASSES):
        if k not in kept_labels:
            raise DataError(f"no readable {name} image in {root / name}; "
                            f"{len(bad)} file(s) could not be read.")
    return keep


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
              progress: bool = True, cache_dir: Path | None = None,
              context: Context | None = None) -> tuple[Split, Split, str]:
    """Train and validation splits of DIR: DIR/val when it is usable, else carved by patient.

    With ``cache_dir`` the splits are memory-mapped from the on-disk cache (built there first
    if needed, by one process per node while the others wait); else decoded into memory.
    """
    data_dir = Path(data_dir)
    if cache_dir is not None:
        return _cached_train_val(data_dir, val_fraction, seed, min_val, progress, cache_dir,
                                 context or Context())
    train = load_split(data_dir / "train", progress=progress)
    val_dir = data_dir / "val"
    if val_dir.is_dir():
        try:
            val = load_split(val_dir, progress=progress)
        except DataError as exc:
            log.warning("not using %s: %s", val_dir, exc)
        else:
            if len(val) >= min_val:
                return train, val, _own_val_rule(val_dir)
            _warn_small_val(val_dir, len(val), min_val)
    tr_idx, va_idx = patient_split(train.paths, train.labels.tolist(), val_fraction, seed)
    return train.subset(tr_idx), train.subset(va_idx), _carved_rule(val_fraction, seed)


def _own_val_rule(val_dir: Path) -> str:
    return f"validation = the images of {val_dir.name}/"


def _carved_rule(val_fraction: float, seed: int) -> str:
    return f"validation = {val_fraction:.0%} of patients of train, by patient id (seed {seed})"


def _warn_small_val(val_dir: Path, n: int, min_val: int) -> None:
    log.warning("%s holds only %d images (< %d): carving validation by patient", val_dir, n,
                min_val)


Listed = tuple[Path, list[Path], list[int]]  # (folder, files, labels) of a split, not decoded


def _listed_train_val(data_dir: Path, val_fraction: float, seed: int,
                      min_val: int) -> tuple[Listed, Listed, str]:
    """The splits from the folder listing alone (the carve is by file name, so it needs no
    decoding; it equals the in-memory one when every file is readable)."""
    root = data_dir / "train"
    paths, labels, _ = list_split(root)
    val_dir = data_dir / "val"
    if val_dir.is_dir():
        try:
            val_paths, val_labels, _ = list_split(val_dir)
        except DataError as exc:
            log.warning("not using %s: %s", val_dir, exc)
        else:
            if len(val_paths) >= min_val:
                return (root, paths, labels), (val_dir, val_paths, val_labels), \
                    _own_val_rule(val_dir)
            _warn_small_val(val_dir, len(val_paths), min_val)
    tr, va = patient_split(paths, labels, val_fraction, seed)
    return ((root, [paths[i] for i in tr], [labels[i] for i in tr]),
            (root, [paths[i] for i in va], [labels[i] for i in va]),
            _carved_rule(val_fraction, seed))


def _cached_train_val(data_dir: Path, val_fraction: float, seed: int, min_val: int,
                      progress: bool, cache_dir: Path,
                      context: Context) -> tuple[Split, Split, str]:
    train, val, rule = _listed_train_val(data_dir, val_fraction, seed, min_val)
    splits = {"train": train, "val": val}
    files = {name: cache_paths(cache_dir, name, data_dir) for name in splits}
    keys = {name: file_keys(listed[1]) for name, listed in splits.items()}
    if context.is_local_main:  # one builder per node: the cache may be on each node's disk
        for name in splits:
            if open_cache(*files[name], keys[name]) is None:
                build_cache(*files[name], splits[name][1], keys[name], progress=progress)
    context.barrier()
    out = []
    for name, (root, paths, labels) in splits.items():
        opened = open_cache(*files[name], keys[name], verify=False)
        if opened is None:
            raise DataError(f"the image cache {files[name][0]} could not be read after it was "
                            "built; is --cache-dir on a disk every process of this node sees?")
        images, _, rows = opened
        keep = _readable(root, paths, labels, unreadable_files(files[name][1]))
        out.append(Split(images, torch.tensor([labels[i] for i in keep], dtype=torch.long),
                         [paths[i] for i in keep], rows))
    return out[0], out[1], rule
