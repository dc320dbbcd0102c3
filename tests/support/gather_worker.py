"""One process of the 3-process gather test (a module of its own, so that the spawned
processes import little)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist

from training.distributed import Context


def gather(rank: int, world: int, port: int, out: Path) -> None:
    """Every item of a 10-item split gathered from shards padded to equal sizes."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        context = Context(rank, world)
        sampler = context.sampler(10, shuffle=True, seed=3)
        index = torch.as_tensor(list(sampler))
        rows = context.gather_by_index(index, index.float()[:, None] * 10, 10)
        (count,) = context.sum(len(index))
        if rank == 0:
            torch.save({"rows": rows, "count": count}, out)
    finally:
        dist.destroy_process_group()
