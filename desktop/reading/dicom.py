"""DICOM -> the reader's grey image: the first frame decoded by pydicom's plug-ins, its modality
LUT, then the file's VOI LUT or window, MONOCHROME1 inverted so lungs come out dark.

Imported by ``desktop.reading.imaging`` only for files whose content is DICOM (pydicom is heavy).
Files
are read as archives export them, with or without preamble and file meta: without a transfer
syntax, the encoding pydicom found is assumed (implicit VR little endian unless the first
element says explicit). What the pixels need (rows, columns, bits, the pixel data) must be
sound, or the file is called damaged. The rest is tolerated:
- a malformed NumberOfFrames ("1A") is counted again from the pixel data;
- a window or VOI LUT that cannot be applied (width 0, a LUT pydicom rejects, a centre that is
  no number) or that leaves no contrast falls back to the full range of the values, with a log
  line: a display setting never refuses an image;
- a malformed fact gives None in the source dict (``desktop.reading.dicom_facts``).
Compressed pixel data no installed plug-in decodes gives ``DicomCompressionError``; any other
failure is a ``ReadError`` too, so a file never reaches the generic "something went wrong".
"""

from __future__ import annotations

import logging
from typing import IO

import numpy as np
import pydicom
from PIL import Image, ImageOps
from pydicom.encaps import generate_frames, get_frame
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    apply_windowing,
    get_decoder,
    pixel_array,
)
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000TransferSyntaxes,
)

from desktop.errors import (
    DicomCompressionError,
    DicomNoPixelDataError,
    NotAnImageError,
    ReadError,
    UnsupportedFormatError,
)
from desktop.reading import dicom_decoders
from desktop.reading.dicom_facts import describe, text, transfer_syntax_name
from desktop.reading.pixels import MAX_PIXELS, Decoded, colour_fraction, stretch_to_uint8, too_large

log = logging.getLogger(__name__)

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

dicom_decoders.register()


def read_dicom(fh: IO[bytes], *, forced: bool, recognised: bool) -> Decoded:
    """``forced``: no preamble, let pydicom read it anyway. ``recognised``: the content is DICOM
    (preamble or a raw dataset), so a dataset without pixels is a DICOM file holding no image
    rather than a file that is no image at all. A grey image also gives its values before
    windowing (the modality LUT's output), for the viewer's window presets."""
    try:
        return _read(fh, forced=forced, recognised=recognised)
    except ReadError:
        raise
    except Exception as exc:  # a malformed header in a way none of the steps foresaw
        log.warning("Unexpected failure reading a DICOM file", exc_info=True)
        raise NotAnImageError() from exc


def _read(fh: IO[bytes], *, forced: bool, recognised: bool) -> Decoded:
    try:
        ds = pydicom.dcmread(fh, force=forced)
    except Exception as exc:
        raise NotAnImageError() from exc
    if not any(keyword in ds for keyword in PIXEL_KEYWORDS):
        raise DicomNoPixelDataError() if recognised else NotAnImageError()
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
    except Exception as exc:
        raise NotAnImageError() from exc
    if rows <= 0 or columns <= 0:
        raise NotAnImageError()
    if rows * columns > MAX_PIXELS:
        raise too_large(rows * columns)
    assumed = _assume_transfer_syntax(ds)
    transfer_syntax = ds.file_meta.TransferSyntaxUID
    frames = _frame_count(ds, rows, columns)
    plugin = _plugin_for(ds, transfer_syntax, assumed)
    if transfer_syntax in JPEG2000TransferSyntaxes and _jp2_header_hangs_pydicom(ds, frames):
        raise NotAnImageError()
    try:
        arr = pixel_array(ds, index=0 if frames > 1 else None, decoding_plugin=plugin)
    except MemoryError as exc:
        raise too_large(rows * columns) from exc
    except Exception as exc:  # a decodable syntax whose data is damaged
        log.debug("DICOM pixel decoding failed (%s)", transfer_syntax, exc_info=True)
        raise NotAnImageError() from exc
    photometric = (text(ds, "PhotometricInterpretation") or "MONOCHROME2").upper()
    gray, windowing, colour, values = _to_gray(arr, ds, photometric)
    return Decoded(gray, {
        **describe(ds),
        "format": "DICOM",
        "width": columns,
        "height": rows,
        "frames": frames,
        "frame": 1,  # the first frame is the one classified
        "multi_frame": frames > 1,
        "photometric": photometric,
        "transfer_syntax": str(transfer_syntax),
        "transfer_syntax_name": transfer_syntax_name(transfer_syntax),
        "transfer_syntax_assumed": assumed,
        "windowing": windowing,
        "colour_fraction": colour,
        "decoded_size": gray.size,
    }, values, monochrome1=photometric == "MONOCHROME1")


def _assume_transfer_syntax(ds) -> bool:
    """A dataset without file meta has no transfer syntax; name the encoding pydicom read."""
    if getattr(ds, "file_meta", None) is None:
        ds.file_meta = pydicom.dataset.FileMetaDataset()
    if ds.file_meta.get("TransferSyntaxUID"):
        return False
    implicit, little = ds.original_encoding
    if implicit is None or implicit:
        syntax = ImplicitVRLittleEndian
    else:
        syntax = ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    log.info("No transfer syntax in the file; read as %s", syntax.name)
    ds.file_meta.TransferSyntaxUID = syntax
    return True


