"""``--self-test``: proves, in one line, that a copied app can do its job on this machine.

It opens the main window, waits for the model to load (its sha256 verified first), and
classifies a synthetic chest-like image that the build wrote into the bundle (plus its heatmap),
and saves its PDF report (the bundled reportlab, through File → Save report's handler); the
window records the result in a scratch case history, which is then opened, verified and read;
the result is written as a DICOM SR (the bundled highdicom) about a DICOM copy of the image and
read back.
It goes through the window the way a user does: the file is opened in the window, classified by
its worker thread, and the result read back from the window's session. The build also records the
probability the same image got from source (``selftest.json``), so a frozen torch that computes
differently fails here, not on a patient's image.

Exit status 0 and one ``self-test OK ...`` line, or 1 and one ``self-test FAILED: <reason>`` line
(the traceback goes to the log file). Run from a checkout it makes the image on the fly and has no
reference probability to compare with.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

SELFTEST_IMAGE = "selftest.png"
SELFTEST_EXPECTED = "selftest.json"
# Frozen and source torch run the same kernels; allow only float rounding between them.
TOLERANCE = 1e-4
WAIT_S = 120.0  # longest wait for the model or a prediction (a slow first disk read)


def synthetic_chest_xray(size: int = 1024) -> Image.Image:
    """A deterministic chest-like radiograph: body, two dark lung fields, spine, ribs, heart.

    Not a data-set image (nothing to licence, nothing about a patient); it only has to look
    enough like an X-ray to exercise the same code path a real one does.
    """
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    body = np.exp(-(((x - 0.5) / 0.4) ** 6 + ((y - 0.6) / 0.5) ** 6))
    image = 0.08 + 0.6 * body
    for cx in (0.31, 0.69):
        lung = np.exp(-((((x - cx) / 0.15) ** 2 + ((y - 0.48) / 0.28) ** 2) ** 2))
        image -= 0.42 * lung
    ribs = 0.5 + 0.5 * np.cos(2 * np.pi * (y * 8 - 1.5 * np.abs(x - 0.5)))
    image += 0.06 * ribs * body
    image += 0.18 * np.exp(-(((x - 0.5) / 0.045) ** 2)) * body  # spine
    image += 0.2 * np.exp(-(((x - 0.55) / 0.1) ** 2 + ((y - 0.64) / 0.11) ** 2))  # heart
    image += 0.06 * (1 - y)  # exposure gradient, top to bottom
    pixels = np.clip(image, 0, 1) * 255
    return Image.fromarray(pixels.round().astype(np.uint8), mode="L")


def write_selftest_files(out_dir: Path, model_path: Path,
                         xray: tuple[Path, str] | None = None) -> tuple[Path, Path]:
    """Build step: the image and what the model makes of it from source (P, verdict, scope),
    side by side. ``xray``: a real chest X-ray to ship and its attribution; without one the
    drawn picture is shipped, and the self-test says so."""
    from desktop.atomicio import atomic_write_bytes, atomic_write_text
    from desktop.engine.inference import Engine
    from desktop.engine.scope import judge, scores_dict
    from desktop.modelfile import verdict
    from desktop.reading.imaging import read_image

    out_dir.mkdir(parents=True, exist_ok=True)
    image_path = out_dir / (SELFTEST_IMAGE if xray is None else
                            f"selftest{xray[0].suffix.lower()}")
    if xray is None:
        with tempfile.SpooledTemporaryFile() as buffer:
            synthetic_chest_xray().save(buffer, format="PNG", optimize=True)
            buffer.seek(0)
            atomic_write_bytes(image_path, buffer.read())
    else:
        atomic_write_bytes(image_path, xray[0].read_bytes())
    engine = Engine.load(model_path)
    image = read_image(image_path, preview_size=None)
    probs, scores = engine.assess_batch(image.model_input[None])
    p = float(probs[0])
    scope = judge(image.source, None if scores is None else scores_dict(scores[0]),
                  engine.scope_check)
    expected = {"p_pneumonia": p, "model_sha256": _recorded_digest(model_path),
                "image": image_path.name, "scope": scope.state,
                "verdict": verdict(p, float(engine.metadata["threshold"]))
                if scope.verdict_shown else None,
                "source": xray[1] if xray else "a drawn picture (no real X-ray shipped)"}
    expected_path = out_dir / SELFTEST_EXPECTED
    atomic_write_text(expected_path, json.dumps(expected, indent=2) + "\n")
    return image_path, expected_path


def _recorded_digest(model_path: Path) -> str:
    return Path(f"{model_path}.sha256").read_text(encoding="utf-8").split()[0]


@dataclass
class SelfTestReport:
    """What the one output line says; ``timings`` in seconds, in the order they ran."""

    verdict: str = ""
    p_pneumonia: float = math.nan
    expected_p: float | None = None
    model_version: str = ""
    drag_and_drop: bool = False
    source: str = "a drawn picture (no real X-ray shipped)"
    report_bytes: int = 0
    history_cases: int = 0
    sr_bytes: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        times = " ".join(f"{name}={seconds:.2f}s" for name, seconds in self.timings.items())
        checked = "no reference"
        if self.expected_p is not None:
            checked = f"matches build {self.expected_p:.6f}"
        dnd = "on" if self.drag_and_drop else "off"
        return (
            f"self-test OK: model {self.model_version} (sha256 verified); selftest image "
            f"[{self.source}] -> "
            f"{self.verdict} p={self.p_pneumonia:.6f} ({checked}); report written "
            f"({self.report_bytes / 1024:.0f} KB); history written and read "
            f"({self.history_cases} case); DICOM SR written and read "
            f"({self.sr_bytes / 1024:.0f} KB); window opened and closed, "
            f"drag-and-drop {dnd}; {times}"
        )


class SelfTestError(Exception):
    """One sentence that says which step failed."""


def seconds_since_process_start(fallback_start: float | None = None) -> float | None:
    """Wall time since this process was created (Linux: /proc), else since ``fallback_start``.

    /proc counts what happens before Python runs too (a frozen app's bootloader, loading
    libpython), which a ``time.perf_counter()`` taken in ``__main__`` misses.
    """
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22 "starttime", clock ticks after boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None if fallback_start is None else time.perf_counter() - fallback_start


def run_selftest(
    model_path: Path | None = None, *, process_start: float | None = None
) -> SelfTestReport:
    """Start the real window, wait for the model, classify the selftest image through it, close.

    The window's engine verifies the model's sha256 before loading it, as for every user.
    Raises ``SelfTestError`` on the first failure. The window runs with a scratch settings folder,
    so a self-test never changes the user's saved settings.
    """
    report = SelfTestReport()
    # Not through desktop.engine.inference: importing it loads torch on this (the Tk) thread, while
    # the app loads torch on its worker thread, after the window is up.
    from desktop.modelfile import default_model_path

    model_path = Path(model_path or default_model_path())
    with tempfile.TemporaryDirectory(prefix="cxr-selftest-") as scratch:
        image_path = model_path.parent / _shipped_image(model_path)
        if not image_path.exists():  # a checkout: no build has written the image
            image_path = Path(scratch) / SELFTEST_IMAGE
            synthetic_chest_xray().save(image_path)
        with _scratch_settings(Path(scratch) / "config"):
            _classify_in_window(report, model_path, image_path, process_start,
                                Path(scratch) / "selftest_report.pdf")
    _check_against_build(report, model_path)
    since_start = seconds_since_process_start(process_start)
    if since_start is not None:
        report.timings["process"] = since_start
    return report


@contextlib.contextmanager
def _scratch_settings(folder: Path):
    """Settings and the case history in a scratch folder: the user's are never touched."""
    names = {"CXR_CONFIG_DIR": folder, "CXR_DATA_DIR": folder.parent / "data"}
    previous = {name: os.environ.get(name) for name in names}
    os.environ.update({name: str(path) for name, path in names.items()})
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _pump_until(root, done, what: str, timeout: float = WAIT_S) -> None:
    """Run the Tk event loop until ``done()``; the window must stay responsive meanwhile."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SelfTestError(f"{what} did not happen within {timeout:.0f} s")
        root.update()
        time.sleep(0.005)


def _classify_in_window(
    report: SelfTestReport, model_path: Path, image_path: Path, process_start: float | None,
    report_path: Path,
) -> None:
    started = time.perf_counter()
    from desktop.settings import Settings
    from desktop.ui import app, style

    try:
        root, report.drag_and_drop = style.make_root()
    except Exception as exc:
        raise SelfTestError(f"no window could be opened (is there a display?): {exc}") from exc
    window = None
    try:
        window = app.App(root, Settings(), model_path=model_path, dnd=report.drag_and_drop)
        root.update()
        report.timings["window"] = time.perf_counter() - started
        state = window.state
        _pump_until(root, lambda: state.model_ready or state.model_error, "loading the model")
        if state.model_error is not None:  # e.g. the sha256 check failed: str() is English
            raise SelfTestError(f"the window could not load the model: {state.model_error}")
        report.timings["ready"] = time.perf_counter() - started
        since_start = seconds_since_process_start(process_start)
        if since_start is not None:
            report.timings["ready_since_start"] = since_start
        # CPU seconds of all threads so far: what a busy machine does not inflate.
        report.timings["ready_cpu"] = time.process_time()
        report.model_version = str((state.card or {}).get("model_version", "?"))
        if getattr(sys, "frozen", False) and not report.drag_and_drop:
            raise SelfTestError("drag-and-drop (tkdnd) did not load in the packaged app")

        classify_started = time.perf_counter()
        batch = window.open_paths([image_path])
        _pump_until(root, lambda: batch not in state.pending, "classifying the selftest image")
        results = list(window.session.results.values())
        if len(results) != 1 or results[0].p_pneumonia is None:
            error = results[0].error if results else "no result"
            raise SelfTestError(f"the selftest image was not classified: {error}")
        result = results[0]
        report.p_pneumonia = result.p_pneumonia
        # a drawn picture (a checkout's) may well be withheld by the scope check
        scope = result.scope.state if result.scope is not None else "not checked"
        report.verdict = window.session.verdict(result) or f"no verdict ({scope})"
        heatmap = window.worker.engine.explain(result.model_input)
        if heatmap.shape != (224, 224) or not np.isfinite(heatmap).all():
            raise SelfTestError(f"the heatmap has shape {heatmap.shape} or non-finite values")
        report.timings["classify"] = time.perf_counter() - classify_started
        _save_report(root, window, report, report_path)
        _check_history(window, report)
        _check_sr(window, result, report, report_path.parent / "sr")
    finally:
        if window is not None:
            window.close()  # stops the worker threads, then destroys the root
        else:
            root.destroy()


def _save_report(root, window, report: SelfTestReport, path: Path) -> None:
    """File → Save report's handler on the image shown: a PDF with the picture in it."""
    started = time.perf_counter()
    _pump_until(root, lambda: window.pane.preview.rendered is not None, "showing the image")
    if not window.save_report(path):
        raise SelfTestError(f"the report was not written: {window.status_label.cget('text')}")
    data = path.read_bytes()
    if not data.startswith(b"%PDF-") or b"/Subtype /Image" not in data:
        raise SelfTestError("the report is not a PDF with the image in it")
    report.report_bytes = len(data)
    report.timings["report"] = time.perf_counter() - started


