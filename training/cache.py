"""An on-disk cache of a model's features for given images (``--feature-cache DIR``): fitting
the scope check again, and leaving each ``ood_dev`` source out in turn, need the same features
many times, and a CPU takes minutes to compute them."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import torch

from desktop.atomicio import atomic_write_bytes

CHUNK = 512
Features = Callable[[torch.Tensor], torch.Tensor]


def cached_features(features: Features, folder: Path, probe: torch.Tensor) -> Features:
    """``features`` with its results kept in ``folder``, keyed by the images' bytes and by what
    the model gives ``probe`` (another model, or other weights, get other entries)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_key = hashlib.sha1(features(probe).numpy().round(4).tobytes()).hexdigest()[:12]

    def one(images: torch.Tensor) -> torch.Tensor:
        key = hashlib.sha1(images.contiguous().numpy().tobytes()).hexdigest()[:20]
        path = folder / f"{model_key}-{key}-{len(images)}.pt"
        if path.is_file():
            return torch.load(path, weights_only=True)
        out = features(images)
        buffer = io.BytesIO()
        torch.save(out, buffer)
        atomic_write_bytes(path, buffer.getvalue())
        return out

    def cached(images: torch.Tensor) -> torch.Tensor:
        """In chunks of ``CHUNK`` images, so an interrupted run keeps what it computed."""
        return torch.cat([one(images[i:i + CHUNK]) for i in range(0, len(images), CHUNK)])

    return cached