def _frame_count(ds, rows: int, columns: int) -> int:
    """NumberOfFrames, or the frames the pixel data holds when it is malformed or too large
    (set on the dataset in memory, which pydicom's decoder reads)."""
    try:
        raw = ds.get("NumberOfFrames")
    except Exception:
        raw = "?"
    held = _frames_held(ds, rows, columns)
    try:
        stated = 1 if raw is None or raw == "" else int(raw)
    except (TypeError, ValueError):
        stated = 0
    if stated >= 1 and (held is None or held == 0 or held >= stated):
        return stated
    count = held if held else 1
    log.warning("NumberOfFrames is %r; using %d, the frames the pixel data holds", raw, count)
    ds.NumberOfFrames = count
    return count


def _frames_held(ds, rows: int, columns: int) -> int | None:
    """Whole frames in native (uncompressed) pixel data; None when compressed or unknown."""
    try:
        element = ds["PixelData"]
        if element.is_undefined_length:
            return None
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        if str(ds.get("PhotometricInterpretation", "")).strip() == "YBR_FULL_422":
            samples = 2  # chroma shared by two pixels
        frame_bits = rows * columns * samples * int(ds.BitsAllocated)
        return len(element.value) * 8 // frame_bits if frame_bits > 0 else None
    except Exception:
        return None


def _jp2_header_hangs_pydicom(ds, frames: int | None) -> bool:
    """The frames as pydicom hands them to its JPEG 2000 header walk (all of them, as
    ``generate_frames`` cuts them, and the first as ``get_frame`` does), checked for a header that
    walk never leaves (``dicom_decoders.jp2_header_never_ends``)."""
    count = max(frames or 1, 1)
    try:
        if count > 1 and dicom_decoders.jp2_header_never_ends(
                get_frame(ds.PixelData, 0, number_of_frames=count)):
            return True
        return any(dicom_decoders.jp2_header_never_ends(frame)
                   for frame in generate_frames(ds.PixelData, number_of_frames=count))
    except Exception:  # damaged encapsulation: pydicom refuses it on its own
        return False


def _plugin_for(ds, transfer_syntax, assumed: bool) -> str:
    """The decoding plug-in to ask for (``dicom_decoders.plugin_for``; "" lets pydicom choose),
    or why none can decode."""
    if assumed and "PixelData" in ds and ds["PixelData"].is_undefined_length:
        raise DicomCompressionError()  # compressed, and the file does not say how
    try:
        if not transfer_syntax.is_compressed:
            return ""
        decoder = get_decoder(transfer_syntax)
        try:
            bits_stored = int(ds.BitsStored)
        except Exception:
            bits_stored = None
        plugin = dicom_decoders.plugin_for(transfer_syntax, bits_stored)
        if not plugin:
            available = decoder.is_available
        elif plugin == dicom_decoders.PLUGIN:
            available = dicom_decoders.is_available(transfer_syntax)
        else:
            available = plugin in decoder.available_plugins
    except Exception:  # a syntax pydicom has no decoder for at all
        available = False
    if not available:
        raise DicomCompressionError()
    return plugin


def _to_gray(arr: np.ndarray, ds, photometric: str
             ) -> tuple[Image.Image, str, float, np.ndarray | None]:
    """(grey image, which windowing was applied, colour_fraction, the grey values before
    windowing; None for colour)."""
    if photometric == "PALETTE COLOR" and arr.ndim == 2:
        try:
            arr = apply_color_lut(arr, ds)  # indices -> RGB, handled as colour below
        except Exception as exc:
            log.warning("The palette of this file cannot be applied (%s); showing the indices "
                        "as grey values", exc)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] == 1):
        values, shown, windowing = _display_values(arr.reshape(arr.shape[0], arr.shape[1]), ds)
        gray = stretch_to_uint8(shown)
        if photometric == "MONOCHROME1":
            gray = ImageOps.invert(gray)
        return gray, windowing, 0.0, values
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        colour = colour_fraction(arr)
        if arr.dtype != np.uint8:
            return stretch_to_uint8(arr), "none", colour, None
        return (Image.fromarray(np.ascontiguousarray(arr[..., :3])).convert("L"), "none", colour,
                None)
    raise UnsupportedFormatError()


def _display_values(arr: np.ndarray, ds) -> tuple[np.ndarray, np.ndarray, str]:
    """(the values after the modality LUT, what is shown of them, how): the modality LUT, then
    the file's VOI LUT, else its window, else the full range."""
    try:
        values = apply_modality_lut(arr, ds)
        _check_contrast(arr, values)
    except Exception as exc:
        log.warning("The rescale (modality LUT) of this file cannot be applied (%s); using the "
                    "stored values", exc)
        values = arr
    attempts = []
    if "VOILUTSequence" in ds:
        attempts.append(("voi_lut", lambda: apply_voi_lut(values, ds, index=0, prefer_lut=True)))
    if "WindowCenter" in ds and "WindowWidth" in ds:
        attempts.append(("window", lambda: apply_windowing(values, ds, index=0)))
    if not attempts:
        return values, values, "none"
    for name, attempt in attempts:
        try:
            shown = attempt()
            _check_contrast(values, shown)
            return values, shown, name
        except Exception as exc:
            log.warning("The %s of this file cannot be applied (%s)", name.replace("_", " "), exc)
    log.warning("Showing the full range of the stored values instead")
    return values, values, "full_range"


def _check_contrast(before: np.ndarray, after: np.ndarray) -> None:
    """A LUT that makes finite values non-finite, or an image with contrast flat, is unusable."""
    after = np.asarray(after)
    if np.isfinite(before).all() and not np.isfinite(after).all():
        raise ValueError("it gives values that are not numbers")
    if after.size and np.ptp(before) > 0 and not np.ptp(after) > 0:
        raise ValueError("it leaves no contrast")
