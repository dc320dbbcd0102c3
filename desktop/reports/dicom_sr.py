"""A result as DICOM, so the hospital's archive can file it beside the image it is about.

IHE AI Results asks for TID 1500 in a Comprehensive 3D SR: one measurement group whose finding
is Pneumonia (SCT 233604007), judged Present / Absent, or Indeterminate (SCT 82334004) where the
model gave no class: the verdict withheld (the image outside the model's scope) or the image
referred to a human reader (P inside the refer band); no probability is written then. Else the
probability (DCM 122157) as the model gave it; and the algorithm: the model's name, its version
with the file's sha256, and as parameters the decision, the threshold, the refer band, operating
point and site profile in force. The
SR joins the source image's Study in a Series of its own, references the source image, and is
UNVERIFIED: nobody has signed it. Of the patient only the name and ID are copied (the archive
files by them); the other patient attributes stay empty.

``encapsulated_pdf`` wraps a PDF report the same way (pydicom alone: highdicom has no class for
it), in a Series of its own ("AI result report - research, not for diagnosis", as the Secondary
Capture's picture has its own); ``desktop.reports.dicom_pdf`` makes the one-image report it
wraps. A plain image (JPEG, PNG) has no Study to join: ``NoStudy`` says so.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from desktop.atomicio import atomic_write_bytes
from desktop.errors import N_, UserError
from desktop.outcomes import Outcome, parse

SERIES_DESCRIPTION = "AI result \u2014 research, not for diagnosis"
MANUFACTURER = "cxr-pneumonia (research software)"
SERIES_NUMBER = 9901  # our series sort after the modality's own
PDF_SERIES_NUMBER = 9902
PDF_SERIES_DESCRIPTION = "AI result report - research, not for diagnosis"

NOT_DICOM = N_("{name} is not a DICOM image: it belongs to no study, so no DICOM result is "
               "written for it. Send DICOM images from the X-ray machine or the archive.")
NO_RESULT = N_("{name} got no result (it could not be read), so no DICOM result is written "
               "for it.")
# The DICOM fields a result copies from its source: the Study it joins, the patient's name and
# ID the archive files it by; nothing else of the patient.
STUDY_FIELDS = ("StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber",
                "ReferringPhysicianName", "PatientName", "PatientID")


class NoStudy(UserError):
    """The file is not a DICOM image with a Study (or got no result): nothing to write."""

    def __init__(self, path: Path, message: str = NOT_DICOM) -> None:
        super().__init__(message, name=Path(path).name)


def source_header(path: Path):
    """The source image's header, only what a result copies (``STUDY_FIELDS``, SOP class and
    instance, series); ``NoStudy`` for a plain image or a DICOM without a Study."""
    import pydicom
    from pydicom.dataset import Dataset
    from pydicom.errors import InvalidDicomError

    try:
        full = pydicom.dcmread(path, stop_before_pixels=True, force=False)
    except (InvalidDicomError, OSError, ValueError, TypeError) as exc:
        raise NoStudy(path) from exc
    if not full.get("StudyInstanceUID") or not full.get("SOPInstanceUID"):
        raise NoStudy(path)
    header = Dataset()
    for keyword in STUDY_FIELDS + ("SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID"):
        value = full.get(keyword)
        setattr(header, keyword, "" if value is None else value)
    header.PatientBirthDate, header.PatientSex = "", ""  # not copied: empty, as type 2 allows
    return header


def structured_report(result, row, metadata: dict, model_sha256: str, *,
                      operating_point: str | None = None):
    """The TID 1500 Comprehensive 3D SR for one classified DICOM image (a highdicom dataset).

    ``row`` is the session's ``ResultRow`` for ``result`` (decision, P, threshold, refer band,
    profile)."""
    import highdicom as hd
    from highdicom.sr import (
        AlgorithmIdentification,
        Comprehensive3DSR,
        DeviceObserverIdentifyingAttributes,
        Measurement,
        MeasurementReport,
        MeasurementsAndQualitativeEvaluations,
        ObservationContext,
        ObserverContext,
        QualitativeEvaluation,
        SourceImageForMeasurementGroup,
        TrackingIdentifier,
    )
    from pydicom.sr.codedict import codes
    from pydicom.sr.coding import Code

    if not result.ok:
        raise NoStudy(result.path, NO_RESULT)
    source = source_header(result.path)
    pneumonia = Code("233604007", "SCT", "Pneumonia")
    decision = parse(row.decision) or Outcome.WITHHELD
    if not decision.is_verdict or row.p_pneumonia is None:  # withheld, or referred
        judged, measurements = codes.SCT.Indeterminate, []
    else:
        judged = codes.SCT.Present if decision is Outcome.PNEUMONIA else codes.SCT.Absent
        measurements = [Measurement(name=codes.DCM.Probability, value=float(row.p_pneumonia),
                                    unit=Code("1", "UCUM", "no units"))]
    version = metadata.get("model_version") or "unknown"
    band = [] if row.t_low is None else [f"refer_band={row.t_low:.6f}-{row.t_high:.6f}"]
    parameters = [f"decision={decision}", f"threshold={row.threshold:.6f}", *band,
                  f"operating_point={operating_point or 'custom'}",
                  f"site_profile={row.profile or 'none'}",
                  f"model_sha256={model_sha256}"]
    algorithm = AlgorithmIdentification(
        name=str(metadata.get("model_name") or "cxr-pneumonia"),
        version=f"{version} sha256:{model_sha256}", parameters=parameters)
    group = MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=hd.UID(), identifier="Pneumonia"),
        finding_type=pneumonia, algorithm_id=algorithm, measurements=measurements or None,
        qualitative_evaluations=[QualitativeEvaluation(name=pneumonia, value=judged)],
        source_images=[SourceImageForMeasurementGroup(source.SOPClassUID,
                                                      source.SOPInstanceUID)])
    device = ObserverContext(
        observer_type=codes.cid270.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=device_uid(model_sha256), name=str(metadata.get("model_name") or "cxr"),
            manufacturer_name=MANUFACTURER, model_name=str(version)[:64]))
    report = MeasurementReport(
        observation_context=ObservationContext(observer_device_context=device),
        procedure_reported=Code("168731009", "SCT", "Chest X-ray"),
        imaging_measurements=[group])
    now = dt.datetime.now()
    sr = Comprehensive3DSR(
        evidence=[source], content=report, series_instance_uid=series_uid(source),
        series_number=SERIES_NUMBER, sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer=MANUFACTURER, is_complete=True, is_final=False, is_verified=False,
        series_description=SERIES_DESCRIPTION)
    sr.SpecificCharacterSet = "ISO_IR 192"  # the series description's dash, names in any script
    sr.ContentDate, sr.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    return sr


def device_uid(model_sha256: str) -> str:
    """The observer device's UID: one per model file, the same on every run."""
    from pydicom.uid import generate_uid

    return generate_uid(entropy_srcs=["cxr-observer-device", model_sha256])


