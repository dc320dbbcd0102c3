"""The head phase's cached backbone features: ``[views, N, D]`` float32 rows of a split.

Every process trains the head on every row, so the rows are the one part of training whose
memory grew with the data set (576 floats per image and view: 0.9 GB in each process at 100,000
images with the shipped recipe's 4 views). They stay resident when small; above
``RESIDENT_LIMIT`` (or with ``--placement disk``) they live in a file of the work folder, written
as the processes' gathered rows arrive and read back row by row, so a process
holds one batch of them. The rows are the same either way, and so is the head trained on them.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

RESIDENT_LIMIT = 256 << 20  # bytes of features kept in each process's memory
_FLOAT = 4


class Features:
    """Rows ``[views, n, dim]``: ``put`` them (any order, any process's share), then ``take``."""

    def __init__(self, views: int, n: int, dim: int, *, folder: Path | None = None,
                 name: str = "features", placement: str = "auto") -> None:
        self.views, self.n, self.dim = views, n, dim
        self._seen = np.zeros((views, n), dtype=bool)
        size = views * n * dim * _FLOAT
        on_disk = folder is not None and (
            placement == "disk" or (placement == "auto" and size > RESIDENT_LIMIT))
        self.path: Path | None = None
        self._file = None
        self._rows: torch.Tensor | None = None
        if on_disk:
            folder.mkdir(parents=True, exist_ok=True)
            self.path = folder / f".{name}-{os.getpid()}.f32"
            self._file = open(self.path, "w+b")  # noqa: SIM115 - closed by close()
            self._file.truncate(size)
            log.info("features: %.0f MB of %s in %s, read a batch at a time", size / 2**20,
                     name, self.path)
        else:
            self._rows = torch.zeros((views, n, dim))

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def put(self, view: int, index: torch.Tensor, values: torch.Tensor) -> None:
        """Rows ``index`` of view ``view`` are ``values`` ([len(index), dim])."""
        index = index.cpu()
        values = values.detach().float().cpu()
        self._seen[view, index.numpy()] = True
        if self._rows is not None:
            self._rows[view, index] = values
            return
        data = values.contiguous().numpy()
        for i, row in zip(index.tolist(), data, strict=True):
            self._file.seek(self._offset(view, i))
            self._file.write(row.tobytes())

    def check_complete(self) -> None:
        """Every row was put by some process (a sampler that lost items fails here)."""
        missing = int((~self._seen).sum())
        if missing:
            raise RuntimeError(f"{missing} of {self._seen.size} feature rows were computed by "
                               "no process")

    def take(self, views: torch.Tensor | int, index: torch.Tensor) -> torch.Tensor:
        """Rows ``[len(index), dim]``: row ``index[k]`` of view ``views[k]`` (or of one view)."""
        index = index.cpu()
        views = torch.full_like(index, views) if isinstance(views, int) else views.cpu()
        if self._rows is not None:
            return self._rows[views, index]
        out = np.empty((len(index), self.dim), dtype=np.float32)
        for k, (v, i) in enumerate(zip(views.tolist(), index.tolist(), strict=True)):
            self._file.seek(self._offset(v, i))
            self._file.readinto(out[k])
        return torch.from_numpy(out)

    def close(self) -> None:
        """Forget the rows (the file is removed)."""
        if self._file is not None:
            self._file.close()
            self._file = None
            self.path.unlink(missing_ok=True)
        self._rows = None

    def __enter__(self) -> Features:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _offset(self, view: int, i: int) -> int:
        return (view * self.n + i) * self.dim * _FLOAT
