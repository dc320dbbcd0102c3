"""Sending to a real Orthanc (``desktop.network.sender`` through the outbox and the command),
each scenario run inside a private network namespace on loopback (``tests.support.orthanc``)."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from tests.support.dicom_scenarios import source_image
from tests.support.orthanc import in_private_network
from tests.support.report_fixtures import write_xray


@pytest.mark.integration
def test_fifty_results_all_arrive_once_though_the_archive_dies_after_twenty(tmp_path):
    seen = in_private_network("kill_and_restart", tmp_path, count=50, kill_after=20)
    assert seen["first_stored"] == 20 and seen["first_waiting"] == 30
    assert seen["first_reasons"] == [
        "The connection to the archive ARCHIVE at 127.0.0.1:4242 was lost while sending."]
    assert seen["pending_after_kill"] == {"pending": 30, "sent": 20, "failed": 0}
    assert seen["too_early"] == 0  # the back-off: nothing is tried again at once
    assert seen["second_stored"] == 30
    assert seen["counts"] == {"pending": 0, "sent": 50, "failed": 0}
    assert seen["instances"] == seen["queued"] and len(seen["instances"]) == 50
    # none sent twice: Orthanc's Lua hook saw each instance arrive exactly once
    assert sorted(seen["stores_received"]) == seen["queued"]


@pytest.mark.integration
def test_the_app_killed_mid_send_leaves_the_rest_in_the_outbox_and_it_is_delivered(tmp_path):
    seen = in_private_network("app_killed_mid_send", tmp_path, count=150, kill_at=10)
    kill = seen["after_kill"]
    assert kill["pending"] > 0 and kill["sent"] + kill["pending"] == 150
    # at most the one C-STORE whose answer the kill cut off was stored and not confirmed
    assert seen["stored_at_kill"] - kill["sent"] in (0, 1)
    assert seen["retry_code"] == 0 and seen["counts"] == {"pending": 0, "sent": 150,
                                                         "failed": 0}
    assert seen["instances"] == seen["queued"] and len(seen["instances"]) == 150
    received = seen["stores_received"]
    assert len(received) - len(set(received)) == seen["stored_at_kill"] - kill["sent"]


@pytest.mark.integration
def test_an_unknown_or_wrong_ae_title_is_refused_in_one_sentence(tmp_path):
    seen = in_private_network("wrong_ae", tmp_path)
    assert seen["good"] == [True, "The archive ARCHIVE at 127.0.0.1:4242 answered."]
    assert seen["stranger"] == [False, (
        "The archive ARCHIVE at 127.0.0.1:4242 refused this computer's AE title INTRUDER: ask "
        "its administrator to add INTRUDER to its known modalities.")]
    assert seen["wrong_called"] == [False, (
        "The archive at 127.0.0.1:4242 does not answer to the AE title NOTARCHIVE: check the "
        "archive's AE title.")]
    assert seen["nobody"][0] is False and "could not be reached" in seen["nobody"][1]
    # a permanent refusal stops: the row is failed with the reason, nothing stored
    assert seen["refused"] == 1 and seen["state"] == "failed"
    assert seen["reason"] == seen["stranger"][1] and seen["instances"] == 0


@pytest.mark.integration
def test_dicom_send_waits_in_the_outbox_while_the_archive_is_down_then_delivers(
        tmp_path, tiny_model):
    images = tmp_path / "in"
    images.mkdir()
    source_image(images)
    write_xray(images / "plain.png")
    seen = in_private_network("command_line", tmp_path, model=str(tiny_model),
                              files=[str(images)])
    code, out, err = seen["down"]
    assert code == 0
    assert len(out.splitlines()) == 2  # both files classified
    assert "plain.png is not a DICOM image: it belongs to no study" in err
    assert "could not be reached" in err
    assert "Results waiting in the outbox" in err and err.rstrip().endswith(": 1.")
    assert seen["listed"].startswith("pending\tARCHIVE@127.0.0.1:4242\t")
    assert seen["retry"][0] == 0
    assert "Results sent to ARCHIVE@127.0.0.1:4242: 1." in seen["retry"][2]
    assert seen["after"].startswith("sent\t")
    assert seen["instances"] == 1 and seen["modalities"] == ["SR"]


@pytest.mark.integration
def test_predict_send_queues_each_dicom_result_says_once_for_plain_images_and_delivers(
        tmp_path, tiny_model):
    images = tmp_path / "in"
    images.mkdir()
    source_image(images)
    write_xray(images / "plain.png")
    write_xray(images / "other.png")
    seen = in_private_network("predict_send", tmp_path, model=str(tiny_model),
                              files=[str(images)])
    code, out, err = seen["down"]
    assert code == 0, err  # nothing lost: the result waits in the outbox, and that is said
    assert len(out.splitlines()) == 3  # every file classified and printed as predict does
    # the plain images, said once for both: no study to join, nothing sent for them
    assert err.count("not DICOM images") == 1
    assert "2 files are not DICOM images: they belong to no study" in err
    assert "could not be reached" in err
    assert "Results waiting in the outbox" in err
    assert seen["listed"].count("pending\tARCHIVE@127.0.0.1:4242\t") == 1
    code, out, err = seen["up"]
    assert code == 0 and len(out.splitlines()) == 3  # --json lines, as without --send
    assert "Results sent to ARCHIVE@127.0.0.1:4242: 2." in err  # with --picture: SR and SC
    assert seen["retry"][0] == 0
    assert "Results sent to ARCHIVE@127.0.0.1:4242: 1." in seen["retry"][2]
    # two SRs and the picture filed in the source image's study; nothing for the PNGs
    assert seen["studies"] == ["1.2.826.0.1.3680043.8.498.10"] * 3
    assert seen["classes"] == ["1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
                               "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
                               "1.2.840.10008.5.1.4.1.1.88.34"]


def differences(ours, theirs, where: str = "") -> list[str]:
    """Every element (file meta left out: the archive writes its own) that is not the same in
    both datasets, VR and value, sequences item by item; [] when they are equal."""
    found = []
    for tag in sorted(set(ours.keys()) | set(theirs.keys())):
        name = f"{where}{pydicom.datadict.keyword_for_tag(tag) or tag}"
        if tag not in ours or tag not in theirs:
            found.append(f"{name}: only in {'ours' if tag in ours else 'the archive'}")
            continue
        a, b = ours[tag], theirs[tag]
        if a.VR != b.VR:
            found.append(f"{name}: VR {a.VR} != {b.VR}")
        elif a.VR == "SQ":
            if len(a.value) != len(b.value):
                found.append(f"{name}: {len(a.value)} items != {len(b.value)}")
            for number, (x, y) in enumerate(zip(a.value, b.value, strict=False)):
                found += differences(x, y, f"{name}[{number}].")
        elif a.value != b.value:
            found.append(f"{name}: {a.value!r:.80} != {b.value!r:.80}")
    return found


@pytest.mark.integration
def test_what_orthanc_returns_over_rest_is_what_we_sent_sr_picture_and_pdf(tmp_path, tiny_model):
    """Issue 33: the SR, the Secondary Capture and the Encapsulated PDF sent by ``predict --send
    --picture --pdf``, fetched back from Orthanc's REST API, parse to the datasets in our
    outbox, element by element, and the PDF's bytes are the same."""
    images = tmp_path / "in"
    images.mkdir()
    source_image(images)
    seen = in_private_network("round_trip", tmp_path, model=str(tiny_model),
                              files=[str(images)])
    code, out, err = seen["run"]
    assert code == 0, err
    assert "Resultados enviados a ARCHIVE@127.0.0.1:4242: 3." in err
    sent = {item["class"]: item for item in seen["sent"]}
    assert set(sent) == {"1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
                         "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
                         "1.2.840.10008.5.1.4.1.1.104.1"}  # Encapsulated PDF
    assert all(item["state"] == "sent" for item in sent.values())
    assert seen["stored"] == sorted(item["uid"] for item in sent.values())
    for item in sent.values():
        ours = pydicom.dcmread(item["file"])
        theirs = pydicom.dcmread(Path(seen["fetched"]) / f"{item['uid']}.dcm")
        assert differences(ours, theirs) == [], item["class"]
        assert len(ours) == len(theirs) > 10
    ours = pydicom.dcmread(sent["1.2.840.10008.5.1.4.1.1.104.1"]["file"])
    theirs = pydicom.dcmread(Path(seen["fetched"]) / f"{ours.SOPInstanceUID}.dcm")
    length = ours.EncapsulatedDocumentLength
    assert theirs.EncapsulatedDocumentLength == length
    document = bytes(theirs.EncapsulatedDocument)
    assert document == bytes(ours.EncapsulatedDocument)
    assert document[:5] == b"%PDF-" and document[:length].rstrip().endswith(b"%%EOF")
    assert theirs.DocumentTitle == "Radiografía de tórax: resultado del modelo"
