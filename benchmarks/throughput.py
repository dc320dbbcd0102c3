"""Batch throughput: images/s of `predict_paths` on a folder versus the MVP path one at a time.

In-process: the engine on the full-resolution files (one lane per core decodes a chunk and
classifies it as a batch), against the MVP path over the same files. The window's batch of
several files makes the same call (no previews: the selected row's preview is read again when
shown); `responsiveness.py` times the real window from open to last row. Whole process:
`python -m desktop predict FOLDER` on 400 files, imports and model load included, against
`python -m benchmarks.baseline FOLDER` on the same.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.baseline import ReferencePath
from benchmarks.common import (
    REPO,
    Row,
    folder_of_copies,
    fullres_files,
    standalone,
)

TARGET_RATIO = 3.0
PROCESS_FILES = 400


def images_per_s(fn, n: int) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def in_process(model_path: Path, files: list[Path], rounds: int) -> tuple[float, float]:
    """Median images/s of each side over rounds that alternate the sides (a shared machine's
    load bursts then hit both alike)."""
    from desktop.engine.inference import Engine

    engine = Engine.load(model_path)
    reference = ReferencePath(model_path)
    list(engine.predict_paths(files, preview_size=None))  # warm-up: every lane, every chunk size
    for f in files[:3]:
        reference.predict(f)
    sides = {
        "app": lambda: list(engine.predict_paths(files, preview_size=None)),
        "baseline": lambda: [reference.predict(f) for f in files],
    }
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, fn in sides.items():
            rates[name].append(images_per_s(fn, len(files)))
    app, baseline = (statistics.median(rates[name]) for name in sides)
    return app, baseline


def whole_process(argv: list[str], n: int) -> float:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    start = time.perf_counter()
    subprocess.run(argv, cwd=REPO, check=True, stdout=subprocess.DEVNULL, env=env,
                   stdin=subprocess.DEVNULL)
    return n / (time.perf_counter() - start)


def run(model_path: Path, workdir: Path, rounds: int = 9) -> list[Row]:
    files = fullres_files()
    app, baseline = in_process(model_path, files, rounds)
    folder = folder_of_copies(fullres_files(), PROCESS_FILES, workdir)
    app_proc = whole_process(
        [sys.executable, "-m", "desktop", "predict", str(folder), "--model", str(model_path),
         "--json"], PROCESS_FILES)
    base_proc = whole_process(
        [sys.executable, "-m", "benchmarks.baseline", str(folder), str(model_path)],
        PROCESS_FILES)
    target = f">= {TARGET_RATIO:.0f}x"
    n = f"{len(files)} full-res files, median of {rounds} rounds"
    return [
        Row("throughput full-res, predict_paths (command)", app, baseline, "images/s", target,
            app >= TARGET_RATIO * baseline, n),
        Row(f"throughput full-res, whole process on {PROCESS_FILES} files", app_proc, base_proc,
            "images/s", note="imports and model load included"),
    ]


if __name__ == "__main__":
    standalone(run)
