"""Turn what the user named (files and folders, from the command line, a dialog or a drop) into
the list of files to classify, and say what was left out and why.

Folders are walked recursively, following symbolic links but never entering the same folder
twice (so link loops end), in a stable order (case-insensitive names). Inside folders a file is
taken when its suffix is one the reader opens (``desktop.reading.imaging.SUPPORTED_SUFFIXES``),
when its
content is DICOM whatever its name (exports named by UID, without a suffix, or without the
DICOM preamble: ``desktop.reading.sniff`` reads the first kilobyte), or when it has no suffix and
starts
with an image signature. Everything else is skipped and counted by reason (``Skipped``): not an
image, hidden (``.name``, e.g. macOS ``._x.jpg`` resource forks), not a regular file (pipes,
devices, broken links), unreadable (a folder that cannot be listed, a file that cannot be
looked at). Hidden folders are not entered. A file named explicitly is kept whatever its name:
if it is not an image, the reader says so on its row. Each file appears once.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from desktop.reading import sniff
from desktop.reading.imaging import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

NOT_IMAGE, HIDDEN, NOT_REGULAR, UNREADABLE = "not_image", "hidden", "not_regular", "unreadable"
LISTED = "listed"  # already in the window's list: not classified again
REASONS = (LISTED, NOT_IMAGE, HIDDEN, NOT_REGULAR, UNREADABLE)  # the order they are reported in


def reason_sentence(reason: str, count: int) -> str:
    """One translated sentence for ``count`` items skipped for ``reason`` (plural forms)."""
    from desktop.i18n import ngettext

    if reason == LISTED:
        text = ngettext("{count} file already in the list, not added again.",
                        "{count} files already in the list, not added again.", count)
    elif reason == NOT_IMAGE:
        text = ngettext("{count} file skipped: not an image.",
                        "{count} files skipped: not images.", count)
    elif reason == HIDDEN:
        text = ngettext("{count} hidden file skipped.", "{count} hidden files skipped.", count)
    elif reason == NOT_REGULAR:
        text = ngettext(
            "{count} item skipped: not a regular file (a pipe, device or broken link).",
            "{count} items skipped: not regular files (pipes, devices or broken links).", count)
    else:
        text = ngettext(
            "{count} folder or file could not be read. Check that you may open it.",
            "{count} folders or files could not be read. Check that you may open them.", count)
    return text.format(count=count)


@dataclass
class Skipped:
    """What a scan left out: ``(path, reason)`` pairs, with counts by reason."""

    items: list[tuple[Path, str]] = field(default_factory=list)

    def add(self, path: Path, reason: str) -> None:
        log.debug("Skipped %s (%s)", path, reason)
        self.items.append((path, reason))

    def extend(self, other: Skipped | None) -> None:
        if other is not None:
            self.items.extend(other.items)

    def counts(self) -> Counter:
        return Counter(reason for _, reason in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def summary(self) -> str:
        """One translated sentence per reason ("3 files skipped: not images."); "" if none."""
        counts = self.counts()
        return " ".join(reason_sentence(r, counts[r]) for r in REASONS if counts[r])


@dataclass
class Scan:
    files: list[Path]
    skipped: Skipped


def scan(paths: Iterable[str | os.PathLike[str]], listed: Collection[str] = ()) -> Scan:
    """Files to classify, in the order given (folders expanded in place), without duplicates,
    and what the folders held that was skipped; a file whose real path is in ``listed`` (the
    window's list already has it) is skipped as such."""
    seen_files: set[str] = set()
    seen_dirs: set[tuple[int, int]] = set()
    out: list[Path] = []
    skipped = Skipped()

    def add(path: Path) -> None:
        key = os.path.realpath(path)
        if key in listed:
            skipped.add(path, LISTED)
        elif key not in seen_files:
            seen_files.add(key)
            out.append(path)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in _walk(path, seen_dirs, skipped):
                add(found)
        else:
            add(path)  # kept even when missing or oddly named: its row will say why
    return Scan(out, skipped)


def collect_images(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """``scan(paths).files``."""
    return scan(paths).files


def is_candidate(path: Path) -> bool:
    """Whether a regular file found inside a folder should be classified."""
    if path.name.startswith("."):
        return False
    suffix = path.suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return True
    head, size = sniff.read_head(path)
    if sniff.looks_like_dicom(head, size):
        return True
    # No suffix, or a numeric one (DICOM UIDs, "scan.001"): an image signature is enough.
    return (suffix == "" or suffix[1:].isdigit()) and sniff.looks_like_image(head)


def _walk(top: Path, seen_dirs: set[tuple[int, int]], skipped: Skipped) -> list[Path]:
    found: list[Path] = []
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
        except OSError as exc:
            log.warning("Skipping folder %s: %s", folder, exc)
            skipped.add(folder, UNREADABLE)
            continue
        if (st.st_dev, st.st_ino) in seen_dirs:
            continue  # a link back to a folder already walked
        seen_dirs.add((st.st_dev, st.st_ino))
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: (e.name.casefold(), e.name))
        except OSError as exc:
            log.warning("Skipping unreadable folder %s: %s", folder, exc)
            skipped.add(folder, UNREADABLE)
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir():  # follows links
                    if not entry.name.startswith("."):
                        subfolders.append(path)
                elif not entry.is_file():
                    skipped.add(path, HIDDEN if entry.name.startswith(".") else NOT_REGULAR)
                elif is_candidate(path):
                    found.append(path)
                else:
                    skipped.add(path, HIDDEN if entry.name.startswith(".") else NOT_IMAGE)
            except OSError as exc:
                log.warning("Skipping %s: %s", path, exc)
                skipped.add(path, UNREADABLE)
        stack.extend(reversed(subfolders))
    return found