def _check_history(window, report: SelfTestReport) -> None:
    """The window recorded the image (its bundled sqlite3 writes WAL); read it back verified."""
    from desktop.cases.store import HistoryStore

    if not window.history.wait_recorded(WAIT_S):
        raise SelfTestError("the result was not recorded in the case history")
    if window.history.notices:
        raise SelfTestError(f"the case history said: {window.history.notices[0]}")
    store = HistoryStore.open(verify=True)
    try:
        rows = store.rows()
        if len(rows) != 1 or abs(rows[0].p - report.p_pneumonia) > 1e-9:
            raise SelfTestError(f"the case history holds {len(rows)} results, not the one made")
        report.history_cases = store.case_count()
    finally:
        store.close()


def _check_sr(window, result, report: SelfTestReport, folder: Path) -> None:
    """The result as a DICOM SR (highdicom and its standard tables, bundled), about a small
    DICOM copy of the image, written and read back with its finding and probability."""
    import dataclasses

    import pydicom

    from desktop.reports.dicom_sr import save, structured_report

    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    source = _dicom_copy(result.model_input, folder / "selftest.dcm")
    engine, row = window.worker.engine, window.session.row(result)
    written = save(structured_report(dataclasses.replace(result, path=source), row,
                                     engine.metadata, engine.sha256), folder / "out")
    back = pydicom.dcmread(written)
    items, found = list(back.ContentSequence), {}
    while items:
        item = items.pop()
        items += list(item.get("ContentSequence", []))
        found[item.ConceptNameCodeSequence[0].CodeValue] = item
    finding = found.get("233604007")
    probability = found.get("122157")
    if back.VerificationFlag != "UNVERIFIED" or finding is None:
        raise SelfTestError("the DICOM SR read back lacks its finding")
    if row.p_pneumonia is not None and (probability is None or abs(float(
            probability.MeasuredValueSequence[0].NumericValue) - row.p_pneumonia) > 1e-6):
        raise SelfTestError("the DICOM SR read back does not hold the probability shown")
    report.sr_bytes = written.stat().st_size
    report.timings["sr"] = time.perf_counter() - started


