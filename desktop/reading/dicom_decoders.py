"""Which decoder reads each compressed DICOM syntax, and a pydicom plug-in for JPEG, JPEG-LS and
JPEG 2000 built on imagecodecs (BSD-3-Clause: libjpeg-turbo 3, CharLS and OpenJPEG).

The reader names a plug-in for every compressed syntax (``plugin_for``) instead of letting
pydicom take the first installed one, so a file decodes the same way from source and in the
bundles, whatever else happens to be installed:

* JPEG Lossless (Process 14 and its SV1 form, the commonest compression of CR/DX archives),
  12-bit JPEG Extended (older CR exports), JPEG-LS and JPEG 2000: this plug-in. libjpeg-turbo 3
  decodes lossless JPEG of 2-16 bits with every predictor, and 12-bit DCT JPEG; CharLS every
  JPEG-LS (6 and 7 bits too); OpenJPEG gives JPEG 2000 samples at the codestream's precision and
  sign, as pydicom's pylibjpeg plug-in does, so pydicom's own sign correction applies. (Pillow's
  JPEG 2000 reader refuses some colour files GDCM wrote, and turns >8-bit colour into 8 bits.)
* 8-bit JPEG (Baseline, or Extended at 8 bits): pydicom's Pillow plug-in.
* RLE Lossless: pydicom's own decoder.

Why not GDCM, which the app used before: its 12-bit JPEG path corrupts the heap in python-gdcm
3.2.6 (a later ``free()`` aborts the process) and its 7-bit JPEG-LS ends in a C++ abort, and it
weighed 17 MiB in the bundle for what these decoders already do. pylibjpeg-libjpeg is GPL.
The tests still encode their compressed files with GDCM, a coder independent of these.
"""

from __future__ import annotations

import importlib.util
import logging

from pydicom import uid

log = logging.getLogger(__name__)

PLUGIN = "cxr-imagecodecs"
JPEG_SYNTAXES = (uid.JPEGExtended12Bit, uid.JPEGLossless, uid.JPEGLosslessSV1)
JPEGLS_SYNTAXES = (uid.JPEGLSLossless, uid.JPEGLSNearLossless)
JPEG2000_SYNTAXES = (uid.JPEG2000Lossless, uid.JPEG2000)
SYNTAXES = JPEG_SYNTAXES + JPEGLS_SYNTAXES + JPEG2000_SYNTAXES
# pydicom's own plug-ins, by the names its decoders give them.
PILLOW_SYNTAXES = (uid.JPEGBaseline8Bit,)
RLE_SYNTAXES = (uid.RLELossless,)
# What pydicom's plug-in interface asks of a module: dependencies per syntax, is_available().
DECODER_DEPENDENCIES = {syntax: ("numpy", "imagecodecs>=2024.1.1") for syntax in SYNTAXES}
HAVE_IMAGECODECS = importlib.util.find_spec("imagecodecs") is not None


def is_available(transfer_syntax: str) -> bool:
    return HAVE_IMAGECODECS and transfer_syntax in DECODER_DEPENDENCIES


def plugin_for(transfer_syntax: str, bits_stored: int | None) -> str:
    """The plug-in that decodes this compressed syntax ("" for one not named above: pydicom
    then takes whichever of its plug-ins is installed, if any)."""
    if transfer_syntax == uid.JPEGExtended12Bit and bits_stored == 8:
        return "pillow"
    if transfer_syntax in SYNTAXES:
        return PLUGIN
    if transfer_syntax in PILLOW_SYNTAXES:
        return "pillow"
    if transfer_syntax in RLE_SYNTAXES:
        return "pydicom"
    return ""


JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  "
JP2_CODESTREAM_BOX = b"jp2c"


def jp2_header_never_ends(codestream: bytes) -> bool:
    """Whether pydicom's JPEG 2000 header walk (``pydicom.pixels.utils.get_j2k_parameters``,
    which runs before any plug-in) would loop for ever on this frame: a JP2 box of length 0 (in
    the standard, "to the end of the file") before the codestream box. pydicom 3.0 adds the length
    to its offset and stays on that box; a damaged or hostile file would hang the reader."""
    if not codestream.startswith(JP2_SIGNATURE):
        return False
    offset = 12
    while offset < len(codestream):
        if codestream[offset + 4:offset + 8] == JP2_CODESTREAM_BOX:
            return False
        length = int.from_bytes(codestream[offset:offset + 4], "big")
        if length == 0:
            return True
        offset += length
    return False


def decode_frame(src: bytes, runner) -> bytes:
    """One encoded frame -> its samples, as pydicom's ``DecodeRunner`` expects them."""
    import imagecodecs

    if runner.transfer_syntax in JPEG_SYNTAXES:
        arr = imagecodecs.jpeg8_decode(src)
        if arr.ndim == 3 and str(runner.photometric_interpretation).startswith("YBR"):
            runner.set_option("photometric_interpretation", "RGB")  # libjpeg converted it
    elif runner.transfer_syntax in JPEG2000_SYNTAXES:
        arr = imagecodecs.jpeg2k_decode(src)
        if str(runner.photometric_interpretation) in ("YBR_ICT", "YBR_RCT"):
            runner.set_option("photometric_interpretation", "RGB")  # OpenJPEG undid the MCT
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
