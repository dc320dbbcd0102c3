"""Does the window stay responsive during a 200-file batch? The longest stall of the Tk loop.

A probe re-arms itself with `after(10)` and records the time between its runs while the real
window (under a private Xvfb screen) classifies 200 full-resolution files; the longest interval
is the longest time a click or a key would have waited. The baseline is the MVP's way: the same
files classified one by one inside Tk callbacks on the Tk thread. Each side runs in its own child
process; the app's also reports its peak RSS during the batch (with the shipped CPU-only torch
when `.venv-package` exists).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import (
    REPO,
    Row,
    folder_of_copies,
    fullres_files,
    standalone,
    status_kib,
)
from benchmarks.memory import PACKAGE_PYTHON, TARGET_MB, package_python_works

PROBE_MS = 10
TARGET_STALL_MS = 100
N_FILES = 200


class Probe:
    """Re-arms itself every PROBE_MS on the Tk loop and keeps the intervals between runs."""

    def __init__(self, root):
        self.root, self.intervals, self.ends, self.running = root, [], [], True
        self.last = time.perf_counter()
        root.after(PROBE_MS, self.tick)

    def tick(self):
        now = time.perf_counter()
        self.intervals.append((now - self.last) * 1e3)
        self.ends.append(now)
        self.last = now
        if self.running:
            self.root.after(PROBE_MS, self.tick)


def run_app_window(model: Path, folder: Path) -> dict:
    from desktop.settings import Settings
    from desktop.ui.app import App
    from desktop.ui.style import make_root

    root, dnd = make_root()
    app = App(root, Settings(language="en"), model_path=model, dnd=dnd)
    while not (app.state.model_ready or app.state.model_error):
        root.update()
        time.sleep(0.005)
    Path("/proc/self/clear_refs").write_text("5")
    probe = Probe(root)
    start = time.perf_counter()
    batch = app.open_paths([folder])

    def check_done():
        if batch in app.state.pending:
            root.after(20, check_done)
        else:
            probe.running = False
            root.quit()

    root.after(20, check_done)
    root.mainloop()
    seconds = time.perf_counter() - start
    peak = status_kib("VmHWM") / 1024
    rows = len(app.table.tree.get_children())
    app.close()
    return {"intervals": probe.intervals, "ends": probe.ends, "start": start, "seconds": seconds,
            "peak_mb": peak, "rows": rows}


def run_baseline_window(model: Path, folder: Path) -> dict:
    """The MVP: each file classified in a Tk callback, one after another, on the Tk thread."""
    import tkinter as tk

    from benchmarks.baseline import ReferencePath

    reference = ReferencePath(model)
    root = tk.Tk()
    files = sorted(folder.iterdir())
    probe = Probe(root)
    start = time.perf_counter()

    def step(i: int = 0):
        if i < len(files):
            reference.predict(files[i])
            root.after(1, step, i + 1)
        else:
            probe.running = False
            root.quit()

    root.after(1, step)
    root.mainloop()
    seconds = time.perf_counter() - start
    root.destroy()
    return {"intervals": probe.intervals, "ends": probe.ends, "start": start, "seconds": seconds,
            "rows": len(files)}


def child(mode: str, model: str, folder: str) -> None:
    run = run_app_window if mode == "app" else run_baseline_window
    out = run(Path(model), Path(folder))
    worst = max(range(len(out["intervals"])), key=out["intervals"].__getitem__, default=None)
    out["max_at_s"] = out.pop("ends")[worst] - out["start"] if worst is not None else None
    intervals = sorted(out.pop("intervals"))
    out["max_ms"] = intervals[-1] if intervals else 0.0
    out["p99_ms"] = intervals[int(0.99 * (len(intervals) - 1))] if intervals else 0.0
    out["ticks"] = len(intervals)
    print(json.dumps(out))


def measure(python: Path, mode: str, model: Path, folder: Path) -> dict:
    proc = subprocess.run(
        [str(python), "-m", "benchmarks.responsiveness", "--child", mode, str(model), str(folder)],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} window run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(model_path: Path, workdir: Path) -> list[Row]:
    from tests.support.gui_support import virtual_display

    folder = folder_of_copies(fullres_files(), N_FILES, workdir)
    shipped = package_python_works()
    python = PACKAGE_PYTHON if shipped else Path(sys.executable)
    label = "shipped CPU-only torch" if shipped else "dev venv, CUDA-build torch"
    with virtual_display():
        app = measure(python, "app", model_path, folder)
        base = measure(Path(sys.executable), "baseline", model_path, folder)
    if app["rows"] != N_FILES:
        raise RuntimeError(f"the window showed {app['rows']} rows for {N_FILES} files")
    return [
        Row(f"window: longest Tk stall during a {N_FILES}-file batch", app["max_ms"],
            base["max_ms"], "ms", f"< {TARGET_STALL_MS} ms", app["max_ms"] < TARGET_STALL_MS,
            f"after({PROBE_MS}) probe, {app['ticks']} ticks, worst {app['max_at_s']:.1f} s "
            f"into the batch"),
        Row("window: 99th percentile Tk stall", app["p99_ms"], base["p99_ms"], "ms"),
        Row(f"window: {N_FILES}-file batch, open to last row", N_FILES / app["seconds"],
            N_FILES / base["seconds"], "images/s"),
        Row(f"peak RSS, window during the batch ({label})", app["peak_mb"], None, "MB",
            f"< {TARGET_MB} MB", app["peak_mb"] < TARGET_MB,
            "rows keep no image; the selected row's preview is read again"),
    ]


if __name__ == "__main__":
    standalone(run, child)
