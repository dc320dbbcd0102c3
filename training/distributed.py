"""Training on several processes (``torchrun --nproc_per_node=N``, also across nodes) with
PyTorch's DistributedDataParallel; a single process when torchrun did not start this one.

Every process reads the same data and draws the same random numbers; each takes its share of
every batch (``shard``), DDP averages the gradients, so the weights stay identical on all of
them and a run matches a single-process run on the same seed within floating-point noise. Only
the main process writes checkpoints, the model file and the summary.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def shard(self, index: torch.Tensor) -> torch.Tensor:
        """This process's part of a batch (every ``world``-th item from its rank)."""
        return index[self.rank::self.world] if self.active else index

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def gather_rows(self, part: torch.Tensor, total: int) -> torch.Tensor:
        """The rows every process computed for its ``shard`` of ``range(total)``, in order."""
        if not self.active:
            return part
        parts = [torch.empty((len(range(r, total, self.world)), *part.shape[1:]),
                             dtype=part.dtype, device=part.device) for r in range(self.world)]
        dist.all_gather(parts, part.contiguous())
        out = torch.empty((total, *part.shape[1:]), dtype=part.dtype, device=part.device)
        for r, rows in enumerate(parts):
            out[r::self.world] = rows
        return out


def started_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device) -> Context:
    """Join the process group torchrun set up (NCCL on CUDA, gloo on CPU); one GPU per local
    rank. Without torchrun: the single-process context."""
    if not started_by_torchrun():
        return Context(device=device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    if rank == 0:
        log.info("distributed training: %d processes (%s)", world, backend)
    return Context(rank, world, device)


def wrap(module: torch.nn.Module, context: Context) -> torch.nn.Module:
    """``module`` in DistributedDataParallel when there are several processes."""
    if not context.active:
        return module
    ids = [context.device.index] if context.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)


def teardown(context: Context) -> None:
    if context.active and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