def series_uid(source, kind: str = "sr") -> str:
    """Our Series in the source's Study: one per study and kind, so every result of a study
    sits in one series."""
    from pydicom.uid import generate_uid

    return generate_uid(entropy_srcs=["cxr-ai-result", kind, str(source.StudyInstanceUID)])


def save(dataset, folder: Path) -> Path:
    """``dataset`` written atomically into ``folder`` as ``<SOP Instance UID>.dcm``."""
    import io

    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return atomic_write_bytes(folder / f"{dataset.SOPInstanceUID}.dcm", buffer.getvalue())


def encapsulated_pdf(pdf: bytes | Path, source_image: Path, *, title: str = "AI result report",
                     names_patient: bool = True):
    """The PDF report ``pdf`` (its bytes, or a file) as an Encapsulated PDF in the source
    image's Study (a pydicom dataset), in a Series of its own, UNVERIFIED by nature (nobody
    signs it), patient name and ID copied only. ``names_patient``: the report shows the
    patient's name or ID (``BurnedInAnnotation``; a report whose content is not known is
    assumed to)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import EncapsulatedPDFStorage, ExplicitVRLittleEndian, generate_uid

    source = source_header(source_image)
    data = bytes(pdf) if isinstance(pdf, (bytes, bytearray)) else Path(pdf).read_bytes()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = EncapsulatedPDFStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = EncapsulatedPDFStorage
    ds.SpecificCharacterSet = "ISO_IR 192"  # a title in the reader's language
    for keyword in STUDY_FIELDS:
        setattr(ds, keyword, source.get(keyword, ""))
    ds.PatientBirthDate, ds.PatientSex = "", ""
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = series_uid(source, "pdf")
    ds.SeriesNumber, ds.InstanceNumber = PDF_SERIES_NUMBER, 1
    ds.SeriesDescription = PDF_SERIES_DESCRIPTION
    ds.Manufacturer = MANUFACTURER
    ds.ConversionType = "WSD"
    now = dt.datetime.now()
    ds.ContentDate, ds.ContentTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES" if names_patient else "NO"
    ds.DocumentTitle = title
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = data + (b"\0" if len(data) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(data)
    return ds
