"""One image's PDF report as an Encapsulated PDF (``desktop.reports.dicom_pdf``): the window's
one-image report in the current language, its picture with the heatmap laid over it, in the
source image's Study in a series of its own, passing dicom3tools' ``dciodvfy``. (The command
that sends it: tests/desktop/test_cli.py; what the archive returns: tests/desktop/network.)"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pypdf import PdfReader

from desktop import i18n
from desktop.engine.scope import NOT_CHEST_XRAY, R_COLOUR, Reason, Scope
from desktop.reading.imaging import read_image
from desktop.reports.dicom_pdf import report_pdf
from desktop.reports.dicom_sc import secondary_capture
from desktop.reports.dicom_sr import (
    PDF_SERIES_DESCRIPTION,
    NoStudy,
    save,
    structured_report,
)
from tests.desktop.reports.test_dicom_sc import hot_corner
from tests.desktop.reports.test_dicom_sr import SOURCE, dciodvfy_errors, write_source
from tests.support.report_fixtures import CARD, SHA, classified, flat, session, write_xray


def pdf_object(tmp_path: Path, *, p: float = 0.83, scope: Scope | None = None,
               show_identifiers: bool = False):
    """The Encapsulated PDF written and read back, its PDF, the SR and SC of the same result."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = write_source(tmp_path / "image.dcm", PatientName="Doe^Jane")
    s = session()
    result = classified(s, source, p, scope=scope)
    preview = read_image(source).preview
    ds = report_pdf(result, s, CARD, SHA, preview, hot_corner(),
                    show_identifiers=show_identifiers)
    written = pydicom.dcmread(save(ds, tmp_path / "out"))
    document = bytes(written.EncapsulatedDocument)[:written.EncapsulatedDocumentLength]
    sr = structured_report(result, s.row(result), CARD, SHA)
    sc = secondary_capture(result, s.row(result), CARD, preview, hot_corner())
    return written, document, sr, sc


