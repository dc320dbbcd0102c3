"""Start-up of the packaged app to a usable window with the model loaded, versus from source.

Each run is a new process of ``--self-test`` on a private Xvfb screen: it opens the real main
window, waits until the model is loaded (the window's worker reports it), and prints
``ready_since_start`` (process creation -> window usable with the model loaded, read from
/proc, so a frozen app's bootloader counts too). The baseline is the same from source
(the dev venv, with the model the bundle carries). Bundle and source runs alternate, so both
see the same machine load. ``--drop-caches`` (root, Linux) empties the page cache before each
run: a true cold start, as on a laptop just switched on; without it the files are in memory.

    python -m benchmarks.startup [--runs 7] [--drop-caches]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, Row, machine, median_p95, print_rows

APP_DIR = REPO / "dist" / "cxr-pneumonia"
EXECUTABLE = APP_DIR / "cxr-pneumonia"
ZIP = APP_DIR.with_suffix(".zip")
TARGET_S = 3.0


def drop_page_cache() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def one_start(command: list[str], drop: bool) -> tuple[float, float, float]:
    """(process start -> usable window with model, CPU seconds until then, whole self-test)."""
    if drop and not drop_page_cache():
        sys.exit("--drop-caches needs root on Linux (/proc/sys/vm/drop_caches)")
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    wall = time.perf_counter() - started
    ready = re.search(r"ready_since_start=([\d.]+)s", result.stdout)
    cpu = re.search(r"ready_cpu=([\d.]+)s", result.stdout)
    if result.returncode != 0 or ready is None or cpu is None:
        sys.exit(f"{command[0]} --self-test failed:\n{result.stdout}\n{result.stderr[-2000:]}")
    return float(ready.group(1)), float(cpu.group(1)), wall


def folder_mib(folder: Path) -> float:
    files = (p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return sum(p.stat().st_size for p in files) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--drop-caches", action="store_true")
    args = parser.parse_args(argv)
    if not EXECUTABLE.exists():
        sys.exit(f"needs {EXECUTABLE}: run make package first")
    from tests.support.gui_support import virtual_display

    bundled_model = APP_DIR / "_internal" / "assets" / "model.pt"
    from_source = (
        "import sys; from pathlib import Path; from desktop import selftest; "
        "sys.exit(selftest.main(model_path=Path(sys.argv[1])))"
    )
    commands = {
        "bundle": [str(EXECUTABLE), "--self-test"],
        "source": [sys.executable, "-c", from_source, str(bundled_model)],  # the same model
    }
    ready: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    wall: dict[str, list[float]] = {name: [] for name in commands}
    with virtual_display():
        for command in commands.values():  # one unmeasured run each: fonts, X server
            one_start(command, drop=False)
        for _ in range(args.runs):
            for name, command in commands.items():
                r, c, w = one_start(command, args.drop_caches)
                ready[name].append(r)
                cpu[name].append(c)
                wall[name].append(w)
    cache = "cold page cache" if args.drop_caches else "files in page cache"
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{args.runs} runs each, {cache}, bundle and source alternating")
    for name in commands:
        print(f"  {name}: ready " + " ".join(f"{s:.2f}" for s in ready[name])
              + " | cpu " + " ".join(f"{s:.2f}" for s in cpu[name]))
    bundle_ready, bundle_p95 = median_p95(ready["bundle"])
    rows = [
        Row("start -> usable window with model loaded (median)", bundle_ready,
            median_p95(ready["source"])[0], "s", f"< {TARGET_S:.0f} s", bundle_ready < TARGET_S),
        Row("start -> usable window with model loaded (p95)", bundle_p95,
            median_p95(ready["source"])[1], "s"),
        Row("CPU seconds until then, all threads (median)", median_p95(cpu["bundle"])[0],
            median_p95(cpu["source"])[0], "s"),
        Row("whole --self-test incl. a prediction (median)", median_p95(wall["bundle"])[0],
            median_p95(wall["source"])[0], "s"),
    ]
    print_rows(rows)
    print(f"bundle {folder_mib(APP_DIR):.0f} MiB, zip {ZIP.stat().st_size / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
