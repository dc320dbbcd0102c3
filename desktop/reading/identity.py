"""What makes a file the same case wherever it lies: its content's sha256, its size and its
resolved path, taken by the engine's lanes right after a file is read (so recording a result
costs the caller no second read on its own thread).

A batch resolves each folder once (``folders``: the files of one folder share its real path),
and a file's own link, if it is one, by itself.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileIdentity:
    sha256: str
    size: int
    path: str  # resolved (symbolic links followed)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The content's sha256, read in 1 MiB blocks (hashlib releases the GIL while it hashes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def identify(path: str | os.PathLike[str], folders: dict[str, str] | None = None
             ) -> FileIdentity:
    """The file's identity now; ``OSError`` when it went away."""
    path = Path(path)
    sha = file_sha256(path)
    return FileIdentity(sha256=sha, size=path.stat().st_size,
                        path=resolved_path(path, folders))


def resolved_path(path: str | os.PathLike[str], folders: dict[str, str] | None = None) -> str:
    """``os.path.realpath(path)``, with the folder's resolved path taken from (and added to)
    ``folders`` when given: one lookup per folder in a batch instead of one per path part and
    file. Only a file that is not a link itself shares its folder's resolution (on Windows its
    name keeps the letter case it was given)."""
    path = os.fspath(path)
    head, name = os.path.split(path)
    if folders is None or name in ("", ".", "..") or os.path.islink(path):
        return os.path.realpath(path)
    real = folders.get(head)
    if real is None:
        real = folders[head] = os.path.realpath(head or os.curdir)
    return os.path.join(real, name)
