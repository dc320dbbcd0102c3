"""How a split's images reach the model: resident (in memory, or on the GPU) when the data set
is small, else read row by row from the on-disk cache by DataLoader workers; and the
augmentation of each image, seeded by the image's index so that it is the same whichever
process (and however many processes) sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from training.augment import PRESETS, AugmentConfig, augment
from training.data import Split
from training.dataset import ROW_BYTES, CachedImages

log = logging.getLogger(__name__)

RESIDENT_LIMIT = 1 << 30  # bytes of decoded images (both splits) kept in each process's memory
GPU_SHARE = 0.25  # ... or on its GPU, when they take at most this share of its free memory
PLACEMENTS = ("auto", "memory", "disk")


def place(splits: list[Split], device: torch.device, mode: str = "auto") -> list[Split]:
    """The splits as training reads them: resident copies (the fast path) or the cache files
    (bounded memory); chosen by size when ``mode`` is "auto", and logged."""
    size = sum(len(s) for s in splits) * ROW_BYTES
    on_disk = all(s.rows is not None for s in splits)
    if not on_disk:
        why = "decoded in memory (no cache)"
        resident = True
    elif mode == "auto":
        resident = size <= RESIDENT_LIMIT
        why = f"{'<=' if resident else '>'} {RESIDENT_LIMIT / 2**30:g} GiB"
    else:
        resident = mode == "memory"
        why = f"--placement {mode}"
    mb = size / 2**20
    if not resident:
        log.info("data: %.0f MB of decoded images read from the cache by DataLoader workers "
                 "(%s)", mb, why)
        return splits
    target = torch.device("cpu")
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if size <= GPU_SHARE * free:
            target = device
    log.info("data: %.0f MB of decoded images resident %s (%s)", mb,
             "on the GPU" if target.type == "cuda" else "in memory", why)
    return [Split(s.images.to(target) if target.type == "cuda" or s.rows is None
                  else s.images.clone(), s.labels, s.paths) for s in splits]


def batches(split: Split, sampler: Sampler, batch_size: int, device: torch.device, *,
            workers: int = 0, desc: str = "", progress: bool = False
            ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(uint8 images on ``device``, labels, item indices) of ``sampler``'s items, in its order.

    The resident fast path indexes the tensor; a split on disk goes through a DataLoader whose
    workers read the rows.
    """
    order = torch.as_tensor(list(iter(sampler)), dtype=torch.long)
    steps = (len(order) + batch_size - 1) // batch_size
    with tqdm(total=steps, desc=desc, disable=not progress, leave=False) as bar:
        if split.rows is None:
            for start in range(0, len(order), batch_size):
                index = order[start:start + batch_size]
                images = split.images[index.to(split.images.device)].to(device)
                yield images, split.labels[index], index
                bar.update()
            return
        loader = DataLoader(CachedImages(split.rows, split.labels), batch_size=batch_size,
                            sampler=order.tolist(), num_workers=workers,
                            pin_memory=device.type == "cuda")
        for images, labels, index in loader:
            yield images.to(device, non_blocking=True), labels, index
            bar.update()


def seed_of(*parts: int) -> int:
    """One 63-bit seed from several integers (a run's seed, an epoch, a view, an item)."""
    s = 0x9E3779B97F4A7C15
    for p in parts:
        s = (s ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * 0x100000001B3 % (1 << 64)
    return s >> 1


def augment_each(images: torch.Tensor, index: torch.Tensor, cfg: AugmentConfig,
                 seed: int) -> torch.Tensor:
    """uint8 [B, 1, H, W] -> float [B, 1, H, W] in [0, 1]: item ``index[j]`` augmented with its
    own generator (``seed``, index), the same on any process."""
    if cfg == PRESETS["none"]:
        return images.float() / 255.0
    return torch.cat([
        augment(images[j:j + 1], cfg, torch.Generator().manual_seed(seed_of(seed, int(i))))
        for j, i in enumerate(index.tolist())])
