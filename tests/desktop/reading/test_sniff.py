"""Recognising a file by its first bytes, whatever its name: images by their signatures, DICOM
with its preamble or without one (a dataset written bare), and nothing else."""

import io
import os

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from desktop.reading.sniff import (
    HEAD_BYTES,
    has_preamble,
    is_raw_dicom,
    looks_like_dicom,
    looks_like_image,
    read_head,
)


def image_bytes(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("L" if fmt != "WEBP" else "RGB", (8, 8)).save(out, format=fmt)
    return out.getvalue()


def dicom_bytes(preamble: bool, explicit: bool = True) -> bytes:
    ds = pydicom.Dataset()
    ds.Modality, ds.Rows, ds.Columns = "CR", 2, 2
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.PixelData = np.zeros((2, 2), np.uint8).tobytes()
    out = io.BytesIO()
    if preamble:
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(out, enforce_file_format=True)
    else:
        syntax = ExplicitVRLittleEndian if explicit else ImplicitVRLittleEndian
        ds.save_as(out, implicit_vr=syntax.is_implicit_VR, little_endian=True)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP"])
def test_image_formats_pillow_opens_are_told_by_their_signature(fmt):
    head = image_bytes(fmt)[:HEAD_BYTES]
    assert looks_like_image(head) == (fmt != "BMP")  # BMP goes by its name: "BM" is too short
    assert not looks_like_dicom(head, len(head))


def test_dicom_is_told_with_and_without_its_preamble():
    standard = dicom_bytes(preamble=True)
    assert has_preamble(standard[:HEAD_BYTES]) and looks_like_dicom(standard, len(standard))
    for explicit in (True, False):
        bare = dicom_bytes(preamble=False, explicit=explicit)
        assert not has_preamble(bare[:HEAD_BYTES])
        assert is_raw_dicom(bare[:HEAD_BYTES], len(bare)), explicit


@pytest.mark.parametrize("data", [b"", b"Patient report, not an image.\n" * 10,
                                  b"\x08\x00\x05\x00CS\x40\x00" + b"x" * 8,  # a length past the end
                                  bytes(range(256)) * 4])
def test_text_noise_and_a_truncated_header_are_neither(data):
    head = data[:HEAD_BYTES]
    assert not looks_like_dicom(head, len(data)) and not looks_like_image(head)


def test_read_head_reads_a_regular_file_and_nothing_else(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(image_bytes("PNG"))
    head, size = read_head(path)
    assert head.startswith(b"\x89PNG") and size == path.stat().st_size
    assert read_head(tmp_path) == (b"", 0)  # a folder
    assert read_head(tmp_path / "missing") == (b"", 0)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert read_head(fifo) == (b"", 0)  # opened without blocking, refused