def pdf_text(document: bytes) -> str:
    return flat("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages))


def pdf_picture(document: bytes) -> np.ndarray:
    """The one picture on the report's first page, as RGB pixels."""
    [picture] = [image for image in PdfReader(io.BytesIO(document)).pages[0].images
                 if min(image.image.size) > 40]  # the X-ray, not the legend's colour strip
    return np.asarray(picture.image.convert("RGB"))


def test_the_report_joins_the_study_in_a_series_of_its_own_in_the_language_and_passes_dciodvfy(
        tmp_path):
    i18n.set_language("es")
    written, document, sr, sc = pdf_object(tmp_path)
    assert dciodvfy_errors(Path(written.filename)) == []
    checked = subprocess.run(["dciodvfy", written.filename], capture_output=True, text=True)
    assert "Warning" not in checked.stdout + checked.stderr
    assert written.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1"  # Encapsulated PDF Storage
    assert written.StudyInstanceUID == SOURCE["StudyInstanceUID"]
    series = {written.SeriesInstanceUID, sr.SeriesInstanceUID, sc.SeriesInstanceUID,
              SOURCE["SeriesInstanceUID"]}
    assert len(series) == 4  # its own series: not the image's, the SR's or the picture's
    assert written.SeriesDescription == PDF_SERIES_DESCRIPTION
    assert "research, not for diagnosis" in written.SeriesDescription
    assert (str(written.PatientName), written.PatientID) == ("Doe^Jane", "HOSP-0042")
    assert not written.PatientBirthDate and not written.PatientSex  # nothing else copied
    assert written.DocumentTitle == "Radiografía de tórax: resultado del modelo"
    assert written.BurnedInAnnotation == "NO"  # the identifiers were not asked for
    text = pdf_text(document)
    # the one-image report, in Spanish (the batch report is "… resultados del modelo")
    assert "Radiografía de tórax: resultado del modelo" in text
    assert "image.dcm" in text and "NEUMONÍA" in text and "0,830" in text
    assert "Ventana: como la muestra el archivo" in text and "Grad-CAM" in text
    assert "Doe" not in text and "HOSP-0042" not in text
    pixels = pdf_picture(document).astype(int)
    h, w = pixels.shape[:2]
    hot, cold = pixels[: h // 4, : w // 4], pixels[-h // 4:, -w // 4:]
    # the heatmap laid over the X-ray: the hot quarter coloured, the cold one grey
    assert hot[..., 0].mean() - hot[..., 2].mean() > 40
    assert np.abs(cold[..., 0] - cold[..., 2]).mean() < 6


def test_the_patient_is_named_in_the_report_only_when_asked_and_the_object_says_so(tmp_path):
    written, document, _, _ = pdf_object(tmp_path, show_identifiers=True)
    text = pdf_text(document)
    assert "Doe, Jane" in text and "HOSP-0042" in text
    assert written.BurnedInAnnotation == "YES"


def test_no_verdict_no_heatmap_as_the_window_shows_it(tmp_path):
    written, document, _, _ = pdf_object(tmp_path, scope=Scope(NOT_CHEST_XRAY, Reason(R_COLOUR)))
    assert dciodvfy_errors(Path(written.filename)) == []
    assert "Grad-CAM" not in pdf_text(document)
    pixels = pdf_picture(document).astype(int)
    assert np.abs(pixels[..., 0] - pixels[..., 2]).mean() < 6  # grey all over


def test_a_plain_image_has_no_study_to_join(tmp_path):
    image = write_xray(tmp_path / "chest.png")
    s = session()
    result = classified(s, image, 0.4)
    preview = Image.open(image)
    with pytest.raises(NoStudy, match="chest.png is not a DICOM image"):
        report_pdf(result, s, CARD, SHA, preview, None)


def test_the_archives_pdf_gives_no_patient_facts_while_the_report_saved_here_keeps_them(
        tmp_path):
    """The PDF sent to the archive, made as ``predict --send --pdf`` makes it
    (``queue_beside``): no patient age, sex or birth date, not even in the scope's reason (the
    patient is 34, outside the training ages); the name and ID only when asked. The report the
    user saves for the same image (File → Save report…) still lists age and sex."""
    from desktop.engine.scope import UNUSUAL, file_scope
    from desktop.network.background import Beside, queue_beside
    from desktop.network.outbox import Outbox
    from desktop.reports.content import single_report
    from desktop.reports.dicom_pdf import pdf_content
    from desktop.reports.pdf import single_pdf

    i18n.set_language("en")
    source = write_source(tmp_path / "image.dcm", PatientName="Doe^Jane", PatientAge="034Y",
                          PatientSex="M", PatientBirthDate="19920305")
    xray = read_image(source)
    scope = file_scope(xray.source, {"age_range_years": [1, 5]})
    assert scope.state == UNUSUAL  # judged on the file's age, said with it on screen
    s = session()
    result = classified(s, source, 0.83, scope=scope)
    row = s.row(result)
    beside = Beside(lambda model_input: hot_corner(), report=pdf_content(result, s, CARD, SHA))
    with Outbox(tmp_path / "outbox.db") as outbox:
        [uid] = queue_beside(outbox, result, row, CARD, beside, destination="ARCHIVE@pacs:104",
                             calling_aet="CXRNODE")
        path = outbox.item(uid).file
    assert dciodvfy_errors(path) == []
    written = pydicom.dcmread(path)
    assert written.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1"
    assert not written.PatientBirthDate and not written.PatientSex and "PatientAge" not in written
    sent = pdf_text(bytes(written.EncapsulatedDocument)[:written.EncapsulatedDocumentLength])
    for fact in ("Patient age", "Patient sex", "34 years", "Male", "irth", "1992", "19920305",
                 "Doe", "HOSP-0042"):
        assert fact not in sent, fact
    # the scope is still said, with the ages the model knows, not the patient's
    assert ("Unusual: This patient is outside the ages the model was trained on (children aged "
            "1 to 5 years).") in sent
    assert "Patient name and ID hidden" in sent  # the identifiers rule, as before

    saved = pdf_text(single_pdf(single_report(result, s, CARD, SHA, image=xray.preview)))
    for fact in ("Patient age 34 years", "Patient sex Male",
                 "The patient is 34 years old; the model was trained on children aged 1 to 5"):
        assert fact in saved, fact
