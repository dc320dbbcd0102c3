"""One image's PDF report as a DICOM Encapsulated PDF, for the archive to keep beside the image
(IHE AI Results: an Encapsulated PDF carries the human report).

The report is the one the window saves for one image (File → Save report…:
``desktop.reports.content.single_report`` laid out by ``desktop.reports.pdf.single_pdf``), in
the current language, never the batch report. Without a viewer, its picture is the whole
preview as the file shows it with the heatmap laid over it (``blend_heatmap``, as the Secondary
Capture's), and no heatmap where no verdict was given (as the window shows it). Of the patient it
says nothing but the name and ID, and those only with ``show_identifiers`` (as in ``predict
--report``): no age or sex, which the report saved on this computer lists; the DICOM header
copies the name and ID from the source either way (``desktop.reports.dicom_sr.encapsulated_pdf``:
the source's Study, a Series of its own).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from desktop.engine.session import withheld
from desktop.errors import N_
from desktop.i18n import gettext
from desktop.reports.content import SingleReport, single_report, with_image
from desktop.reports.dicom_sr import NO_RESULT, NoStudy, encapsulated_pdf
from desktop.reports.overlay import blend_heatmap
from desktop.reports.pdf import single_pdf

AS_THE_FILE_SHOWS_IT = N_("Window: as the file shows it")  # the viewer's words, no window set


def pdf_content(result, session, metadata: dict, model_sha256: str, *,
                show_identifiers: bool = False) -> SingleReport:
    """The words of ``result``'s one-image report (``session`` labels it, as it labels the
    table), its picture still to come (``encapsulated_report``). Cheap: the window takes them
    on its own thread with the result's row, so the PDF says what the SR says, whatever the
    threshold does meanwhile. No patient facts but, with ``show_identifiers``, the name and ID
    (``single_report(patient_facts=False)``): no age or sex, here or in the scope's reason.
    ``NoStudy`` for a result that could not be read."""
    if not result.ok:
        raise NoStudy(result.path, NO_RESULT)
    return single_report(result, session, metadata, model_sha256,
                         image_caption=gettext(AS_THE_FILE_SHOWS_IT),
                         show_identifiers=show_identifiers, patient_facts=False)


def encapsulated_report(content: SingleReport, result, preview: Image.Image,
                        heatmap: np.ndarray | None):
    """``content`` (``pdf_content``) with its picture laid out as a PDF and wrapped as an
    Encapsulated PDF dataset in the source image's Study; ``preview`` and ``heatmap`` are the
    file read again and its Grad-CAM (no heatmap: the picture alone; none where the verdict was
    withheld). ``NoStudy`` for a plain image."""
    if withheld(result):  # the window shows none either: "No heatmap: no verdict was given."
        heatmap = None
    picture = blend_heatmap(preview, heatmap) if heatmap is not None else preview
    content = with_image(content, picture, heatmap_shown=heatmap is not None)
    names_patient = bool(content.entry.identifiers)
    return encapsulated_pdf(single_pdf(content), Path(result.path), title=content.title,
                            names_patient=names_patient)


def report_pdf(result, session, metadata: dict, model_sha256: str, preview: Image.Image,
               heatmap: np.ndarray | None, *, show_identifiers: bool = False):
    """``result``'s one-image report as an Encapsulated PDF dataset in the source image's
    Study, words and picture at once (``pdf_content`` then ``encapsulated_report``). ``NoStudy``
    for a plain image or a result that could not be read."""
    return encapsulated_report(pdf_content(result, session, metadata, model_sha256,
                                           show_identifiers=show_identifiers),
                               result, preview, heatmap)