def _dicom_copy(pixels: np.ndarray, path: Path) -> Path:
    """``pixels`` (uint8) as a minimal Secondary Capture in a Study of its own."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Self^Test", "SELFTEST", "OT"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _shipped_image(model_path: Path) -> str:
    """The self-test image's name, as the build recorded it (a real X-ray keeps its suffix)."""
    expected_path = model_path.parent / SELFTEST_EXPECTED
    if expected_path.exists():
        return json.loads(expected_path.read_text(encoding="utf-8")).get("image", SELFTEST_IMAGE)
    return SELFTEST_IMAGE


def _check_against_build(report: SelfTestReport, model_path: Path) -> None:
    p = report.p_pneumonia
    if not 0.0 <= p <= 1.0:
        raise SelfTestError(f"the model returned an impossible probability {p!r}")
    expected_path = model_path.parent / SELFTEST_EXPECTED
    if not expected_path.exists():
        return
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    if expected.get("model_sha256") != _recorded_digest(model_path):
        raise SelfTestError("selftest.json was written for another model: rebuild the package")
    report.expected_p = float(expected["p_pneumonia"])
    report.source = str(expected.get("source", report.source))
    wanted = expected.get("verdict") or f"no verdict ({expected.get('scope')})"
    if "verdict" in expected and report.verdict != wanted:
        raise SelfTestError(f"the selftest image got {report.verdict} here but {wanted} at "
                            "build time")
    if abs(p - report.expected_p) > TOLERANCE:
        raise SelfTestError(
            f"the selftest image got p={p:.6f} here but p={report.expected_p:.6f} at build time"
        )


def main(*, process_start: float | None = None, model_path: Path | None = None) -> int:
    """Print one line (also logged: a windowed app has no console), return the exit status.

    ``process_start``: ``time.perf_counter()`` at the top of ``__main__``, used for the
    since-start timings where /proc is unavailable. ``model_path``: default, the bundled model.
    """
    from desktop.logs import setup_logging

    setup_logging()
    try:
        report = run_selftest(model_path, process_start=process_start)
    except SelfTestError as exc:
        log.exception("self-test failed")
        print(f"self-test FAILED: {exc}", flush=True)
        return 1
    except Exception as exc:  # an unforeseen failure still gets one line, and a log traceback
        log.exception("self-test failed")
        print(f"self-test FAILED: {type(exc).__name__}: {exc}", flush=True)
        return 1
    log.info(report.line())
    print(report.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
