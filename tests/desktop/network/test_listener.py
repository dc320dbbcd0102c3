"""Receiving images (``python -m desktop dicom listen``, ``desktop.network.listener``) from dcmtk's
``storescu`` and pynetdicom, on loopback: allowed and unknown AE titles, unsupported and
hostile objects, two senders at once; each stored image classified and in the history."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.cases.store import HistoryStore
from tests.support.dicom_scenarios import some_srs
from tests.support.fuzz_corpus import dicom_bytes
from tests.support.model_fixtures import xray_like

ROOT = Path(__file__).resolve().parents[3]
LISTENER_AET, MODALITY = "CXRNODE", "MODALITY"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def images(folder: Path, count: int, first: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(first, first + count):
        path = folder / f"image{i}.dcm"
        path.write_bytes(dicom_bytes(xray_like(i, (96, 96)), extra={
            "StudyInstanceUID": f"1.2.826.0.1.3680043.8.498.7.{i}", "Modality": "CR"}))
        paths.append(path)
    return paths


@pytest.fixture
def listener(tmp_path, tiny_model):
    """``dicom listen`` running (allowing MODALITY), until the test ends; its port, folder and
    process."""
    if shutil.which("storescu") is None:
        pytest.fail("needs dcmtk's storescu (apt-get install dcmtk; .ci/run does)")
    port, store = free_port(), tmp_path / "received"
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop", "dicom", "listen", "--port", str(port), "--aet",
         LISTENER_AET, "--allow", f"{MODALITY},OTHER", "--store", str(store), "--model",
         str(tiny_model), "--lang", "en"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ))
    first = process.stderr.readline()  # the "Listening as ..." line, once the port is open
    assert first.startswith(f"Listening as {LISTENER_AET} on port {port}"), first
    yield port, store, process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def storescu(port: int, calling: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["storescu", "-aet", calling, "-aec", LISTENER_AET, "127.0.0.1",
                           str(port), *map(str, files)], capture_output=True, text=True,
                          timeout=120)


def recorded(expected: int, deadline_s: float = 120) -> int:
    """The results in the case history, once there are ``expected`` (or the deadline)."""
    store, deadline = None, time.monotonic() + deadline_s
    try:
        while True:
            if store is None and (Path(os.environ["CXR_DATA_DIR"]) / "history.db").exists():
                store = HistoryStore.open()
            count = store.count() if store is not None else 0
            if count >= expected or time.monotonic() > deadline:
                return count
            time.sleep(0.05)
    finally:
        if store is not None:
            store.close()


@pytest.mark.integration
def test_images_from_an_allowed_ae_are_stored_classified_and_recorded(listener, tmp_path):
    port, store, process = listener
    sent = images(tmp_path / "in", 3)
    run = storescu(port, MODALITY, *sent)
    assert run.returncode == 0, run.stderr
    assert recorded(3) == 3
    received = sorted(p.name for p in store.glob("*.dcm"))
    assert len(received) == 3 and all(name.startswith("1.2.826.") for name in received)
    assert list((store / ".incoming").iterdir()) == []
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert len(out.splitlines()) == 3 and all(str(store) in line for line in out.splitlines())


@pytest.mark.integration
def test_an_unknown_ae_is_rejected_and_nothing_is_stored(listener, tmp_path):
    port, store, _ = listener
    run = storescu(port, "STRANGER", *images(tmp_path / "in", 1))
    assert run.returncode != 0
    assert "Calling AE Title Not Recognized" in run.stderr
    assert list(store.glob("*.dcm")) == []


@pytest.mark.integration
def test_unsupported_and_hostile_objects_fail_and_the_listener_goes_on(listener, tmp_path):
    from pynetdicom import AE
    from pynetdicom.sop_class import SecondaryCaptureImageStorage

    port, store, process = listener
    sr = tmp_path / "result.dcm"
    some_srs(tmp_path, 1)[0].save_as(sr, enforce_file_format=True)
    refused = storescu(port, MODALITY, sr)  # an SR: not an image class, refused at negotiation
    assert refused.returncode != 0 and "No presentation context" in refused.stderr
    no_pixels = tmp_path / "no_pixels.dcm"
    no_pixels.write_bytes(dicom_bytes(None, extra={"StudyInstanceUID": "1.2.3.98"}))
    assert storescu(port, MODALITY, no_pixels).returncode == 0xA9  # A900: not an image
    good = dicom_bytes(xray_like(3, (96, 96)), extra={"StudyInstanceUID": "1.2.3.97"})
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(good[:-4000])
    assert storescu(port, MODALITY, truncated).returncode != 0  # storescu will not send it
    # a peer that does send a dataset whose pixels are cut short: Cannot understand
    import pydicom

    short = pydicom.dcmread(truncated, force=True, stop_before_pixels=True)
    short.PixelData = b"\0" * 100
    ae = AE(ae_title=MODALITY)
    ae.add_requested_context(SecondaryCaptureImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title=LISTENER_AET)
    assert assoc.is_established
    status = assoc.send_c_store(short)
    assoc.release()
    assert status.Status == 0xC000
    assert list(store.glob("*.dcm")) == [] and list((store / ".incoming").iterdir()) == []
    assert process.poll() is None  # still listening: a good image still arrives
    assert storescu(port, MODALITY, *images(tmp_path / "in", 1)).returncode == 0
    assert recorded(1) == 1 and len(list(store.glob("*.dcm"))) == 1


@pytest.mark.integration
def test_two_senders_at_once_lose_nothing(listener, tmp_path):
    port, store, _ = listener
    batches = [images(tmp_path / "a", 10, 0), images(tmp_path / "b", 10, 100)]
    senders = [subprocess.Popen(["storescu", "-aet", calling, "-aec", LISTENER_AET,
                                 "127.0.0.1", str(port), *map(str, batch)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for calling, batch in zip((MODALITY, "OTHER"), batches, strict=True)]
    assert [sender.wait(timeout=120) for sender in senders] == [0, 0]
    assert recorded(20) == 20
    assert len(list(store.glob("*.dcm"))) == 20


@pytest.mark.integration
def test_a_hundred_images_from_storescu_are_all_stored_classified_and_recorded(listener,
                                                                              tmp_path):
    port, store, process = listener
    sent = images(tmp_path / "in", 100)
    started = time.monotonic()
    run = storescu(port, MODALITY, *sent)
    assert run.returncode == 0, run.stderr
    assert recorded(100) == 100
    elapsed = time.monotonic() - started
    received = sorted(p.name for p in store.glob("*.dcm"))
    assert len(received) == 100 and list((store / ".incoming").iterdir()) == []
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    lines = out.splitlines()  # one classified line per image, each naming its stored file
    assert len(lines) == 100
    assert sorted(line.rsplit("/", 1)[-1].split()[0] for line in lines) == received
    print(f"100 images stored and classified in {elapsed:.1f} s")
