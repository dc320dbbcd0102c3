"""DICOM as archives and devices export it: raw datasets without preamble or file meta, 12-bit
JPEG and 7-bit JPEG-LS, windows that cannot be applied, malformed tags the pixels do not need,
and the facts the information panel shows. Every file here is built at test time."""

import logging

import numpy as np
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGExtended12Bit, JPEGLSLossless

from desktop.errors import DicomCompressionError, DicomNoPixelDataError
from desktop.reading import dicom_decoders, imaging
from desktop.reading.dicom_facts import parse_age
from desktop.reading.imaging import read_image
from tests.desktop.reading.test_imaging import chest, lungs_dark
from tests.support.dicom_codecs import jpeg_12bit_codestream, jpegls_codestream
from tests.support.fuzz_corpus import dicom_bytes, encode, gray

CHEST_12BIT = chest(body=3000, lung=200, dtype=np.uint16)


def write(path, data):
    path.write_bytes(data)
    return path


# --- no preamble, no file meta ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["IM000001", "export.raw", "x.dcm", "1.2.840.113619.2.55"])
@pytest.mark.parametrize(
    ("encoding", "uid"),
    [((True, True), "1.2.840.10008.1.2"),  # implicit VR little endian: the usual old export
     ((False, True), "1.2.840.10008.1.2.1"),
     ((False, False), "1.2.840.10008.1.2.2")],
)
def test_a_raw_dataset_without_preamble_or_file_meta_reads_whatever_its_name(
        tmp_path, name, encoding, uid):
    path = tmp_path / name
    path.write_bytes(dicom_bytes(chest(body=3000, lung=200, dtype=np.uint16),
                                 raw_encoding=encoding))
    assert path.read_bytes()[:2] in (b"\x08\x00", b"\x00\x08")  # the dataset, no preamble
    assert imaging.is_dicom_file(path)  # what a folder scan asks
    x = read_image(path)
    assert x.source["format"] == "DICOM" and lungs_dark(x.model_input)
    assert x.source["transfer_syntax"] == uid and x.source["transfer_syntax_assumed"]


def test_a_raw_dataset_without_pixels_says_it_holds_no_image(tmp_path):
    path = tmp_path / "report"
    path.write_bytes(dicom_bytes(None, raw_encoding=(True, True)))
    with pytest.raises(DicomNoPixelDataError):
        read_image(path)


NOT_DICOM = {
    "text": b"Patient report: see the attached chest X-ray.\n" * 30,
    "jpeg": encode(gray(64, 64), "JPEG"),
    "png": encode(gray(64, 64), "PNG"),
    "gif": encode(gray(64, 64), "GIF"),
    "webp": encode(gray(64, 64), "WEBP"),
    "tiff": encode(gray(64, 64), "TIFF"),
    "bmp": encode(gray(64, 64), "BMP"),
    "pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    "zip": b"PK\x03\x04" + bytes(300),
    "zeros": bytes(2048),
    "utf16": "II* not a tiff, some words".encode("utf-16") * 20,
}


def test_the_dicom_sniff_takes_no_other_kind_of_file_for_a_raw_dataset():
    """Formats, text, and bytes built to get past the first check (group 0008 up front)."""
    from desktop.reading.sniff import is_raw_dicom, looks_like_dicom

    rng = np.random.default_rng(12)
    samples = dict(NOT_DICOM)
    for i in range(300):
        noise = rng.integers(0, 256, 1024, dtype=np.uint8).tobytes()
        samples[f"noise {i}"] = noise
        samples[f"group 0008 then noise {i}"] = b"\x08\x00" + noise[2:]
    taken = [name for name, data in samples.items()
             if looks_like_dicom(data[:1024], len(data)) or is_raw_dicom(data[:1024], len(data))]
    assert not taken


# --- compressed in ways pydicom's own plug-ins refuse -------------------------------------------


def jpeg_12bit_dicom(pixels):
    return dicom_bytes(pixels, transfer_syntax=JPEGExtended12Bit,
                       pixel_data=encapsulate([jpeg_12bit_codestream(pixels)]),
                       extra={"BitsStored": 12, "HighBit": 11})


