"""Training on several processes (``torchrun --nproc_per_node=N``, also across nodes) with
PyTorch's DistributedDataParallel; a single process when torchrun did not start this one.

Each process trains on its own shard of every epoch (``DistributedSampler``: the same seeded
order everywhere, every ``world``-th item from its rank, padded with a few repeated items to
equal shards); DDP averages the gradients, so the weights stay identical on all of them.
Figures computed over a split (features, validation logits) are gathered by item index, so the
padded repeats are never counted twice and any split size works with any number of processes.
Only the main process writes checkpoints, the model file and the summary.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MIN = 30.0


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_local_main(self) -> bool:
        """The first process of its node (the one that builds the node's image cache)."""
        return self.local_rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def sampler(self, n: int, *, shuffle: bool, seed: int = 0) -> DistributedSampler:
        """This process's share of ``range(n)`` (all of it with one process)."""
        return DistributedSampler(range(n), num_replicas=self.world, rank=self.rank,
                                  shuffle=shuffle, seed=seed, drop_last=False)

    def sum(self, *values: float) -> list[float]:
        """Each value summed over the processes."""
        t = torch.tensor(values, dtype=torch.float64)
        if self.active:
            t = t.to(self._comm_device())
            dist.all_reduce(t)
        return t.cpu().tolist()

    def gather_by_index(self, index: torch.Tensor, values: torch.Tensor,
                        total: int) -> torch.Tensor:
        """[total, ...] on the CPU: row ``index[i]`` = ``values[i]`` from whichever process
        computed it. Shards may differ in size; an item computed twice (a sampler's padding)
        lands on its own row once."""
        out = torch.zeros((total, *values.shape[1:]), dtype=values.dtype)
        seen = torch.zeros(total, dtype=torch.bool)
        all_index, all_values = self.gather_rows(index, values)
        out[all_index] = all_values
        seen[all_index] = True
        if not bool(seen.all()):
            raise RuntimeError(f"{int((~seen).sum())} of {total} items were computed by no "
                               "process")
        return out

    def gather_rows(self, index: torch.Tensor, values: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Every process's ``(index, values)`` concatenated, on the CPU (shards may differ in
        size: the padding that makes them even for the collective is dropped). Called by all
        processes the same number of times."""
        if not self.active:
            return index.cpu(), values.cpu()
        dev = self._comm_device()
        sizes = [torch.zeros(1, dtype=torch.long, device=dev) for _ in range(self.world)]
        dist.all_gather(sizes, torch.tensor([len(index)], device=dev))
        most = int(max(s.item() for s in sizes))
        pad_i = torch.full((most,), -1, dtype=torch.long, device=dev)
        pad_i[:len(index)] = index.to(dev)
        pad_v = torch.zeros((most, *values.shape[1:]), dtype=values.dtype, device=dev)
        pad_v[:len(values)] = values.to(dev)
        all_i = [torch.empty_like(pad_i) for _ in range(self.world)]
        all_v = [torch.empty_like(pad_v) for _ in range(self.world)]
        dist.all_gather(all_i, pad_i)
        dist.all_gather(all_v, pad_v)
        keep = [int(size.item()) for size in sizes]
        return (torch.cat([i[:n].cpu() for i, n in zip(all_i, keep, strict=True)]),
                torch.cat([v[:n].cpu() for v, n in zip(all_v, keep, strict=True)]))

    def _comm_device(self) -> torch.device:
        return self.device if dist.get_backend() == "nccl" else torch.device("cpu")


def started_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: torch.device, timeout_min: float = DEFAULT_TIMEOUT_MIN) -> Context:
    """Join the process group torchrun set up (NCCL on CUDA, gloo on CPU); one GPU per local
    rank. A collective that waits longer than ``timeout_min`` (a process died, a node is gone)
    fails with an error instead of hanging. Without torchrun: the single-process context."""
    if not started_by_torchrun():
        return Context(device=device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=timedelta(minutes=timeout_min))
    rank, world = dist.get_rank(), dist.get_world_size()
    if rank == 0:
        log.info("distributed training: %d processes (%s), collectives time out after %g min",
                 world, backend, timeout_min)
    return Context(rank, world, device, local)


def wrap(module: torch.nn.Module, context: Context) -> torch.nn.Module:
    """``module`` in DistributedDataParallel when there are several processes."""
    if not context.active:
        return module
    ids = [context.device.index] if context.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)


def teardown(context: Context, *, failed: bool = False) -> None:
    """Leave the process group: after a barrier when all went well; at once after an error, so
    that this process exits with it (torchrun then stops the others) instead of waiting for
    processes that wait for it."""
    if context.active and dist.is_initialized():
        if not failed:
            dist.barrier()
        dist.destroy_process_group()
