"""A pydicom decoding plug-in for the compressed DICOM that pydicom's GDCM and Pillow plug-ins
refuse: 12-bit JPEG Extended (Process 2 & 4, 1.2.840.10008.1.2.4.51, common in older CR
exports) and JPEG-LS of 6 or 7 bits. imagecodecs (BSD-3-Clause) decodes them, with the
libjpeg-turbo 3 (12-bit JPEG) and CharLS it ships.

Why not GDCM's own reader: it decodes 12-bit JPEG, but in python-gdcm 3.2.6 that path corrupts
the heap (a later ``free()`` aborts the process), and encoding or decoding 7-bit JPEG-LS ends in a
C++ abort; pydicom's other 12-bit decoder, pylibjpeg-libjpeg, is GPL. ``register()`` adds the
plug-in after the built-in ones; the reader asks for it by name (``PLUGIN``) for exactly the
cases ``needed_for`` names, so the other plug-ins do not log a refusal first.
"""

from __future__ import annotations

import importlib.util
import logging

from pydicom import uid

log = logging.getLogger(__name__)

PLUGIN = "cxr-imagecodecs"
SYNTAXES = (uid.JPEGExtended12Bit, uid.JPEGLSLossless, uid.JPEGLSNearLossless)
# What pydicom's plug-in interface asks of a module: dependencies per syntax, is_available().
DECODER_DEPENDENCIES = {syntax: ("numpy", "imagecodecs>=2024.1.1") for syntax in SYNTAXES}
HAVE_IMAGECODECS = importlib.util.find_spec("imagecodecs") is not None


def is_available(transfer_syntax: str) -> bool:
    return HAVE_IMAGECODECS and transfer_syntax in DECODER_DEPENDENCIES


def needed_for(transfer_syntax: str, bits_stored: int | None) -> bool:
    """Whether only this plug-in decodes such pixel data (pydicom's own plug-ins refuse it)."""
    if transfer_syntax == uid.JPEGExtended12Bit:
        return bits_stored != 8
    if transfer_syntax in uid.JPEGLSTransferSyntaxes:
        return bits_stored in (6, 7)
    return False


def decode_frame(src: bytes, runner) -> bytes:
    """One encoded frame -> its samples, as pydicom's ``DecodeRunner`` expects them."""
    import imagecodecs

    if runner.transfer_syntax == uid.JPEGExtended12Bit:
        arr = imagecodecs.jpeg8_decode(src)
        if arr.ndim == 3 and str(runner.photometric_interpretation).startswith("YBR"):
            runner.set_option("photometric_interpretation", "RGB")  # libjpeg converted it
    else:
        arr = imagecodecs.jpegls_decode(src)
    if arr.ndim == 3:
        runner.set_option("planar_configuration", 0)  # imagecodecs gives colour-by-pixel
    runner.set_option("bits_allocated", arr.dtype.itemsize * 8)
    return arr.tobytes()


def register() -> None:
    """Add the plug-in to pydicom's decoders once (an import of desktop.reading.dicom does it)."""
    from pydicom.pixels import get_decoder

    for syntax in SYNTAXES:
        decoder = get_decoder(syntax)
        try:
            decoder.add_plugin(PLUGIN, (__name__, "decode_frame"))
        except ValueError:  # added already
            pass