def test_12_bit_jpeg_extended_reads_like_the_uncompressed_image(tmp_path):
    lossy = read_image(write(tmp_path / "cr.dcm", jpeg_12bit_dicom(CHEST_12BIT)))
    plain = read_image(write(tmp_path / "plain.dcm", dicom_bytes(CHEST_12BIT)))
    assert lossy.source["transfer_syntax"] == "1.2.840.10008.1.2.4.51"
    assert "JPEG Extended" in lossy.source["transfer_syntax_name"]
    assert lossy.source["bit_depth"] == 12 and lungs_dark(lossy.model_input)
    difference = np.abs(lossy.model_input.astype(int) - plain.model_input.astype(int))
    assert difference.mean() < 1.5  # quality 95 of 12 bits: near the original


def test_12_bit_jpeg_without_its_decoder_is_said_to_be_unsupported_not_damaged(
        tmp_path, monkeypatch):
    monkeypatch.setattr(dicom_decoders, "HAVE_IMAGECODECS", False)
    with pytest.raises(DicomCompressionError) as info:
        read_image(write(tmp_path / "cr.dcm", jpeg_12bit_dicom(CHEST_12BIT)))
    assert info.value.user_message().startswith("Compressed DICOM of this kind is not supported")


def test_7_bit_jpeg_ls_reads(tmp_path):
    """BitsStored 7: the precision pydicom's GDCM plug-in refuses (GDCM aborts on it)."""
    seven = (CHEST_12BIT >> 5).astype(np.uint8)
    path = write(tmp_path / "ls.dcm", dicom_bytes(
        seven, transfer_syntax=JPEGLSLossless, pixel_data=encapsulate([jpegls_codestream(seven)]),
        extra={"BitsStored": 7, "HighBit": 6}))
    x = read_image(path)
    assert x.source["bit_depth"] == 7 and lungs_dark(x.model_input)
    plain = read_image(write(tmp_path / "plain.dcm", dicom_bytes(seven)))
    assert np.array_equal(x.model_input, plain.model_input)  # lossless


# --- display settings that cannot be applied -----------------------------------------------------


def bad_voi_lut():
    from pydicom.dataset import Dataset

    item = Dataset()
    item.LUTDescriptor = [256, 0, 16]
    item.add_new(0x00283006, "US", [1, 2, 3])  # 3 entries where 256 are declared
    return [item]


@pytest.mark.parametrize(
    ("label", "settings"),
    [("width 0", {"extra": {"WindowCenter": "1500", "WindowWidth": "0"}}),
     ("negative width", {"extra": {"WindowCenter": "1500", "WindowWidth": "-40"}}),
     ("centre not a number", {"malformed": {0x00281050: ("DS", b"15A0"),
                                            0x00281051: ("DS", b"400 ")}}),
     ("window saturating everything", {"extra": {"WindowCenter": "90000",
                                                 "WindowWidth": "10"}}),
     ("VOI LUT pydicom rejects", {"extra": {"VOILUTSequence": bad_voi_lut()}})],
)
def test_a_window_that_cannot_be_applied_shows_the_full_range_and_says_so_in_the_log(
        tmp_path, caplog, label, settings):
    caplog.set_level(logging.INFO)
    x = read_image(write(tmp_path / "w.dcm", dicom_bytes(CHEST_12BIT, **settings)))
    plain = read_image(write(tmp_path / "plain.dcm", dicom_bytes(CHEST_12BIT)))
    assert x.source["windowing"] == "full_range", label
    assert np.array_equal(x.model_input, plain.model_input)  # the stored values' full range
    assert "full range" in caplog.text


def test_a_usable_window_is_still_applied(tmp_path):
    arr = CHEST_12BIT.copy()
    arr[:20] = 1600  # a band the window shows mid-grey
    x = read_image(write(tmp_path / "w.dcm", dicom_bytes(
        arr, extra={"WindowCenter": "1600", "WindowWidth": "400"})))
    assert x.source["windowing"] == "window"
    assert x.source["windows"] == [{"center": 1600.0, "width": 400.0, "explanation": None}]
    assert 100 < x.model_input[5, 112] < 160 and x.model_input[112, 50] <= 2


