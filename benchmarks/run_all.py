"""`make bench`: every benchmark in one run, a table on screen and in `benchmarks/results.md`.

Ratios are app versus the MVP baseline measured in the same run (higher is better). The load
average before and after is recorded: on a shared machine it explains noisy figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import latency, memory, responsiveness, throughput, viewer
from benchmarks.common import REPO, Row, machine, model_under_test, scratch_dir

RESULTS = REPO / "benchmarks" / "results.md"
SUITES = {
    "latency": latency.run,
    "throughput": throughput.run,
    "memory": memory.run,
    "responsiveness": responsiveness.run,
    "viewer": viewer.run,
}


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if unit == "MB" or value >= 100 else f"{value:.1f}"


def table(rows: list[Row]) -> str:
    lines = ["| measure | app | MVP baseline | unit | app vs baseline | target | |",
             "|---|---:|---:|---|---:|---|---|"]
    for r in rows:
        ratio = f"{r.ratio:.1f}x" if r.ratio else "-"
        met = "" if r.met is None else ("met" if r.met else "**missed**")
        target = " ".join(filter(None, [r.target, f"({r.note})" if r.note else ""]))
        lines.append(f"| {r.measure} | {fmt(r.app, r.unit)} | {fmt(r.baseline, r.unit)} | "
                     f"{r.unit} | {ratio} | {target} | {met} |")
    return "\n".join(lines)


def git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                              capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=sorted(SUITES), help="run only these")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    work = scratch_dir()
    model, model_label = model_under_test(work)
    load_before = os.getloadavg()
    started, started_at = time.perf_counter(), datetime.now(timezone.utc)
    rows: list[Row] = []
    failures: list[str] = []
    for name in args.only or SUITES:
        print(f"== {name}", flush=True)
        try:
            suite_rows = SUITES[name](model, work)
        except Exception:
            traceback.print_exc()
            failures.append(f"{name}: {traceback.format_exc().strip().splitlines()[-1]}")
            continue
        rows += suite_rows
        print(table(suite_rows), flush=True)
    load_after = os.getloadavg()
    report = "\n".join([
        "# Benchmark results",
        "",
        f"- run: {started_at:%Y-%m-%d %H:%M} UTC, commit {git_sha()}, "
        f"{time.perf_counter() - started:.0f} s",
        f"- machine: {machine()}",
        f"- model: {model_label}",
        f"- load average (1 min) before/after: {load_before[0]:.1f} / {load_after[0]:.1f} "
        "(a shared machine: other jobs ran meanwhile)",
        "- baseline: the reference MVP path (PIL full decode to RGB, torchvision Resize/ToTensor/"
        "Normalize, eager torchvision mobilenet_v3_small with the same head and weights, one "
        "image at a time)",
        "",
        table(rows),
        "",
        *(f"- FAILED {f}" for f in failures),
    ])
    print("\n" + report)
    args.out.write_text(report + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
