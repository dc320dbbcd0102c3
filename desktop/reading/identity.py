"""What makes a file the same case wherever it lies: its content's sha256, its size and its
resolved path, taken by the engine's lanes right after a file is read (so recording a result
costs the caller no second read on its own thread).
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


def identify(path: str | os.PathLike[str]) -> FileIdentity:
    """The file's identity now; ``OSError`` when it went away."""
    path = Path(path)
    sha = file_sha256(path)
    return FileIdentity(sha256=sha, size=path.stat().st_size, path=os.path.realpath(path))