# --- malformed tags that the pixels do not need -------------------------------------------------


def test_number_of_frames_1A_is_counted_from_the_pixel_data(tmp_path):
    frames = np.stack([CHEST_12BIT, CHEST_12BIT // 2, CHEST_12BIT // 3])
    x = read_image(write(tmp_path / "mf.dcm", dicom_bytes(
        frames, rows_cols=CHEST_12BIT.shape, malformed={0x00280008: ("IS", b"1A")})))
    assert x.source["frames"] == 3 and x.source["frame"] == 1 and x.source["multi_frame"]
    assert lungs_dark(x.model_input)


def test_broken_patient_facts_give_none_and_the_image_is_read(tmp_path):
    x = read_image(write(tmp_path / "p.dcm", dicom_bytes(CHEST_12BIT, malformed={
        0x00101010: ("AS", b"ABCD"),  # PatientAge
        0x00100040: ("CS", b"?!"),  # PatientSex
        0x00080020: ("DA", b"2024-13-45"),  # StudyDate
        0x00280030: ("DS", b"a\\b "),  # PixelSpacing
        0x00180015: ("LO", bytes(range(1, 33))),  # BodyPartExamined: control characters
    })))
    assert lungs_dark(x.model_input)
    facts = {k: x.source[k] for k in ("patient_age", "patient_sex", "study_date", "pixel_spacing")}
    assert facts == dict.fromkeys(facts)


def test_dicom_facts_for_the_information_panel(tmp_path):
    x = read_image(write(tmp_path / "cr.dcm", dicom_bytes(CHEST_12BIT, extra={
        "BodyPartExamined": "CHEST", "ViewPosition": "PA", "PatientAge": "005Y",
        "PatientSex": "F", "StudyDate": "20240131", "Manufacturer": "ACME Radiology",
        "ImagerPixelSpacing": [0.139, 0.14], "PatientID": "H-123",
        "WindowCenter": [2000, 1500], "WindowWidth": [4000, 800],
        "WindowCenterWidthExplanation": ["FULL", "LUNG"],
    })))
    s = x.source
    assert (s["modality"], s["body_part"], s["view_position"]) == ("CR", "CHEST", "PA")
    assert (s["patient_age"], s["patient_sex"], s["study_date"]) == (5.0, "F", "2024-01-31")
    assert s["manufacturer"] == "ACME Radiology" and s["pixel_spacing"] == [0.139, 0.14]
    assert s["photometric"] == "MONOCHROME2" and s["bit_depth"] == 16
    assert s["transfer_syntax"] == "1.2.840.10008.1.2.1"
    assert s["transfer_syntax_name"] == "Explicit VR Little Endian"
    assert not s["transfer_syntax_assumed"] and (s["frames"], s["frame"]) == (1, 1)
    assert s["windows"] == [{"center": 2000.0, "width": 4000.0, "explanation": "FULL"},
                            {"center": 1500.0, "width": 800.0, "explanation": "LUNG"}]
    # identifiers only under their own key, so a display can leave them out
    assert s["identifiers"] == {"patient_name": "Fuzz^Corpus", "patient_id": "H-123"}
    assert "Fuzz^Corpus" not in repr({k: v for k, v in s.items() if k != "identifiers"})
    assert s["colour_fraction"] == 0.0


def test_the_age_comes_from_the_birth_date_when_the_file_gives_none(tmp_path):
    x = read_image(write(tmp_path / "cr.dcm", dicom_bytes(CHEST_12BIT, extra={
        "PatientBirthDate": "20190701", "AcquisitionDate": "20240701"})))
    assert x.source["patient_age"] == pytest.approx(5.0, abs=0.01)


@pytest.mark.parametrize(("text", "years"), [
    ("005Y", 5.0), ("018M", 1.5), ("010W", 10 * 7 / 365.25), ("003D", 3 / 365.25),
    ("5Y", 5.0), ("  070Y ", 70.0), ("ABCD", None), ("", None), (None, None), ("999Y", None),
    ("-05Y", None), ("005", None), ("5.5Y", None)])
def test_patient_age_parses_days_weeks_months_and_years(text, years):
    assert parse_age(text) == (pytest.approx(years, abs=1e-4) if years is not None else None)


def test_a_colour_dicom_reports_its_colour_fraction(tmp_path):
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:32, :, 0] = 200  # the top half red
    x = read_image(write(tmp_path / "us.dcm", dicom_bytes(
        rgb, photometric="RGB", extra={"SamplesPerPixel": 3, "PlanarConfiguration": 0},
        rows_cols=(64, 64))))
    assert x.source["colour_fraction"] == pytest.approx(0.5, abs=0.05)


# --- the display buffer: values before windowing, for the viewer only --------------------------


def test_a_grey_dicom_gives_its_values_before_windowing_at_the_preview_size(tmp_path):
    """Stored 0..4000 with a rescale to -1000..3000 and a narrow window: the model input is the
    windowed image, unchanged by the buffer; the buffer holds the rescaled values, so the file's
    own window (centre, width) in its units lands on the right codes."""
    arr = CHEST_12BIT.copy()
    arr[:20] = 1600
    data = dicom_bytes(arr, extra={"RescaleSlope": "1", "RescaleIntercept": "-1000",
                                   "WindowCenter": "600", "WindowWidth": "400"})
    path = write(tmp_path / "w.dcm", data)
    with_preview = read_image(path, preview_size=100)
    without = read_image(path, preview_size=None)
    assert np.array_equal(with_preview.model_input, without.model_input)  # bit for bit
    assert without.display is None  # no preview asked: no buffer computed
    buffer = with_preview.display
    assert buffer.codes.dtype == np.uint16
    assert buffer.codes.shape[::-1] == with_preview.preview.size
    assert (buffer.low, buffer.high) == (200.0 - 1000, 3000.0 - 1000)
    assert not buffer.monochrome1
    # a code maps back to the file's value: the band stored at 1600 is 600 after the rescale
    band = buffer.low + float(buffer.codes[2, 50]) * buffer.step
    assert band == pytest.approx(600, abs=buffer.step)
    assert path.read_bytes() == data  # the input file is never modified


def test_a_monochrome1_dicom_says_so_in_its_buffer_and_colour_dicom_has_none(tmp_path):
    m1 = read_image(write(tmp_path / "m1.dcm", dicom_bytes(CHEST_12BIT,
                                                           photometric="MONOCHROME1")))
    assert m1.display.monochrome1
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[..., 0] = 200
    x = read_image(write(tmp_path / "rgb.dcm", _rgb_dicom(rgb)))
    assert x.display is None


def _rgb_dicom(rgb):
    import io

    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rgb.shape[:2]
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = rgb.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


# --- a JPEG 2000 header pydicom's own parser never leaves ----------------------------------------


@pytest.mark.parametrize("frames", [1, 2])
def test_jpeg_2000_with_a_zero_length_jp2_box_is_refused_not_hung(tmp_path, frames):
    """pydicom 3.0 walks a JP2 header before any decoder runs, adding each box's length to its
    offset: a box of length 0 before the codestream keeps it on the same box for ever."""
    from pydicom.uid import JPEG2000Lossless

    from desktop.errors import NotAnImageError
    from tests.support.fuzz_corpus import run_with_watchdog

    hostile = b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00\x00\x00\x00ftyp" + bytes(92)
    pixels = np.zeros((frames, 64, 64), np.uint8) if frames > 1 else np.zeros((64, 64), np.uint8)
    path = write(tmp_path / "j2k.dcm", dicom_bytes(
        pixels, transfer_syntax=JPEG2000Lossless, pixel_data=encapsulate([hostile] * frames),
        extra={"NumberOfFrames": frames} if frames > 1 else None))
    outcome = run_with_watchdog(lambda: read_image(path), 60.0)
    assert outcome.finished, "the reader hung on the file"
    assert isinstance(outcome.exception, NotAnImageError)
    assert outcome.exception.user_message().startswith("This file is not an image or is damaged")
