"""``python tests/support/faulty_training.py kill|raise EPOCH STEP TRAIN-ARGS...``: ``python -m
training train`` (run under torchrun), where the process of rank 1 is killed (SIGKILL) or
raises at the given step of the given fine-tuning epoch: a crash in the middle of an epoch."""

from __future__ import annotations

import os
import signal
import sys

import training.loop
from training.cli import main


def _inject(fault: str, epoch: int, step: int) -> None:
    real_epoch, real_step = training.loop.train_one_epoch, training.loop._step
    at = {"epoch": 0, "step": 0}

    def one_epoch(*args, **kwargs):
        at["epoch"], at["step"] = at["epoch"] + 1, 0
        return real_epoch(*args, **kwargs)

    def one_step(optimizer, loss):
        if at["epoch"] == epoch:
            at["step"] += 1
            if at["step"] == step:
                if fault == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                raise RuntimeError(f"injected failure on rank 1, epoch {epoch} step {step}")
        return real_step(optimizer, loss)

    training.loop.train_one_epoch, training.loop._step = one_epoch, one_step


if __name__ == "__main__":
    fault, epoch, step, *train_args = sys.argv[1:]
    if os.environ.get("RANK") == "1":
        _inject(fault, int(epoch), int(step))
    sys.exit(main(train_args))
