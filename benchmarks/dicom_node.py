"""The DICOM node's costs (issue 33), as ratios in one run (nothing asserts a time).

1. Writing the SR: ``structured_report`` + ``save`` per classified DICOM image, beyond the
   classification (target: at most 50 ms per image). Median and p95 over the files, after one
   untimed warm-up (highdicom's first import and its tables).
2. Receiving and classifying: the Storage SCP (``Listener``, in this process) takes the files
   from dcmtk's ``storescu`` over loopback, writes each atomically, classifies it and records it
   in a scratch history; timed from ``storescu``'s start until the history holds every result.
   Against ``predict``'s loop (``classified_rows`` with the history on) over the same files
   (target: at most 2x). The files are the full-resolution samples as 8-bit CR DICOM, each
   with its own UIDs.

    .venv/bin/python -m benchmarks.dicom_node [--files 100]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ASSET_MODEL, fullres_files


def dicom_copies(images: list[Path], count: int, folder: Path) -> list[Path]:
    """``count`` CR DICOM files cycling through ``images`` (8-bit grey, own UIDs each)."""
    import numpy as np
    from PIL import Image
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ComputedRadiographyImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    pixels = [np.asarray(Image.open(path).convert("L")) for path in images]
    paths = []
    for i in range(count):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = ComputedRadiographyImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.PatientName, ds.PatientID = f"Bench^{i}", f"B{i:04d}"
        ds.Modality, ds.BodyPartExamined = "CR", "CHEST"
        image = pixels[i % len(pixels)]
        ds.Rows, ds.Columns = image.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit, ds.PixelRepresentation = 7, 0
        ds.PixelData = np.ascontiguousarray(image).tobytes()
        path = folder / f"{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def predict_seconds(files: list[Path], history: Path) -> tuple[float, list]:
    from desktop.cases.recorder import Recorder, classified_rows
    from desktop.engine.inference import Engine
    from desktop.engine.session import Session
    from desktop.engine.threshold import ThresholdPolicy

    engine = Engine.load(ASSET_MODEL)
    session = Session(ThresholdPolicy.from_card(engine.metadata))
    recorder = Recorder(history)
    started = time.perf_counter()
    pairs = list(classified_rows(engine, files, session, recorder,
                                 model_version=engine.metadata.get("model_version"),
                                 origin="bench"))
    seconds = time.perf_counter() - started
    recorder.close()
    return seconds, [(row, result, engine) for row, result in pairs]


def sr_milliseconds(pairs: list, out: Path) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per SR (CPU time: what a shared, loaded machine's wall time
    inflates; nothing else runs in this process meanwhile)."""
    from desktop.reports.dicom_sr import save, structured_report

    def write(row, result, engine) -> None:
        save(structured_report(result, row, engine.metadata, engine.sha256), out)

    write(*pairs[0])  # warm-up: highdicom's import and tables
    wall, cpu = [], []
    for row, result, engine in pairs:
        started, cpu_started = time.perf_counter(), time.process_time()
        write(row, result, engine)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return wall, cpu


def receive_seconds(files: list[Path], workdir: Path) -> float:
    from desktop.cases.store import HistoryStore
    from desktop.network.listener import Listener

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    history = workdir / "received.db"
    listener = Listener.start(ASSET_MODEL, aet="CXRNODE", allowed=["BENCH"],
                              folder=workdir / "received", port=port, history=history)
    try:
        started = time.perf_counter()
        subprocess.run(["storescu", "-aet", "BENCH", "-aec", "CXRNODE", "127.0.0.1", str(port),
                        *map(str, files)], check=True, capture_output=True, timeout=1800)
        while True:
            if history.exists():
                store = HistoryStore.open(history)
                count = store.count()
                store.close()
                if count >= len(files):
                    return time.perf_counter() - started
            time.sleep(0.05)
    finally:
        listener.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cxr-bench-dicom-") as scratch:
        workdir = Path(scratch)
        os.environ["CXR_DATA_DIR"] = str(workdir / "data")
        files = dicom_copies(fullres_files(), args.files, workdir / "dicom")
        receive_seconds(files[:2], workdir / "warm")  # untimed: torch's first batches
        predicted, pairs = predict_seconds(files, workdir / "predict.db")
        received = receive_seconds(files, workdir / "node")
        wall, cpu = (sorted(times) for times in sr_milliseconds(pairs, workdir / "sr"))
    print(f"files: {len(files)} full-resolution CR DICOM (8-bit); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, times in (("wall", wall), ("CPU", cpu)):
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(f"SR write ({name}): median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
              f"per image (target <= 50 ms)")
    print(f"predict (history on): {predicted:.1f} s; received over loopback and classified: "
          f"{received:.1f} s; ratio {received / predicted:.2f}x (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
