"""The case history's costs, as ratios in one run (nothing asserts a time).

1. Recording: ``classified_rows`` over 400 full-resolution files as ``predict`` runs it
   (a ``Session`` row per file; with the history on, the lanes also take each file's sha256 and
   every 16 results are committed in one transaction before their lines would be printed), with the
   history on, off, and hashing only (the lanes take each file's sha256, nothing is written),
   in rotating blocks of 100 so a shared machine's load falls on each alike. Reported:
   throughput on / off, the cost (and hashing's) with its 95% bootstrap interval over the
   paired blocks (one block of 100 varies by a few percent on a shared machine), and the time
   spent inside ``Recorder.record_rows`` on the main thread as a share of the run.
2. A 100,000-case history (generated: 100,000 cases, 100,000 results, 10% confirmed, three
   months of dates): opening it (quick_check and schema check included), counting and reading
   the first page of 200 rows under each filter the History view offers.
3. ``--window`` (needs a display, e.g. Xvfb): the real window opens Cases → History on that
   database and filters it by verdict, while an ``after(10)`` probe records the longest gap of
   the Tk loop (target < 100 ms): the first page's and the filter's times from the user's side.

    .venv/bin/python -m benchmarks.history [--files 400] [--cases 100000] [--window]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ASSET_MODEL, folder_of_copies, fullres_files

PAGE = 200


def recording_cost(files: list[Path], workdir: Path, blocks: int, rounds: int = 1) -> dict:
    from desktop.cases.recorder import Recorder
    from desktop.engine.inference import Engine

    class HashOnly(Recorder):
        """``predict``'s loop with the lanes hashing each file, nothing written: the share of
        the cost that is the content sha256 itself."""

        def record_rows(self, items, **_labels) -> int:
            return len(items)

    engine = Engine.load(ASSET_MODEL)
    recorder = Recorder(workdir / "bench.db")
    recorder.open()
    recorders = {"on": recorder, "hash": HashOnly(workdir / "unused.db"), "off": None}
    modes = list(recorders)
    size = len(files) // blocks
    blocks_timed: list[dict[str, float]] = []  # seconds per mode, one block of files each
    in_record = 0.0
    parts = [files[block * size:(block + 1) * size] for block in range(blocks)] * rounds
    _predict_block(engine, parts[0], None)  # warm-up (torch's first batches, the lanes): untimed
    for order, part in enumerate(parts):  # later rounds record the same files again (upserts)
        took = {}
        for mode in modes[order % 3:] + modes[:order % 3]:  # each mode first as often
            took[mode], recording = _predict_block(engine, part, recorders[mode])
            in_record += recording if mode == "on" else 0.0
        blocks_timed.append(took)
    recorder.close()
    n = size * len(parts)
    total = {mode: sum(took[mode] for took in blocks_timed) for mode in modes}
    out = {"files": n, "on_per_s": n / total["on"], "off_per_s": n / total["off"],
           "record_ms": 1000 * in_record / n, "record_share": in_record / total["on"]}
    for mode in ("on", "hash"):
        pairs = [(took[mode], took["off"]) for took in blocks_timed]
        low, high = _cost_interval(pairs)
        out[mode] = (total[mode] / total["off"] - 1, low, high)
    return out


def _cost_interval(pairs: list[tuple[float, float]], resamples: int = 4000
                   ) -> tuple[float, float]:
    """95% bootstrap interval of a cost (seconds with / seconds without - 1), resampling the
    paired blocks: how far the shared machine's noise leaves the figure uncertain."""
    rng = random.Random(0)
    costs = sorted(
        sum(on for on, _ in sample) / sum(off for _, off in sample) - 1
        for sample in ([rng.choice(pairs) for _ in pairs] for _ in range(resamples)))
    return costs[int(0.025 * resamples)], costs[int(0.975 * resamples) - 1]


def _percent(cost: tuple[float, float, float]) -> str:
    value, low, high = cost
    return f"{100 * value:.1f}% (95% interval {100 * low:.1f} to {100 * high:.1f}%)"


def _predict_block(engine, part: list[Path], recorder) -> tuple[float, float]:
    """``predict``'s loop over ``part`` (``classified_rows``): seconds in all, and seconds
    inside ``record_rows``."""
    from desktop.cases.recorder import classified_rows
    from desktop.engine.session import Session
    from desktop.engine.threshold import ThresholdPolicy

    session = Session(ThresholdPolicy.from_card(engine.metadata))
    in_record = [0.0]
    if recorder is not None:
        record_rows = type(recorder).record_rows

        def timed(self, *args, **kwargs):
            t = time.perf_counter()
            try:
                return record_rows(self, *args, **kwargs)
            finally:
                in_record[0] += time.perf_counter() - t

        recorder.record_rows = timed.__get__(recorder)
    start = time.perf_counter()
    for _row in classified_rows(engine, part, session, recorder, model_version="bench",
                                origin="predict"):
        pass
    return time.perf_counter() - start, in_record[0]


