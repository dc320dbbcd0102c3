"""Run test modules several times in a row while other processes keep every core busy.

A GUI or threading test that reads the window right after an ``update()``, or assumes the worker
is slower or faster than the Tk thread, passes on a quiet machine and fails on a loaded one (a CI
runner beside other jobs). ``make test-gui-stress`` runs the GUI test modules this way:

    python tests/support/run_under_load.py --rounds 3 --burners 2 tests/desktop/ui/test_app.py
    ...

Each burner is a process spinning on one core for the whole run. Every round is a fresh pytest
process; the summary line of each round is printed, and the exit status is non-zero when any
round failed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import time


def burn() -> None:
    """Keep one core busy until killed."""
    x = 0
    while True:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--burners", type=int, default=2, help="CPU-burning processes beside it")
    parser.add_argument("tests", nargs="+", help="test files or node ids for pytest")
    args = parser.parse_args(argv)

    burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(args.burners)]
    for process in burners:
        process.start()
    results = []
    try:
        for number in range(1, args.rounds + 1):
            start = time.monotonic()
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.tests],
                capture_output=True, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
            )
            load = os.getloadavg()[0]
            lines = [line for line in run.stdout.splitlines() if line.strip()]
            summary = next((line for line in reversed(lines)
                            if re.search(r"\d+ (passed|failed|error)", line)), "no summary")
            failures = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
            results.append(run.returncode)
            print(f"round {number}/{args.rounds}: {summary.strip('= ')} "
                  f"({time.monotonic() - start:.0f} s wall, load average {load:.1f}, "
                  f"{args.burners} burners)", flush=True)
            for line in failures:
                print(f"    {line}", flush=True)
            if run.returncode not in (0, 1):  # pytest itself broke: show why
                print(run.stdout[-3000:], run.stderr[-3000:], sep="\n", flush=True)
    finally:
        for process in burners:
            process.kill()
    failed = sum(1 for code in results if code != 0)
    print(f"{args.rounds - failed} of {args.rounds} rounds passed under load", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
