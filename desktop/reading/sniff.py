"""What a file holds, told from its first bytes: DICOM (with or without its 128-byte preamble)
or an image format's signature.

The reader dispatches on it, and folder scans use it to recognise files by content, so a DICOM
file exported without a suffix, named by its UID or with an odd suffix is found without being
decoded. Only ``HEAD_BYTES`` are read; nothing here imports pydicom or Pillow.

A raw DICOM dataset (no preamble, no ``DICM``; older archive exports) has no signature, so it is
recognised by its structure: the first element is in group 0002 (file meta) or 0008 (the first
group every image carries), and it and the next element parse as DICOM elements in one of the
three uncompressed encodings (implicit VR little endian, explicit VR little or big endian): a
known VR where the encoding is explicit, an even length that fits in the file, tags in
ascending order. Text, JPEG, PNG, GIF, TIFF, PDF or ZIP bytes fail the first test already.
"""

from __future__ import annotations

import os
import stat
import struct

HEAD_BYTES = 1024
PREAMBLE = 128

# Every value representation of PS3.5 table 6.2-1; the second set has a 4-byte length field.
_VRS = frozenset(
    b"AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN"
    b" UR US UT UV".split()
)
_LONG_VRS = frozenset(b"OB OD OF OL OV OW SQ UC UN UR UT UV".split())
_UNDEFINED = 0xFFFFFFFF
_FIRST_GROUPS = (0x0002, 0x0008)
# (little endian, explicit VR): the encodings a dataset without file meta may be in.
_ENCODINGS = ((True, False), (True, True), (False, True))

# Signatures of the image formats the reader opens through Pillow.
_IMAGE_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",  # TIFF, little endian
    b"MM\x00*",  # TIFF, big endian
    b"\x00\x00\x00\x0cjP  \r\n\x87\n",  # JPEG 2000 (JP2)
    b"\xff\x4f\xff\x51",  # JPEG 2000 codestream
)


def read_head(path: str | os.PathLike[str]) -> tuple[bytes, int]:
    """The first ``HEAD_BYTES`` of a regular file and its size; ``(b"", 0)`` when unreadable.

    Opened without blocking, so a named pipe never stalls a folder scan."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return b"", 0
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return b"", 0
        return os.read(fd, HEAD_BYTES), st.st_size
    except OSError:
        return b"", 0
    finally:
        os.close(fd)


def has_preamble(head: bytes) -> bool:
    """``DICM`` after the 128-byte preamble: a DICOM file as the standard writes it."""
    return head[PREAMBLE : PREAMBLE + 4] == b"DICM"


def is_raw_dicom(head: bytes, size: int) -> bool:
    """A DICOM dataset written without preamble: see the module docstring for the test."""
    return any(_two_elements(head, size, little, explicit) for little, explicit in _ENCODINGS)


def looks_like_dicom(head: bytes, size: int) -> bool:
    return has_preamble(head) or is_raw_dicom(head, size)


def looks_like_image(head: bytes) -> bool:
    """A signature of a format Pillow opens (WebP: ``RIFF`` + size + ``WEBP``)."""
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return True
    return any(head.startswith(signature) for signature in _IMAGE_SIGNATURES)


def _two_elements(head: bytes, size: int, little: bool, explicit: bool) -> bool:
    """The first two data elements parse in this encoding and fit in a file of ``size``."""
    order = "<" if little else ">"
    offset, previous = 0, -1
    for _ in range(2):
        if offset + 8 > len(head):
            return False
        group, element = struct.unpack_from(order + "HH", head, offset)
        if previous < 0 and group not in _FIRST_GROUPS:
            return False
        tag = (group << 16) | element
        if tag <= previous:
            return False
        header, length = _element_header(head, offset, order, explicit)
        if header == 0 or length == _UNDEFINED or length % 2:
            return False  # a sequence first in a dataset is no image header: refused too
        if element == 0 and length != 4:  # a group length is one UL
            return False
        offset += header + length
        if offset > size:
            return False
        previous = tag
    return True


def _element_header(head: bytes, offset: int, order: str, explicit: bool) -> tuple[int, int]:
    """(header length, value length); (0, 0) when the bytes are no element header."""
    if not explicit:
        return 8, struct.unpack_from(order + "I", head, offset + 4)[0]
    vr = head[offset + 4 : offset + 6]
    if vr not in _VRS:
        return 0, 0
    if vr not in _LONG_VRS:
        return 8, struct.unpack_from(order + "H", head, offset + 6)[0]
    if offset + 12 > len(head) or head[offset + 6 : offset + 8] != b"\x00\x00":
        return 0, 0
    return 12, struct.unpack_from(order + "I", head, offset + 8)[0]
