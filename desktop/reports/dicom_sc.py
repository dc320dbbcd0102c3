"""The report picture as a DICOM Secondary Capture: the X-ray with its heatmap burned in, for
any PACS viewer to show beside the image (IHE AI Results: a picture any PACS shows).

The picture is the one the window and the PDF show (``desktop.reports.overlay.blend_heatmap``:
the preview with the Grad-CAM heat laid over it), with a caption band under it that says what
it is: the verdict at the threshold, P, the model, and that it is research, not for diagnosis.
The caption names no patient (``BurnedInAnnotation`` NO). The SC joins the source image's
Study in a Series of its own (``series_uid(source, "sc")``), like the SR; of the patient only
the name and ID are copied (``desktop.reports.dicom_sr.source_header``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from desktop.engine.session import withheld
from desktop.reports.dicom_sr import MANUFACTURER, NO_RESULT, NoStudy, series_uid, source_header
from desktop.reports.overlay import blend_heatmap

SC_SERIES_NUMBER = 9903
SC_SERIES_DESCRIPTION = "AI result picture - research, not for diagnosis"
CAPTION_HEIGHT = 56
MIN_WIDTH = 640  # a small image is scaled up so that the caption fits under it


def caption(row, metadata: dict) -> list[str]:
    """The caption's lines (ASCII: the burned-in font has no other letters)."""
    if row.verdict is None or row.p_pneumonia is None:
        said = "No verdict (the image is outside what the model was trained on)"
    else:
        said = f"{row.verdict}  P(pneumonia) = {row.p_pneumonia:.3f}  threshold {row.threshold:.2f}"
    model = f"{metadata.get('model_name') or 'cxr-pneumonia'} {metadata.get('model_version') or ''}"
    return [said, f"Heatmap: Grad-CAM. Model {model.strip()}.",
            "AI result - research and teaching, not for diagnosis."]


def report_picture(preview: Image.Image, heatmap: np.ndarray | None, lines: list[str]
                   ) -> Image.Image:
    """The preview with its heatmap burned in (none when ``heatmap`` is None), and the caption
    band under it, as RGB."""
    picture = blend_heatmap(preview, heatmap) if heatmap is not None else preview.convert("RGB")
    if picture.width < MIN_WIDTH:
        picture = picture.resize((MIN_WIDTH, round(picture.height * MIN_WIDTH / picture.width)),
                                 Image.Resampling.BILINEAR)
    width, height = picture.size
    framed = Image.new("RGB", (width, height + CAPTION_HEIGHT), (0, 0, 0))
    framed.paste(picture, (0, 0))
    draw = ImageDraw.Draw(framed)
    font = ImageFont.load_default()
    for number, line in enumerate(lines):
        draw.text((6, height + 4 + 16 * number), line, fill=(255, 255, 255), font=font)
    return framed


def secondary_capture(result, row, metadata: dict, preview: Image.Image,
                      heatmap: np.ndarray | None):
    """The report picture of ``result`` (``row`` its session row; ``preview`` and ``heatmap``
    as the result pane shows them) as a highdicom ``SCImage`` in the source image's Study; no
    heatmap where the verdict was withheld (the window shows none either, nor does the PDF).
    ``NoStudy`` for a plain image or a result that could not be read."""
    import highdicom as hd
    from highdicom.sc import SCImage

    if not result.ok:
        raise NoStudy(result.path, NO_RESULT)
    if withheld(result):
        heatmap = None
    source = source_header(Path(result.path))
    picture = report_picture(preview, heatmap, caption(row, metadata))
    sc = SCImage.from_ref_dataset(
        ref_dataset=source, pixel_array=np.asarray(picture, dtype=np.uint8),
        photometric_interpretation="RGB", bits_allocated=8, coordinate_system="PATIENT",
        series_instance_uid=series_uid(source, "sc"), series_number=SC_SERIES_NUMBER,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer=MANUFACTURER,
        patient_orientation=("L", "F"), transfer_syntax_uid="1.2.840.10008.1.2.1")
    # highdicom asks for an orientation; the picture is the source's pixels as they are, so
    # it has the source's, and none (type 2: empty) when the source gives none
    orientation = source_value(Path(result.path), "PatientOrientation")
    sc.PatientOrientation = orientation if orientation and len(orientation) == 2 else ""
    sc.SeriesDescription = SC_SERIES_DESCRIPTION
    sc.BurnedInAnnotation = "NO"  # the caption names no patient
    # a chest is no paired body part, so no Laterality; said, or dciodvfy asks for one
    sc.BodyPartExamined = source_value(Path(result.path), "BodyPartExamined") or "CHEST"
    sc.PatientBirthDate, sc.PatientSex = "", ""
    return sc


def source_value(path: Path, keyword: str):
    """One attribute of the source image's header (None when it has none)."""
    import pydicom

    value = pydicom.dcmread(path, stop_before_pixels=True).get(keyword)
    return None if value is None or value == "" else value
