"""Compressed DICOM made at test time, the way a PACS stores it (GDCM's own encoders).

pydicom cannot write JPEG Lossless; GDCM (python-gdcm, which the app ships for decoding) can.
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
