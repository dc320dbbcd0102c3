"""Does the window stay responsive while it classifies 200 full-resolution X-rays?

The real window runs on a private Xvfb screen. A probe asks Tk to call it back every 20 ms and
records how late each call comes: that lateness is what a user feels as a frozen window (clicks,
scrolling, the Cancel button wait that long). Baseline: the same probe on the same window, idle,
in the same run. Also printed: time to the first row and to the whole batch.

    .venv/bin/python -m benchmarks.gui_responsiveness [--files 200]
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks.common import (
    Row,
    folder_of_copies,
    fullres_files,
    machine,
    median_p95,
    model_under_test,
    print_rows,
    scratch_dir,
)

PROBE_MS = 20


class LoopProbe:
    """Records how late Tk runs a callback scheduled every ``PROBE_MS`` milliseconds."""

    def __init__(self, root) -> None:
        self.root, self.late_ms, self._due = root, [], None
        self._tick()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._due is not None:
            self.late_ms.append(max(0.0, (now - self._due) * 1e3))
        self._due = now + PROBE_MS / 1e3
        self.root.after(PROBE_MS, self._tick)

    def take(self) -> list[float]:
        taken, self.late_ms = self.late_ms, []
        return taken


def pump(app, condition, timeout_s: float = 600.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        app.root.update()
        time.sleep(0.002)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    work = scratch_dir()
    os.environ["CXR_CONFIG_DIR"] = str(work / "config")
    os.environ["CXR_LOG_DIR"] = str(work / "logs")
    model_path, model_kind = model_under_test(work)
    folder = folder_of_copies(fullres_files(), args.files, work)

    from tests.gui_support import virtual_display

    with virtual_display():
        from desktop.app import App, make_root
        from desktop.settings import Settings

        root, dnd = make_root()
        app = App(root, Settings(language="en"), model_path=model_path, dnd=dnd)
        pump(app, lambda: app.model_ready or app.model_error)
        probe = LoopProbe(root)
        idle_until = time.monotonic() + 3.0
        pump(app, lambda: time.monotonic() > idle_until)
        idle = probe.take()

        start = time.perf_counter()
        batch = app.open_paths([folder])
        pump(app, lambda: app.session.results)
        first_row_s = time.perf_counter() - start
        pump(app, lambda: batch not in app.pending)
        batch_s = time.perf_counter() - start
        busy = probe.take()
        shown = len(app.session.results)
        app.close()

    idle_median, idle_p95 = median_p95(idle)
    busy_median, busy_p95 = median_p95(busy)
    print(f"machine: {machine()}")
    print(f"model: {model_kind}; {shown} rows shown of {args.files} files")
    print_rows([
        Row("Tk loop lateness, median (busy vs idle)", busy_median, idle_median, "ms"),
        Row("Tk loop lateness, p95 (busy vs idle)", busy_p95, idle_p95, "ms"),
        Row("Tk loop lateness, worst (busy vs idle)", max(busy), max(idle), "ms"),
        Row(f"first row shown after opening {args.files} files", first_row_s * 1e3, None, "ms"),
        Row(f"all {args.files} rows shown", batch_s, None, "s"),
    ])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
