"""No output ever replaces a file we read or keep: ``predict --csv h.db --history h.db`` once
replaced 350 recorded results with a CSV and said nothing.

Before anything is classified or written, each output the user named (``--csv``, ``--report``,
``history export --csv``, ``calibrate --out`` / ``--report``) is compared with the files the
command reads or keeps (the case history and its ``-wal``/``-shm``, the model and its
checksum, the site profile in force, every input file) and with the other outputs. Paths are
compared resolved (links followed, relative made absolute, case folded where the platform
folds it), and an existing output also by device and inode, so a hard link is caught too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from desktop.errors import N_, Sentence, UserError

HISTORY = N_("the case history")
MODEL = N_("the model file")
PROFILE = N_("the site profile")
INPUT = N_("one of the input files")
OUTPUT = N_("another output of this command")
SETTINGS = N_("the settings file")


class OverwriteRefusedError(UserError):
    message = N_("{name} was not written: it is {what}, which an output must never replace. "
                 "Choose another file name; nothing was changed.")


def _key(path: Path) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(path)))


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return stat.st_dev, stat.st_ino


def model_files(model: Path) -> list[Path]:
    """The model and its checksum beside it."""
    from desktop.modelfile import CHECKSUM_SUFFIX

    return [Path(model), Path(f"{model}{CHECKSUM_SUFFIX}")]


def history_files(db: Path) -> list[Path]:
    """The history and the files SQLite keeps beside it."""
    return [Path(db), *(Path(f"{db}{suffix}") for suffix in ("-wal", "-shm", "-journal"))]


def check_outputs(outputs: Iterable[Path | None],
                  kept: Iterable[tuple[Iterable[Path | str | None], str]]) -> None:
    """Raise ``OverwriteRefusedError`` (its sentence says which file and what it is) when an
    output in ``outputs`` is one of the ``kept`` files (pairs of paths and what they are:
    ``HISTORY``, ``MODEL``, …) or another output."""
    named = [Path(p) for p in outputs if p is not None]
    if not named:
        return
    by_key: dict[str, str] = {}
    by_inode: dict[tuple[int, int], str] = {}
    live = {_inode(p) for p in named} - {None}  # only existing outputs can share an inode
    for paths, what in kept:
        for path in paths:
            if path is None:
                continue
            by_key.setdefault(_key(Path(path)), what)
            if live and (inode := _inode(Path(path))) in live:
                by_inode.setdefault(inode, what)
    for output in named:
        what = by_key.get(_key(output)) or by_inode.get(_inode(output) or (-1, -1))
        if what is not None:
            raise OverwriteRefusedError(name=output.name, what=Sentence(what))
        by_key[_key(output)] = OUTPUT
        if (inode := _inode(output)) is not None:
            by_inode[inode] = OUTPUT
