"""Compressed DICOM made at test time, the way a PACS stores it (GDCM's own encoders).

pydicom cannot write JPEG Lossless; GDCM (python-gdcm, which the app ships for decoding) can.
GDCM writes 12-bit data as a 16-bit "JPEG Extended" no decoder accepts and aborts the process on
7-bit JPEG-LS, so those codestreams come from imagecodecs (libjpeg-turbo, CharLS) instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path


def gdcm_compress(source: Path, target: Path, syntax: str) -> Path:
    """Re-encode the DICOM file ``source`` into ``target`` with the transfer syntax named as in
    ``gdcm.TransferSyntax`` (e.g. ``"JPEGLosslessProcess14_1"``)."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(source))
    if not reader.Read():
        raise ValueError(f"GDCM cannot read {source}")
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax, syntax)))
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise ValueError(f"GDCM cannot encode {source} as {syntax}")
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(target))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    if not writer.Write():
        raise ValueError(f"GDCM cannot write {target}")
    return target


def gdcm_compressed_bytes(data: bytes, syntax: str) -> bytes:
    """``gdcm_compress`` for a DICOM file held in memory."""
    with tempfile.TemporaryDirectory(prefix="cxr-gdcm-") as folder:
        source, target = Path(folder, "plain.dcm"), Path(folder, "packed.dcm")
        source.write_bytes(data)
        return gdcm_compress(source, target, syntax).read_bytes()


def jpeg_12bit_codestream(pixels, quality: int = 95) -> bytes:
    """A JPEG Extended (Process 4, SOF1, 12-bit precision) codestream of uint16 ``pixels``."""
    import imagecodecs

    return imagecodecs.jpeg8_encode(pixels, level=quality, bitspersample=12)


def jpegls_codestream(pixels) -> bytes:
    """A lossless JPEG-LS codestream of ``pixels`` (CharLS picks 8 bits for uint8)."""
    import imagecodecs

    return imagecodecs.jpegls_encode(pixels)
