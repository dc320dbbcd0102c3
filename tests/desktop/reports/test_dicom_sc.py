"""The report picture as a DICOM Secondary Capture (``desktop.reports.dicom_sc``): the X-ray with
its heatmap burned in and a caption, in the source image's Study, passing dicom3tools'
``dciodvfy``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

from desktop.engine.scope import NOT_CHEST_XRAY, R_COLOUR, Reason, Scope
from desktop.reading.imaging import read_image
from desktop.reports.dicom_sc import SC_SERIES_DESCRIPTION, secondary_capture
from desktop.reports.dicom_sr import NoStudy, save
from tests.desktop.reports.test_dicom_sr import dciodvfy_errors, write_source
from tests.support.report_fixtures import CARD, classified, session, write_xray


def picture_for(tmp_path: Path, heatmap: np.ndarray | None, scope: Scope | None = None):
    source = write_source(tmp_path / "image.dcm")
    s = session()
    result = classified(s, source, 0.83, scope=scope)
    preview = read_image(source).preview
    sc = secondary_capture(result, s.row(result), CARD, preview, heatmap)
    return pydicom.dcmread(save(sc, tmp_path / "out")), pydicom.dcmread(source), preview


def hot_corner() -> np.ndarray:
    heatmap = np.zeros((224, 224), dtype=np.float32)
    heatmap[:112, :112] = 1.0  # the top left quarter hot, the rest cold
    return heatmap


def test_the_picture_joins_the_study_with_the_heatmap_burned_in_and_passes_dciodvfy(tmp_path):
    sc, source, preview = picture_for(tmp_path, hot_corner())
    assert dciodvfy_errors(Path(sc.filename)) == []
    checked = subprocess.run(["dciodvfy", sc.filename], capture_output=True, text=True)
    assert "Warning" not in checked.stdout + checked.stderr
    assert sc.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
    assert sc.StudyInstanceUID == source.StudyInstanceUID
    assert sc.SeriesInstanceUID != source.SeriesInstanceUID
    assert sc.SeriesDescription == SC_SERIES_DESCRIPTION
    assert (str(sc.PatientName), sc.PatientID) == ("Fuzz^Corpus", "HOSP-0042")
    assert not sc.PatientBirthDate and not sc.PatientSex  # nothing else of the patient
    assert sc.BurnedInAnnotation == "NO" and sc.PhotometricInterpretation == "RGB"
    pixels = sc.pixel_array
    width = max(preview.width, 640)  # a small image scaled up: the caption fits under it
    height = round(preview.height * width / preview.width)
    assert pixels.shape == (height + 56, width, 3)  # the caption band under the picture
    hot, cold = pixels[: height // 4, : width // 4], pixels[-height // 2 - 56:-56, -width // 4:]
    # the hot quarter is coloured (inferno: red well above blue); the cold part stays grey
    assert hot[..., 0].mean() - hot[..., 2].mean() > 40
    assert np.abs(cold[..., 0].astype(int) - cold[..., 2]).mean() < 2
    assert pixels[height + 4:, :, :].max() > 200  # the caption's white letters


def test_a_withheld_verdict_has_no_heatmap_burned_in(tmp_path):
    """As in the window and the PDF: where the image is not a chest X-ray, no heatmap."""
    sc, _, preview = picture_for(tmp_path, hot_corner(),
                                 scope=Scope(NOT_CHEST_XRAY, Reason(R_COLOUR)))
    width = max(preview.width, 640)
    height = round(preview.height * width / preview.width)
    picture = sc.pixel_array[:height].astype(int)
    assert np.abs(picture[..., 0] - picture[..., 2]).mean() < 2  # grey all over


def test_a_plain_image_has_no_study_to_join(tmp_path):
    image = write_xray(tmp_path / "chest.png")
    s = session()
    result = classified(s, image, 0.4)
    with pytest.raises(NoStudy, match="chest.png is not a DICOM image"):
        secondary_capture(result, s.row(result), CARD, read_image(image).preview, None)
