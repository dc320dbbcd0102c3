"""The engine against the fuzz corpus: every file gets a row, with a probability or an error.

`predict_paths` (decoding on worker threads, batched inference) runs over all the corpus's files
as if a user had named them, and over the dropped folder as scanned by `collect_images`, on a
watchdog. The batch must finish, keep input order, never stop at a bad file, keep memory
bounded and leave every input byte as it was.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from tests.desktop.reading.test_fuzz_reader import describe
from tests.support.fuzz_corpus import (
    ANY,
    ERROR,
    OK,
    corpus_at,
    fingerprint,
    release_fifos,
    run_with_watchdog,
    tree_listing,
)

BATCH_TIMEOUT_S = 300.0  # ~270 files; a hang, not slowness (timing lives in benchmarks/)
RSS_GROWTH_MB = 400  # a believed 30000x30000 bomb alone needs 900 MB; glibc arenas keep ~200


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    with corpus_at(tmp_path_factory.mktemp("fuzz") / "corpus") as built:
        yield built


@pytest.fixture(scope="module")
def engine(tiny_model):
    from desktop.engine.inference import Engine

    return Engine.load(tiny_model)


def consume(engine, paths, **kwargs):
    """Collect predict_paths' rows and the longest wait between two of them."""
    rows, gaps = [], []
    last = time.perf_counter()
    for row in engine.predict_paths(paths, **kwargs):
        now = time.perf_counter()
        row.drop_images()  # what a caller keeps is its business: measure the engine's own memory
        rows.append(row)
        gaps.append(now - last)
        last = now
    return rows, max(gaps, default=0.0)


@pytest.fixture(scope="module")
def batch_run(engine, corpus):
    paths = [case.path for case in corpus.cases]
    before = fingerprint(paths), tree_listing(corpus.root)
    process = psutil.Process()
    engine.predict_batch(np.zeros((engine.batch_size, 224, 224), np.uint8))  # warm-up
    rss_before = process.memory_info().rss
    outcome = run_with_watchdog(lambda: consume(engine, paths), BATCH_TIMEOUT_S)
    rss_growth_mb = (process.memory_info().rss - rss_before) / 2**20
    if not outcome.finished:
        release_fifos(corpus.root)
    else:
        print(f"\ncorpus batch: {len(paths)} files in {outcome.seconds:.1f} s, longest wait "
              f"for a row {outcome.result[1] * 1e3:.0f} ms, RSS growth {rss_growth_mb:.0f} MB")
    after = fingerprint(paths), tree_listing(corpus.root)
    return outcome, rss_growth_mb, before, after


@pytest.mark.integration
def test_a_batch_of_hostile_files_finishes(batch_run):
    outcome = batch_run[0]
    assert outcome.finished, f"predict_paths did not finish within {BATCH_TIMEOUT_S:.0f} s"
    assert outcome.exception is None, f"the batch stopped: {outcome.exception!r}"


def test_every_file_gets_its_own_row_in_input_order(batch_run, corpus):
    rows = batch_run[0].result[0]
    assert [str(r.path) for r in rows] == [str(c.path) for c in corpus.cases]


def test_each_row_holds_a_probability_or_a_typed_translatable_error(batch_run, corpus):
    from desktop.errors import UserError

    bad = []
    for case, row in zip(corpus.cases, batch_run[0].result[0], strict=True):
        if row.error is None:
            p = row.p_pneumonia
            if not (isinstance(p, float) and math.isfinite(p) and 0.0 <= p <= 1.0):
                bad.append(f"{describe(case)}: probability {p!r}")
        elif not isinstance(row.error, UserError) or row.p_pneumonia is not None:
            bad.append(f"{describe(case)}: {row.error!r} with p={row.p_pneumonia!r}")
        elif not row.error.user_message().strip():
            bad.append(f"{describe(case)}: empty message")
        got = OK if row.error is None else ERROR
        if case.expect != ANY and got != case.expect:
            bad.append(f"{describe(case)}: expected {case.expect}, got {got} ({row.error})")
    assert not bad, "\n".join(bad)


def test_memory_stays_bounded_over_the_batch(batch_run):
    assert batch_run[1] < RSS_GROWTH_MB, f"RSS grew by {batch_run[1]:.0f} MB over the corpus"


def test_no_input_file_is_modified_or_added_to(batch_run):
    _, _, (bytes_before, tree_before), (bytes_after, tree_after) = batch_run
    changed = [p for p, print_ in bytes_before.items() if bytes_after.get(p) != print_]
    assert not changed, f"files changed by classifying them: {changed}"
    assert tree_after == tree_before, f"new files: {sorted(tree_after - tree_before)}"


def test_a_dropped_folder_of_hazards_is_scanned_and_classified(engine, corpus):
    """Link loops end, each good image is classified once, pipes and locked folders are skipped."""
    from desktop.reading.files import collect_images

    scan = run_with_watchdog(lambda: collect_images([corpus.dropped]), 30)
    assert scan.finished, "scanning the dropped folder did not end (a link loop?)"
    assert scan.exception is None, repr(scan.exception)
    found = scan.result
    assert len({os.path.realpath(p) for p in found}) == len(found), "a file listed twice"
    run = run_with_watchdog(lambda: consume(engine, found), 60)
    assert run.finished, "classifying the dropped folder did not finish"
    assert run.exception is None, repr(run.exception)
    rows = run.result[0]
    classified = {os.path.basename(os.path.realpath(r.path)) for r in rows if r.error is None}
    assert {"good_0.png", "good_1.png", "good_2.png"} <= classified
    assert len(rows) == len(found)


@pytest.mark.integration
def test_predict_command_survives_the_dropped_folder(tiny_model, corpus, tmp_path):
    """`python -m desktop predict FOLDER --json`: one JSON line per file, exit 0, no traceback."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, "-m", "desktop", "predict", str(corpus.dropped), str(corpus.root / "bomb"),
         "--json", "--model", str(tiny_model)],
        capture_output=True, text=True, timeout=180, env=env, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert lines, "no output"
    for line in lines:
        assert set(line) >= {"path", "verdict", "p_pneumonia", "threshold", "error"}
        assert (line["verdict"] is None) == (line["error"] is not None)
    bombs = [line for line in lines if "/bomb/" in line["path"]]
    assert bombs and all(line["error"] for line in bombs)
