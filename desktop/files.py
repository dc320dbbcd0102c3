"""Turn what the user named (files and folders, from the command line, a dialog or a drop) into
the list of files to classify.

Folders are walked recursively, following symbolic links but never entering the same folder
twice (so link loops end), in a stable order (case-insensitive names). Inside folders only
supported suffixes are taken, plus files without a suffix or with a numeric one (DICOM UIDs)
that carry the DICOM preamble; hidden files
(``.name``, e.g. macOS ``._x.jpg`` resource forks) are skipped. A file named explicitly is kept
whatever its suffix: if it is not an image, the reader says so on its row. Unreadable
sub-folders are logged and skipped. Each file appears once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from desktop.imaging import SUPPORTED_SUFFIXES, is_dicom_file

log = logging.getLogger(__name__)


def collect_images(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files to classify, in the order given (folders expanded in place), without duplicates."""
    seen_files: set[str] = set()
    seen_dirs: set[tuple[int, int]] = set()
    out: list[Path] = []

    def add(path: Path) -> None:
        key = os.path.realpath(path)
        if key not in seen_files:
            seen_files.add(key)
            out.append(path)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in _walk(path, seen_dirs):
                add(found)
        else:
            add(path)  # kept even when missing or oddly named: its row will say why
    return out


def is_candidate(path: Path) -> bool:
    """Whether a file found inside a folder should be classified."""
    if path.name.startswith("."):
        return False
    suffix = path.suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return True
    # DICOM exports are often named by UID ("1.2.840.113619.2.55.3.42") or have no suffix.
    return (suffix == "" or suffix[1:].isdigit()) and is_dicom_file(path)


def _walk(top: Path, seen_dirs: set[tuple[int, int]]) -> list[Path]:
    found: list[Path] = []
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
        except OSError as exc:
            log.warning("Skipping folder %s: %s", folder, exc)
            continue
        if (st.st_dev, st.st_ino) in seen_dirs:
            continue  # a link back to a folder already walked
        seen_dirs.add((st.st_dev, st.st_ino))
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: (e.name.casefold(), e.name))
        except OSError as exc:
            log.warning("Skipping unreadable folder %s: %s", folder, exc)
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir():  # follows links
                    if not entry.name.startswith("."):
                        subfolders.append(path)
                elif entry.is_file() and is_candidate(path):
                    found.append(path)
            except OSError as exc:
                log.warning("Skipping %s: %s", path, exc)
        stack.extend(reversed(subfolders))
    return found