def generate(path: Path, cases: int) -> None:
    from desktop.cases.store import HistoryStore

    store = HistoryStore.open(path)
    rng = random.Random(0)
    start = dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc)
    case_rows, result_rows = [], []
    for i in range(cases):
        when = (start + dt.timedelta(seconds=rng.randrange(90 * 86400))).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        p = rng.random()
        verdict = "PNEUMONIA" if p >= 0.5 else "NORMAL"
        scope = rng.choices(["in_scope", "unusual", "not_chest_xray"], [90, 7, 3])[0]
        confirmed = rng.choice(["NORMAL", "PNEUMONIA"]) if rng.random() < 0.1 else None
        case_rows.append((i + 1, f"{i:064x}", f"img{i:06d}.dcm", f"/archive/{i:06d}.dcm",
                          1_000_000, when, when, confirmed))
        answer = None if scope == "not_chest_xray" else verdict
        result_rows.append((i + 1, when, "2026.12.01", "f" * 64, "", p, p, 0.5, answer, answer,
                            scope, "predict"))
    with store.connection:
        store.connection.executemany(
            "INSERT INTO cases (id, sha256, file_name, path, size, first_seen, last_seen, "
            "confirmed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", case_rows)
        store.connection.executemany(
            "INSERT INTO results (case_id, created, model_version, model_sha256, profile, "
            "p_model, p, threshold, verdict, decision, scope, origin) VALUES (?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?)", result_rows)
    store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def query_times(path: Path) -> list[tuple[str, float, int]]:
    from desktop.cases.store import Filters, HistoryStore

    start = time.perf_counter()
    store = HistoryStore.open(path)
    opened = time.perf_counter() - start
    out = [("open (header, schema)", opened, store.case_count())]
    start = time.perf_counter()
    check = store.connection.execute("PRAGMA quick_check").fetchone()[0]
    out.append((f"verify (quick_check: {check})", time.perf_counter() - start, 0))
    for name, filters in [
        ("no filter", Filters()),
        ("verdict PNEUMONIA", Filters(verdict="PNEUMONIA")),
        ("not chest X-ray", Filters(scope="not_chest_xray")),
        ("confirmed", Filters(confirmed=True)),
        ("disagreeing", Filters(agreement="disagree")),
        ("one week", Filters(since="2026-10-01", until="2026-10-08")),
        ("file name contains 0123", Filters(search="0123")),
        ("week + PNEUMONIA + unconfirmed", Filters(since="2026-10-01", until="2026-10-08",
                                                   verdict="PNEUMONIA", confirmed=False)),
    ]:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            count = store.count(filters)
            store.rows(filters, limit=PAGE)
            times.append(time.perf_counter() - start)
        out.append((name, statistics.median(times), count))
    store.close()
    return out


def window_times(data_dir: Path) -> dict:
    """The History view on the database in ``data_dir``, driven as a user does."""
    os.environ["CXR_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("CXR_CONFIG_DIR", str(data_dir / "config"))
    from desktop.settings import Settings
    from desktop.ui.app import App
    from desktop.ui.style import make_root

    root, dnd = make_root()
    app = App(root, Settings(language="en"), dnd=dnd)

    def pump(condition, timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while not condition():
            root.update()
            time.sleep(0.002)
            if time.monotonic() > end:
                raise SystemExit("the window did not get there")

    pump(lambda: app.state.model_ready)
    gaps, last = [], [time.perf_counter()]

    def probe() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now
        root.after(10, probe)

    root.after(10, probe)
    pump(lambda: len(gaps) > 5)
    gaps.clear()
    start = time.perf_counter()
    app.show_history()
    view = app.history.history_view
    pump(lambda: bool(view.tree.get_children()))
    out = {"first_page": time.perf_counter() - start, "open_gap": max(gaps)}
    gaps.clear()
    start = time.perf_counter()
    view.verdict.set("PNEUMONIA")
    view.reload()
    pump(lambda: bool(view.tree.get_children()) and not view._loading)
    out.update(filter=time.perf_counter() - start, filter_gap=max(gaps or [0.0]))
    view.close()
    app.close()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=10,
                        help="passes over the files, history on and off alternating (noise)")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--skip-recording", action="store_true")
    parser.add_argument("--window", action="store_true",
                        help="also time the History view in the real window (needs a display)")
    parser.add_argument("--window-only", type=Path, metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.window_only is not None:  # the window in a process of its own (see below)
        times = window_times(args.window_only)
        print(f"window: first page {1000 * times['first_page']:.0f} ms (longest Tk gap "
              f"{1000 * times['open_gap']:.0f} ms), verdict filter "
              f"{1000 * times['filter']:.0f} ms (longest Tk gap "
              f"{1000 * times['filter_gap']:.0f} ms)")
        return 0
    os.environ.setdefault("CXR_LOG_DIR", tempfile.mkdtemp(prefix="cxr-bench-logs-"))
    with tempfile.TemporaryDirectory(prefix="cxr-bench-history-") as tmp:
        work = Path(tmp)
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        if not args.skip_recording:
            folder = folder_of_copies(fullres_files(), args.files, work)
            files = sorted(folder.iterdir())
            cost = recording_cost(files, work, blocks=4, rounds=args.rounds)
            print(f"recording, {args.files} full-res files x {args.rounds} rounds per side: "
                  f"{cost['on_per_s']:.2f} images/s on, {cost['off_per_s']:.2f} off "
                  f"(on/off = {cost['on_per_s'] / cost['off_per_s']:.3f}); recording costs "
                  f"{_percent(cost['on'])}, target <= 3%, of which hashing alone "
                  f"{_percent(cost['hash'])}; Recorder.record_rows {cost['record_ms']:.2f} ms "
                  f"per file = {100 * cost['record_share']:.2f}% of the run (main thread)")
        db = work / "big.db"
        start = time.perf_counter()
        generate(db, args.cases)
        print(f"generated {args.cases} cases in {time.perf_counter() - start:.1f} s "
              f"({db.stat().st_size / 1e6:.1f} MB)")
        for name, seconds, count in query_times(db):
            print(f"  {name:<34} {1000 * seconds:7.1f} ms  ({count} rows)")
        if args.window:  # a fresh process, as a user's window is: not this one's heap
            db.rename(work / "history.db")
            subprocess.run([sys.executable, "-m", "benchmarks.history", "--window-only",
                            str(work)], check=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
