"""Training at scale on the CPU, measured in one run (synthetic images written at run time):

- peak resident memory of each training process with 2,000 and with 20,000 training images
  on disk (and a validation folder of 300 in both),
  through the on-disk cache (``--placement disk``, 2 processes) and, for contrast, the former
  way (``--no-cache``: every process decodes the whole data set into its memory);
- images per second of fine-tuning, 1 process against 2 processes (1 thread each);
- the cache's effect: preparing the data the first time (decode + write the cache) against
  later runs (check and reuse it) and against decoding without a cache.

``python -m benchmarks.training_scale [--sizes 2000 20000]``; prints a Markdown table. No GPU
figure: this measures CPU processes only.
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import REPO

TRAIN = ["--epochs-head", "0", "--epochs-finetune", "1", "--batch-size", "16", "--max-steps",
         "20", "--no-progress", "--device", "cpu", "--loader-workers", "1"]
VAL = 300  # images in val/, the same for every size: only the training set grows


def child(argv: list[str]) -> int:
    """One training process (under torchrun): the training, then its peak RSS and the time of
    its fine-tuning epoch on stderr."""
    import training.loop
    from training.cli import main

    real, real_augment = training.loop.train_one_epoch, training.loop.augment_each
    trained = [0]

    def counted(images, index, *args):  # called once per trained batch
        trained[0] += len(index)
        return real_augment(images, index, *args)

    def timed(*args, **kwargs):
        trained[0], started = 0, time.perf_counter()
        loss = real(*args, **kwargs)
        print(f"EPOCH {trained[0]} {time.perf_counter() - started:.3f}", file=sys.stderr,
              flush=True)
        return loss

    training.loop.train_one_epoch, training.loop.augment_each = timed, counted
    rank = os.environ.get("RANK", "0")

    def peak() -> None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"PEAK_RSS_MB rank={rank} {kb / 1024:.0f}", file=sys.stderr, flush=True)

    atexit.register(peak)
    return main(argv)


def run(processes: int, threads: int, data: Path, work: Path, *extra: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={processes}", "-m", "benchmarks.training_scale", "--child",
           "train", "--data", str(data), "--work-dir", str(work), *TRAIN, *extra]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"training failed:\n{done.stderr[-3000:]}")
    rss = [float(m) for m in re.findall(r"PEAK_RSS_MB rank=\d+ (\d+)", done.stderr)]
    epochs = [(int(n), float(s)) for n, s in re.findall(r"EPOCH (\d+) ([\d.]+)", done.stderr)]
    return {"rss": rss, "images": sum(n for n, _ in epochs),
            "epoch_s": max(s for _, s in epochs), "wall_s": time.perf_counter() - started}


def make_data(root: Path, n: int) -> Path:
    from tests.support.training_synth import make_split

    make_split(root / "train", n // 2, images_per_patient=4)
    make_split(root / "val", VAL // 2, seed=1)
    return root


def cache_effect(data: Path, scratch: Path) -> dict:
    """Seconds to get the splits ready: building the cache, reusing it, decoding without one."""
    from training.data import train_val

    out = {}
    for name, cache in (("build", scratch / "fresh"), ("reuse", scratch / "fresh"),
                        ("no cache", None)):
        started = time.perf_counter()
        train_val(data, val_fraction=0.1, seed=0, progress=False, cache_dir=cache)
        out[name] = time.perf_counter() - started
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[2000, 20000])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child:
        return child(rest)
    small, large = args.sizes
    rows = []
    with tempfile.TemporaryDirectory(prefix="training-scale-") as tmp:
        tmp = Path(tmp)
        data = {n: make_data(tmp / f"data{n}", n) for n in (small, large)}
        mem = {}
        for n in (small, large):
            disk = run(2, 1, data[n], tmp / f"disk{n}", "--placement", "disk")
            whole = run(1, 1, data[n], tmp / f"nocache{n}", "--no-cache")
            mem[n] = (max(disk["rss"]), max(whole["rss"]))
            rows.append(f"| peak RSS per process, {n:,} images | {mem[n][0]:.0f} MB "
                        f"(2 processes, cache on disk) | {mem[n][1]:.0f} MB (--no-cache) |")
        rows.append(f"| growth {small:,} -> {large:,} images | x{mem[large][0] / mem[small][0]:.2f}"
                    f" | x{mem[large][1] / mem[small][1]:.2f} |")
        one = run(1, 1, data[small], tmp / f"disk{small}", "--placement", "disk")
        two = run(2, 1, data[small], tmp / f"disk{small}", "--placement", "disk")
        ips1, ips2 = one["images"] / one["epoch_s"], two["images"] / two["epoch_s"]
        rows.append(f"| fine-tuning images/s, {small:,} images on disk | 2 processes x 1 thread:"
                    f" {ips2:.1f} | 1 process x 1 thread: {ips1:.1f} (ratio {ips2 / ips1:.2f}) |")
        effect = cache_effect(data[small], tmp / "cache-effect")
        rows.append(f"| data ready, {small:,} images | first run (decode + write cache): "
                    f"{effect['build']:.1f} s; later runs (check + reuse): {effect['reuse']:.1f} s"
                    f" | decoded without cache: {effect['no cache']:.1f} s per process |")
    load = os.getloadavg()[0]
    print("| measure | scalable path | comparison |\n|---|---|---|")
    print("\n".join(rows))
    print(f"\nload average at the end: {load:.1f} on {os.cpu_count()} cores; no GPU measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
