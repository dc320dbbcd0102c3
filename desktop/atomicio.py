"""Write files atomically: readers see either the old file or the complete new one, never half.

The data goes to a temporary file in the destination folder (same file system, so the final
``os.replace`` is atomic), is flushed and fsynced, then renamed over the destination. On any
failure the temporary file is removed and the destination is untouched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Replace ``path`` with ``data`` atomically; returns the path written."""
    path = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        _keep_mode(path, tmp_name)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(
    path: str | os.PathLike[str], text: str, encoding: str = "utf-8", newline: str | None = None
) -> Path:
    """Text version of ``atomic_write_bytes``; ``newline`` as in ``open()`` (None: keep ``\\n``)."""
    if newline is not None:
        text = text.replace("\n", newline)
    return atomic_write_bytes(path, text.encode(encoding))


def _keep_mode(path: Path, tmp_name: str) -> None:
    """mkstemp creates 0600 files: give the new file the old one's mode, else rw-r--r--.

    (Reading the umask would mean setting it, which is not thread-safe.)"""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    os.chmod(tmp_name, mode)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable where the platform allows it (not on Windows)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
