"""The reader against the fuzz corpus: an image or a typed, translated error; never worse.

For each of the corpus's files `read_image` runs on a watchdog thread. A hang, an exception that
is not a `UserError`, a peak-memory jump, an output of the wrong shape, a valid image refused or
a hostile file accepted, and any change to the input bytes all fail the test with the file named.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests.support.fuzz_corpus import (
    ANY,
    ERROR,
    IS_ROOT,
    OK,
    corpus_at,
    fingerprint,
    peak_rss,
    peak_rss_supported,
    release_fifos,
    reset_peak_rss,
    run_with_watchdog,
    tree_listing,
)

PER_FILE_TIMEOUT_S = 30.0  # a hang, not slowness: the slowest file is printed, not asserted on
PER_FILE_PEAK_MB = 300  # a 30000x30000 bomb believed would need ~900 MB (gray) to 5 GB (RGB16)
LANGUAGES_TO_CHECK = ("pt_BR", "es")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    with corpus_at(tmp_path_factory.mktemp("fuzz") / "corpus") as built:
        yield built


def describe(case) -> str:
    return f"{case.family}/{case.path.name!r}" + (f" ({case.note})" if case.note else "")


@pytest.fixture(scope="module")
def reader_runs(corpus):
    """Read every corpus file once; the tests below judge the outcomes."""
    from desktop.reading.imaging import read_image

    paths = [case.path for case in corpus.cases]
    before_bytes, before_tree = fingerprint(paths), tree_listing(corpus.root)
    measure_memory = peak_rss_supported()
    runs = []
    for case in corpus.cases:
        rss_before = reset_peak_rss() if measure_memory else 0
        outcome = run_with_watchdog(lambda p=case.path: read_image(p), PER_FILE_TIMEOUT_S)
        peak_mb = (peak_rss() - rss_before) / 2**20 if measure_memory else 0.0
        runs.append((case, outcome, peak_mb))
        if not outcome.finished:
            release_fifos(corpus.root)
    slowest = sorted(runs, key=lambda r: r[1].seconds, reverse=True)[:5]
    print("\nslowest reads:", ", ".join(f"{describe(c)} {o.seconds * 1e3:.0f} ms"
                                         for c, o, _ in slowest))
    hungriest = sorted(runs, key=lambda r: r[2], reverse=True)[:3]
    print("largest peak RSS growth:", ", ".join(f"{describe(c)} {mb:.0f} MB"
                                                for c, _, mb in hungriest))
    return runs, (before_bytes, before_tree), fingerprint(paths), tree_listing(corpus.root)


def test_corpus_holds_at_least_200_hostile_or_odd_inputs(corpus):
    families = corpus.by_family()
    assert len(corpus.cases) >= 200
    for needed in ["zero_byte", "bitflip_jpeg", "bitflip_png", "bitflip_tiff", "bitflip_dicom",
                   "truncated_dicom", "bomb", "foreign", "names", "dropped", "mode", "shape",
                   "dicom_export"]:
        assert families.get(needed), f"the corpus lost its {needed} family"


@pytest.mark.integration
def test_every_file_finishes_in_bounded_time(reader_runs):
    runs = reader_runs[0]
    hung = [describe(case) for case, outcome, _ in runs if not outcome.finished]
    assert not hung, f"read_image did not return within {PER_FILE_TIMEOUT_S:.0f} s for: {hung}"


def test_every_failure_is_a_typed_user_error(reader_runs):
    from desktop.errors import ReadError

    runs = reader_runs[0]
    escaped = [
        f"{describe(case)}: {type(outcome.exception).__name__}: {outcome.exception}"
        for case, outcome, _ in runs
        if outcome.finished and outcome.exception is not None
        and not isinstance(outcome.exception, ReadError)
    ]
    assert not escaped, "exceptions a user would see as a crash:\n" + "\n".join(escaped)


def test_valid_images_are_read_and_hostile_files_refused(reader_runs):
    wrong = []
    for case, outcome, _ in reader_runs[0]:
        if not outcome.finished:
            continue
        got = ERROR if outcome.exception is not None else OK
        if case.expect != ANY and got != case.expect:
            why = f": {outcome.exception}" if outcome.exception else ""
            wrong.append(f"{describe(case)} expected {case.expect}, got {got}{why}")
    assert not wrong, "\n".join(wrong)


def test_every_image_read_is_a_224_square_of_uint8(reader_runs):
    bad = []
    for case, outcome, _ in reader_runs[0]:
        xray = outcome.result
        if xray is None:
            continue
        arr = xray.model_input
        if not (isinstance(arr, np.ndarray) and arr.shape == (224, 224) and arr.dtype == np.uint8):
            shape, dtype = getattr(arr, "shape", arr), getattr(arr, "dtype", "")
            bad.append(f"{describe(case)}: {shape!r} {dtype}")
        elif xray.preview is None or max(xray.preview.size) > 1024 or xray.preview.mode != "L":
            bad.append(f"{describe(case)}: preview {xray.preview!r}")
    assert not bad, "\n".join(bad)


def test_error_messages_are_sentences_translated_into_every_language(reader_runs):
    from desktop import i18n
    from desktop.errors import UserError

    errors = {type(o.exception): o.exception for _, o, _ in reader_runs[0]
              if isinstance(o.exception, UserError)}
    assert errors, "the corpus produced no error at all"
    untranslated = []
    for code in LANGUAGES_TO_CHECK:
        i18n.set_language(code)
        try:
            for err in errors.values():
                english, shown = str(err), err.user_message()
                if not shown.strip() or shown == english:
                    untranslated.append(f"{code}: {type(err).__name__}: {english!r}")
        finally:
            i18n.set_language("en")
    assert not untranslated, "\n".join(untranslated)


def test_memory_stays_bounded_for_every_file(reader_runs):
    if not peak_rss_supported():
        pytest.fail("needs /proc/self/clear_refs (Linux) to measure each file's peak memory")
    heavy = [f"{describe(case)}: +{mb:.0f} MB" for case, _, mb in reader_runs[0]
             if mb > PER_FILE_PEAK_MB]
    assert not heavy, f"files that raised peak RSS by more than {PER_FILE_PEAK_MB} MB: {heavy}"


def test_input_files_are_never_modified_or_added_to(reader_runs):
    _, (before_bytes, before_tree), after_bytes, after_tree = reader_runs
    changed = [path for path, print_ in before_bytes.items() if after_bytes.get(path) != print_]
    assert not changed, f"files changed by reading them: {changed}"
    assert after_tree == before_tree, f"new files: {sorted(after_tree - before_tree)}"


def test_a_file_the_user_may_not_read_gives_the_permission_sentence(tmp_path):
    """chmod 000. Root reads it anyway, so as root the reader runs as `nobody` in a child."""
    from desktop.errors import FilePermissionError
    from desktop.reading.imaging import read_image

    folder = Path(tempfile.mkdtemp(prefix="cxr-locked-"))
    try:
        folder.chmod(0o755)
        locked = folder / "locked.png"
        locked.write_bytes((Path(__file__).parents[2] / "support" / "fuzz_corpus.py").read_bytes())
        locked.chmod(0)
        if not IS_ROOT:
            with pytest.raises(FilePermissionError):
                read_image(locked)
            return
        probe = ("import sys; from desktop.reading.imaging import read_image\n"
                 "try:\n    read_image(sys.argv[1])\n"
                 "except Exception as exc:\n    print(type(exc).__name__)\n")
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]  # util-linux
        child = subprocess.run(
            [*as_nobody, sys.executable, "-c", probe, str(locked)],
            cwd=Path(__file__).parents[3], capture_output=True, text=True,
            timeout=60, env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[3])),
        )
        assert child.stdout.strip() == "FilePermissionError", child.stderr[-1500:]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
