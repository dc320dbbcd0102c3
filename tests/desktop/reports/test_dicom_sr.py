"""Results as DICOM (``desktop.reports.dicom_sr``): the TID 1500 SR and the Encapsulated PDF an
archive files beside the source image, each checked by dicom3tools' ``dciodvfy``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest

from desktop.engine.scope import NOT_CHEST_XRAY, Scope
from desktop.reports.dicom_sr import (
    SERIES_DESCRIPTION,
    NoStudy,
    encapsulated_pdf,
    save,
    structured_report,
)
from tests.support.fuzz_corpus import dicom_bytes
from tests.support.model_fixtures import xray_like
from tests.support.report_fixtures import CARD, SHA, classified, session, write_xray

SOURCE = {"StudyInstanceUID": "1.2.826.0.1.3680043.8.498.1", "SeriesInstanceUID":
          "1.2.826.0.1.3680043.8.498.2", "PatientID": "HOSP-0042", "PatientBirthDate":
          "19700101", "PatientSex": "F", "StudyDate": "20260101", "StudyTime": "101500",
          "AccessionNumber": "ACC7", "StudyID": "S1", "Modality": "CR",
          "ReferringPhysicianName": "Ref^Doc", "BodyPartExamined": "CHEST"}


def write_source(path: Path, seed: int = 0, **extra) -> Path:
    path.write_bytes(dicom_bytes(xray_like(seed, (128, 128)), extra={**SOURCE, **extra}))
    return path


def dciodvfy_errors(path: Path) -> list[str]:
    """The lines ``dciodvfy`` marks as errors (it prints what it finds on stderr)."""
    if shutil.which("dciodvfy") is None:
        pytest.fail("needs dciodvfy (apt-get install dicom3tools; .ci/run does)")
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]


def sr_for(tmp_path, p: float, scope: Scope | None = None):
    tmp_path.mkdir(exist_ok=True)
    source = write_source(tmp_path / "image.dcm")
    s = session()
    result = classified(s, source, p, scope=scope)
    ds = structured_report(result, s.row(result), CARD, SHA, operating_point="balanced")
    return pydicom.dcmread(save(ds, tmp_path / "out")), pydicom.dcmread(source)


def content_items(ds) -> list:
    """Every content item of the SR tree, depth first."""
    found, stack = [], list(ds.ContentSequence)
    while stack:
        item = stack.pop(0)
        found.append(item)
        stack[:0] = list(item.get("ContentSequence", []))
    return found


def coded(ds, meaning: str) -> list[str]:
    return [item.ConceptCodeSequence[0].CodeValue for item in content_items(ds)
            if item.ValueType == "CODE" and item.ConceptNameCodeSequence[0].CodeMeaning
            == meaning]


def test_an_sr_joins_the_study_in_a_series_of_its_own_and_passes_dciodvfy(tmp_path):
    sr, source = sr_for(tmp_path, 0.83)
    assert dciodvfy_errors(Path(sr.filename)) == []
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert sr.StudyInstanceUID == source.StudyInstanceUID
    assert sr.SeriesInstanceUID != source.SeriesInstanceUID
    assert sr.SeriesDescription == SERIES_DESCRIPTION
    assert sr.VerificationFlag == "UNVERIFIED"
    assert (str(sr.PatientName), sr.PatientID) == ("Fuzz^Corpus", "HOSP-0042")
    assert not sr.PatientBirthDate and not sr.PatientSex  # nothing else of the patient
    assert coded(sr, "Pneumonia") == ["52101004"]  # Present, at the default threshold 0.5
    probability = [item for item in content_items(sr) if item.ValueType == "NUM"]
    assert len(probability) == 1
    assert probability[0].ConceptNameCodeSequence[0].CodeValue == "122157"
    assert float(probability[0].MeasuredValueSequence[0].NumericValue) == pytest.approx(0.83)
    texts = " ".join(str(item.TextValue) for item in content_items(sr)
                     if item.ValueType == "TEXT")
    assert f"sha256:{SHA}" in texts and "threshold=0.500000" in texts
    assert "operating_point=balanced" in texts
    referenced = [item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
                  for item in content_items(sr) if item.ValueType == "IMAGE"]
    assert source.SOPInstanceUID in referenced


def test_below_the_threshold_is_absent_and_a_withheld_verdict_is_indeterminate(tmp_path):
    absent, _ = sr_for(tmp_path / "a", 0.1)
    assert coded(absent, "Pneumonia") == ["272519000"]
    withheld, _ = sr_for(tmp_path / "w", 0.9, scope=Scope(NOT_CHEST_XRAY, "a test"))
    assert coded(withheld, "Pneumonia") == ["82334004"]
    assert [item for item in content_items(withheld) if item.ValueType == "NUM"] == []
    assert dciodvfy_errors(Path(withheld.filename)) == []


def test_a_plain_image_has_no_study_and_nothing_is_written(tmp_path):
    png = write_xray(tmp_path / "chest.png")
    s = session()
    result = classified(s, png, 0.7)
    with pytest.raises(NoStudy) as raised:
        structured_report(result, s.row(result), CARD, SHA)
    assert "chest.png is not a DICOM image" in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_the_pdf_report_as_encapsulated_pdf_passes_dciodvfy(tmp_path):
    from desktop.reports.content import batch_report
    from desktop.reports.pdf import save_batch

    source = write_source(tmp_path / "image.dcm")
    s = session()
    classified(s, source, 0.6)
    pdf = tmp_path / "report.pdf"
    save_batch(pdf, batch_report(list(s.results.values()), s, CARD, SHA))
    written = pydicom.dcmread(save(encapsulated_pdf(pdf, source), tmp_path / "out"))
    assert dciodvfy_errors(Path(written.filename)) == []
    assert written.StudyInstanceUID == SOURCE["StudyInstanceUID"]
    assert bytes(written.EncapsulatedDocument)[:len(pdf.read_bytes())] == pdf.read_bytes()


def test_a_referred_image_is_indeterminate_with_no_probability_and_says_its_band(tmp_path):
    from tests.desktop.reports.test_content import banded_session

    source = write_source(tmp_path / "image.dcm")
    texts = {}
    for p in (0.5, 0.9):  # inside the band 0.30-0.70, then above it
        s = banded_session()
        result = classified(s, source, p)
        sr = pydicom.dcmread(save(structured_report(result, s.row(result), CARD, SHA),
                                  tmp_path / f"out{p}"))
        assert dciodvfy_errors(Path(sr.filename)) == []
        texts[p] = " ".join(str(item.TextValue) for item in content_items(sr)
                            if item.ValueType == "TEXT")
        numbers = [item for item in content_items(sr) if item.ValueType == "NUM"]
        if p == 0.5:
            assert coded(sr, "Pneumonia") == ["82334004"]  # Indeterminate
            assert numbers == []  # no probability for a referred image
        else:
            assert coded(sr, "Pneumonia") == ["52101004"] and len(numbers) == 1
    assert "decision=REFER" in texts[0.5] and "refer_band=0.300000-0.700000" in texts[0.5]
    assert "decision=PNEUMONIA" in texts[0.9] and "refer_band=0.300000-0.700000" in texts[0.9]
