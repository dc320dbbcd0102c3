"""The decoded images of a split on disk, and the ``Dataset`` that reads them.

Decoding (through the app's one reader) is the slow part of reading a data set, so it is done
once: every image of a split goes, as uint8 224x224, into one ``.npy`` file beside an index of
the files it came from (path, size, modification time). A later run reuses the file while the
files are unchanged and rebuilds it when one changed; a damaged cache (unreadable index, wrong
size, checksum mismatch) is rebuilt with a log line, never trusted. Both files are written
atomically. Each process then reads only the rows it trains on, so memory stays bounded
whatever the data set's size.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from desktop.atomicio import atomic_write_text
from desktop.modelfile import INPUT_SIZE

log = logging.getLogger(__name__)

CACHE_VERSION = 1
ROW_BYTES = INPUT_SIZE * INPUT_SIZE
_CHUNK = 1 << 24


@dataclass(frozen=True)
class RowFile:
    """Where the rows of a cached split lie: ``rows`` images of ROW_BYTES from ``offset``."""

    path: Path
    offset: int
    rows: int


def file_keys(paths: list[Path]) -> list[list]:
    """What identifies a file's content for the cache: its path, size and modification time."""
    keys = []
    for p in paths:
        st = os.stat(p)
        keys.append([str(p), st.st_size, st.st_mtime_ns])
    return keys


def cache_paths(cache_dir: Path, name: str, data_dir: Path) -> tuple[Path, Path]:
    """(images .npy, index .json) of split ``name`` of ``data_dir`` in ``cache_dir``."""
    tag = hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()[:10]
    stem = Path(cache_dir) / f"{name}-{tag}"
    return stem.with_suffix(".npy"), stem.with_suffix(".json")


def _crc(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def open_cache(npy: Path, index: Path, keys: list[list], *, verify: bool = True):
    """(images [N, 1, 224, 224] memory-mapped, readable flags, RowFile) of a cache that matches
    ``keys``; None when there is none, it is stale or it is damaged (said in the log)."""
    if not npy.exists() and not index.exists():
        return None
    try:
        meta = json.loads(index.read_text(encoding="utf-8"))
        if meta.get("version") != CACHE_VERSION:
            log.info("image cache %s has another layout; rebuilding it", npy)
            return None
        if meta["files"] != keys:
            log.info("image cache %s: files were added, removed or changed; rebuilding it", npy)
            return None
        readable = [bool(r) for r in meta["readable"]]
        n = sum(readable)
        if len(readable) != len(keys) or npy.stat().st_size != meta["bytes"]:
            raise ValueError("size does not match its index")
        images = np.load(npy, mmap_mode="c")
        if images.shape != (n, INPUT_SIZE, INPUT_SIZE) or images.dtype != np.uint8:
            raise ValueError(f"holds {images.shape} {images.dtype}, its index {n} images")
        if verify and _crc(npy) != meta["crc32"]:
            raise ValueError("checksum mismatch")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("image cache %s is damaged (%s); rebuilding it", npy, exc)
        return None
    row_file = RowFile(npy, int(images.offset), n)
    return torch.from_numpy(images)[:, None], readable, row_file


def _read(path: Path) -> np.ndarray | Exception:
    from desktop.reading.imaging import load_model_input

    try:
        img = load_model_input(path)
    except Exception as exc:  # noqa: BLE001 - every unreadable file is reported, then skipped
        return exc
    if img.shape != (INPUT_SIZE, INPUT_SIZE) or img.dtype != np.uint8:
        return ValueError(f"reader returned {img.shape} {img.dtype}")
    return img


def decode_all(paths: list[Path], *, workers: int | None = None, progress: bool = True,
               desc: str = "read"):
    """Yields (index, uint8 image or the exception) for every path, in order, a block at a
    time (so memory holds one block whatever the number of files)."""
    workers = workers or min(8, os.cpu_count() or 1)
    block = 256 * workers
    with ThreadPoolExecutor(workers) as pool, \
            tqdm(total=len(paths), desc=desc, disable=not progress, leave=False) as bar:
        for start in range(0, len(paths), block):
            for i, result in enumerate(pool.map(_read, paths[start:start + block]), start):
                bar.update()
                yield i, result


def build_cache(npy: Path, index: Path, paths: list[Path], keys: list[list], *,
                progress: bool = True) -> None:
    """Decodes every file into ``npy`` (readable ones only, in order) and writes its index."""
    npy.parent.mkdir(parents=True, exist_ok=True)
    readable = [False] * len(paths)
    bad: list[tuple[Path, Exception]] = []
    with tempfile.TemporaryFile(dir=npy.parent) as raw:
        for i, result in decode_all(paths, progress=progress, desc=f"cache {npy.stem}"):
            if isinstance(result, Exception):
                bad.append((paths[i], result))
            else:
                readable[i] = True
                raw.write(np.ascontiguousarray(result).tobytes())
        n = sum(readable)
        raw.seek(0)
        fd, tmp = tempfile.mkstemp(dir=npy.parent, prefix=f".{npy.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                np.lib.format.write_array_header_1_0(out, {
                    "descr": "|u1", "fortran_order": False,
                    "shape": (n, INPUT_SIZE, INPUT_SIZE)})
                shutil.copyfileobj(raw, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, npy)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    meta = {"version": CACHE_VERSION, "files": keys, "readable": [int(r) for r in readable],
            "bytes": npy.stat().st_size, "crc32": _crc(npy),
            "unreadable": {str(p): str(exc) for p, exc in bad}}
    atomic_write_text(index, json.dumps(meta) + "\n")
    log.info("cached %d decoded images of %d files in %s", n, len(paths), npy)


def unreadable_files(index: Path) -> dict[str, str]:
    """The files a cache's index records as unreadable, with the reader's error."""
    return json.loads(index.read_text(encoding="utf-8")).get("unreadable", {})


class CachedImages(torch.utils.data.Dataset):
    """Item ``i``: (uint8 image [1, 224, 224], label, i), read from the cache file with one
    seek+read per row, so a process holds only the rows it asked for (no memory map growing
    into its resident memory). Each DataLoader worker opens its own handle."""

    def __init__(self, rows: RowFile, labels: torch.Tensor):
        self.rows, self.labels = rows, labels
        self._file = None
        self._pid = None

    def __len__(self) -> int:
        return self.rows.rows

    def __getitem__(self, i: int):
        if self._file is None or self._pid != os.getpid():
            self._file, self._pid = open(self.rows.path, "rb"), os.getpid()  # noqa: SIM115
        self._file.seek(self.rows.offset + i * ROW_BYTES)
        data = bytearray(self._file.read(ROW_BYTES))
        image = torch.frombuffer(data, dtype=torch.uint8).view(1, INPUT_SIZE, INPUT_SIZE)
        return image, self.labels[i], i

    def __getstate__(self) -> dict:
        return {"rows": self.rows, "labels": self.labels, "_file": None, "_pid": None}
