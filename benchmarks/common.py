"""What every benchmark shares: the sample files, the model to time, the machine, a result row.

Benchmarks compare the app with a baseline measured in the same run (printed as ratios), so a
busy or slower machine shifts both sides alike. Nothing here asserts a time.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
FULLRES_DIR = SHARED_DATA / "fullres_samples"
SMALL_DIR = SHARED_DATA / "chest_xray_224" / "test"
ASSET_MODEL = REPO / "assets" / "model.pt"


@dataclass
class Row:
    """One line of the results table: the app's figure next to the baseline's."""

    measure: str
    app: float
    baseline: float | None
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better the app is (higher is better whatever the unit)."""
        if self.baseline in (None, 0) or self.app == 0:
            return None
        if self.unit in ("images/s",):
            return self.app / self.baseline
        return self.baseline / self.app


def need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"needs {path} (the shared data set beside the repository)")
    return path


def fullres_files() -> list[Path]:
    """The 40 original full-resolution JPEGs (up to ~2700x2600 px)."""
    return sorted(need(FULLRES_DIR).rglob("*.jpeg"))


def small_files(n: int = 100) -> list[Path]:
    """n of the 224-px test-split JPEGs, half of each class."""
    half = n // 2
    normal = sorted((need(SMALL_DIR) / "NORMAL").glob("*.jpeg"))[:half]
    pneumonia = sorted((SMALL_DIR / "PNEUMONIA").glob("*.jpeg"))[: n - half]
    return normal + pneumonia


def model_under_test(workdir: Path) -> tuple[Path, str]:
    """assets/model.pt when it is there (and vouched for), else a test export of the same net."""
    if ASSET_MODEL.exists() and ASSET_MODEL.with_name("model.pt.sha256").exists():
        return ASSET_MODEL, "assets/model.pt"
    from tests.support.model_fixtures import write_test_model

    path = write_test_model(workdir / "test_model")
    return path, "test export of the same network (random weights, no test-time flip)"


def median_p95(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def folder_of_copies(files: list[Path], count: int, workdir: Path) -> Path:
    """`count` distinct files (hard links where possible, else copies) cycling through `files`.

    Distinct paths and inodes matter: the app lists a file reached twice only once.
    """
    folder = workdir / f"batch_{count}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        source = files[i % len(files)]
        target = folder / f"{i:04d}_{source.name}"
        if target.exists():  # made by an earlier benchmark of the same run
            continue
        if i < len(files):
            try:
                os.link(source, target)
                continue
            except OSError:
                pass
        shutil.copyfile(source, target)
    return folder


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="cxr-bench-"))


def cpu_name() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        if match:
            return match.group(1).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    import PIL
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cpu_name()}, {cores} cores available, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Pillow {PIL.__version__}"
    )


def status_kib(field: str, pid: int | str = "self") -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+)", text, re.M)
    return int(match.group(1)) if match else 0


def print_rows(rows: list[Row]) -> None:
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio else "-"
        base = f"{row.baseline:.1f}" if row.baseline is not None else "-"
        met = "" if row.met is None else ("met" if row.met else "MISSED")
        print(f"{row.measure:58s} app {row.app:9.1f} {row.unit:9s} baseline {base:>8s}  "
              f"{ratio:>7s}  {row.target} {met}")


def standalone(run, child=None) -> None:
    """`python -m benchmarks.NAME`: one benchmark alone, its rows printed (or its child side)."""
    if child is not None and sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:5])
        return
    work = scratch_dir()
    model, label = model_under_test(work)
    print(f"model: {label}")
    print_rows(run(model, work))
