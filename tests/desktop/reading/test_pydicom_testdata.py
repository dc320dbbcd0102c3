"""pydicom's own test files (shipped inside its wheel: CT, MR, US, NM, RT, SR, multi-frame, every
transfer syntax, big endian, raw datasets, deliberately broken ones) through the reader: each
gives a model input or a typed, true sentence, in bounded time, and none is written to.

Only the files on disk are used (pydicom downloads some others on demand; never here). Run with
``-s`` to see which are read and which refused, and why.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.fuzz_corpus import fingerprint, run_with_watchdog

PER_FILE_TIMEOUT_S = 30.0
# Images every reader of clinical exports must read: 12-bit JPEG Extended, a malformed
# NumberOfFrames, implicit VR, big endian, RLE, JPEG-LS, JPEG 2000, YBR JPEG multi-frame...
MUST_READ = {
    "JPGExtended.dcm", "JPEG-lossy.dcm", "badVR.dcm", "CT_small.dcm", "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm", "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm",
    "JPEG2000.dcm", "examples_ybr_color.dcm", "examples_palette.dcm", "rtdose.dcm", "6154",
}
# DICOM objects that hold no image (plans, structured reports, raw datasets without pixels).
HOLD_NO_IMAGE = {"rtplan.dcm", "test-SR.dcm", "ExplVR_BigEndNoMeta.dcm",
                 "ExplVR_LitEndNoMeta.dcm", "waveform_ecg.dcm"}


@pytest.fixture(scope="module")
def test_files() -> list[Path]:
    import pydicom.data

    folder = Path(pydicom.data.__file__).parent / "test_files"
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert len(files) >= 150, f"pydicom ships fewer test files than expected in {folder}"
    return files


@pytest.fixture(scope="module")
def outcomes(test_files):
    from desktop.reading.imaging import read_image

    before = fingerprint(test_files)
    runs = {path: run_with_watchdog(lambda p=path: read_image(p, preview_size=256),
                                    PER_FILE_TIMEOUT_S) for path in test_files}
    after = fingerprint(test_files)
    read = sorted(p.name for p, o in runs.items() if o.exception is None and o.finished)
    refused = sorted((type(o.exception).__name__, p.name) for p, o in runs.items()
                     if o.exception is not None)
    print(f"\nread {len(read)} of {len(runs)}: {', '.join(read)}")
    for kind, name in refused:
        print(f"refused {name}: {kind}")
    return runs, before, after


def test_every_file_finishes_and_gives_an_input_or_a_typed_true_sentence(outcomes):
    from desktop.errors import InternalError, ReadError

    runs = outcomes[0]
    generic = InternalError().user_message()
    bad = []
    for path, outcome in runs.items():
        name = path.relative_to(path.parents[1]) if path.parent.name != "test_files" else path.name
        if not outcome.finished:
            bad.append(f"{name}: no answer within {PER_FILE_TIMEOUT_S:.0f} s")
        elif outcome.exception is not None:
            exc = outcome.exception
            if not isinstance(exc, ReadError) or exc.user_message() == generic:
                bad.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            arr = outcome.result.model_input
            if arr.shape != (224, 224) or arr.dtype != np.uint8:
                bad.append(f"{name}: model input {arr.shape} {arr.dtype}")
    assert not bad, "\n".join(bad)


def test_the_images_clinics_export_are_read_and_non_images_say_they_hold_none(outcomes):
    from desktop.errors import DicomNoPixelDataError

    runs = outcomes[0]
    by_name = {path.name: outcome for path, outcome in runs.items()}
    unread = sorted(name for name in MUST_READ if by_name[name].exception is not None)
    assert not unread, {name: str(by_name[name].exception) for name in unread}
    wrong = sorted(name for name in HOLD_NO_IMAGE
                   if not isinstance(by_name[name].exception, DicomNoPixelDataError))
    assert not wrong, {name: repr(by_name[name].exception) for name in wrong}


def test_no_test_file_is_modified(outcomes):
    _, before, after = outcomes
    assert before == after
