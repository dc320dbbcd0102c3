"""The one image reader of the project: a file on disk -> the model's input (and a preview).

Used by the app, the ``predict`` command and training, so the model is trained on exactly what
the app feeds it. Output: grayscale uint8 squashed to 224x224 (aspect ratio not kept) with
Pillow's bilinear resize, which antialiases when shrinking -- the same squash as
torchvision's ``Resize((224, 224))`` that made the training set.

Conversions, in order:
- JPEG: decoded at reduced scale (``Image.draft``, the decoder's DCT scaling) so that both sides
  stay >= 448 px, twice the model size; full-size decode is the slowest step of a prediction.
- EXIF orientation applied (``ImageOps.exif_transpose``); first frame of animated/multi-page
  files; alpha dropped (the gray values underneath are the X-ray); colour -> luma (ITU-R 601).
- More than 8 bits (16-bit PNG/TIFF, 32-bit, float, DICOM): linearly stretched from the image's
  own minimum..maximum to 0..255 (order preserving; a flat image becomes black). DICOM first
  gets its modality LUT (rescale slope/intercept) then its VOI LUT or window (the full range
  when those cannot be applied), and MONOCHROME1 (white = low values) is inverted so lungs come
  out dark as in every other image. Compressed DICOM is decoded by pydicom's plug-ins: GDCM
  (JPEG Lossless, the commonest in radiography exports, JPEG-LS, JPEG 2000, JPEG baseline),
  imagecodecs for 12-bit JPEG and 6-7-bit JPEG-LS (``desktop.reading.dicom_decoders``); RLE
  natively.
- Images above ``MAX_PIXELS`` are refused before decoding (decompression bombs), with the size
  the header declares.

What a file is comes from its content (``desktop.reading.sniff``), not its name: DICOM with or
without
its preamble, whatever the suffix, then anything Pillow opens. DICOM is read by
``desktop.reading.dicom``, imported only for DICOM files (pydicom is heavy); this module never
imports
platformdirs or Tk, so a training machine needs only Pillow and numpy. Files are opened
read-only.

``XRay.display`` keeps, for images of more than 8 bits (16-bit PNG/TIFF, grey DICOM), the values
before any windowing at the preview's size, so the viewer's window/level and a DICOM's own window
presets map exactly; it is display only and never feeds the model.

``XRay.source`` says where the image came from (format, size, mode, bit depth, the frame
classified, ``colour_fraction``; DICOM adds the facts of ``desktop.reading.dicom_facts``), for the
information panel and scope checks; docs/contracts.md lists the keys.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps

from desktop.errors import (
    EmptyFileError,
    FilePermissionError,
    NoSuchFileError,
    NotAnImageError,
    ReadError,
    UnsupportedFormatError,
)
from desktop.modelfile import INPUT_SIZE
from desktop.reading import sniff
from desktop.reading.pixels import (
    COLOUR_SAMPLE_SIDE,
    MAX_PIXELS,
    Decoded,
    colour_fraction,
    stretch_to_uint8,
    too_large,
)

log = logging.getLogger(__name__)

# JPEGs decode at the smallest DCT scale whose both sides stay >= this: 2x the model size keeps
# the antialiased squash within a fraction of a grey level of a full-size decode, at a third
# less decoding time (docs/benchmarks.md).
DRAFT_SIZE = 2 * INPUT_SIZE
DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})
# ``read_image(digest=True)`` hashes a file up to this size from the one read that decodes it (a
# big DICOM series file is hashed by the caller, streamed, instead of held twice in memory).
DIGEST_IN_MEMORY = 128 << 20
# Suffixes a folder scan takes without looking inside: every format the reader opens that may
# hold an X-ray (tests/desktop/reading/test_imaging.py reads one of each). Any other file is taken
# when its
# content is DICOM or, without a suffix, an image signature (desktop.reading.files).
SUPPORTED_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif",  # JPEG
    ".png", ".bmp", ".dib", ".tif", ".tiff", ".gif", ".webp",
    ".jp2", ".j2k", ".jpx", ".j2c", ".jpc", ".jpf",  # JPEG 2000
    ".pgm", ".ppm", ".pbm", ".pnm",  # Netpbm, as research data sets ship some
}) | DICOM_SUFFIXES
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"})


# Display buffers hold uint16 codes: 0 is the lowest value of the image, this its highest.
DISPLAY_CODES = 65535


@dataclass(frozen=True)
class DisplayBuffer:
    """The grey values before any windowing, at the preview's size, for the viewer only.

    ``codes`` (uint16) are the values (a DICOM's modality LUT output, a 16-bit PNG's stored
    values) mapped linearly from their own ``low``..``high``, so a window given in the file's
    units (centre, width) maps exactly. ``monochrome1``: the file shows low values white.
    """

    codes: np.ndarray = field(repr=False)  # uint16 [h, w], the preview's size
    low: float
    high: float
    monochrome1: bool = False

    @property
    def step(self) -> float:
        """File units per code."""
        return (self.high - self.low) / DISPLAY_CODES


@dataclass
class XRay:
    """A decoded image: what the model sees, what the user sees, and where it came from."""

    model_input: np.ndarray  # uint8 [224, 224]
    preview: Image.Image | None  # mode "L", longest side <= preview_size
    source: dict[str, Any] = field(default_factory=dict)  # format, width, height, bit_depth...
    display: DisplayBuffer | None = None  # >8-bit images with a preview: values before windowing
    sha256: str | None = None  # the content's sha256, when read with ``digest=True``
    content_size: int | None = None  # how many bytes ``sha256`` covers


def read_image(path: str | os.PathLike[str], *, preview_size: int | None = 1024,
               digest: bool = False) -> XRay:
    """Read one file into an ``XRay``; every failure is a ``ReadError`` subclass.

    ``preview_size=None`` skips the preview (and the display buffer). The preview comes from the
    same (draft-scaled) decode as the model input, so it may be smaller than ``preview_size``.
    ``digest``: a file of up to ``DIGEST_IN_MEMORY`` bytes is read once into memory, hashed and
    decoded from there, so ``XRay.sha256`` is the content that was classified (larger files:
    None, and the caller hashes the file itself).
    """
    decoded, digested = _decode_gray(Path(path), digest)
    sha256, content_size = digested or (None, None)
    gray = decoded.gray
    model_input = np.asarray(squash(gray), dtype=np.uint8)
    preview = display = None
    if preview_size:
        preview = gray
        if max(gray.size) > preview_size:
            preview = gray.resize(_fit(gray.size, preview_size), Image.Resampling.BILINEAR)
        if decoded.values is not None:
            display = display_buffer(decoded.values, preview.size, decoded.monochrome1)
    return XRay(model_input=model_input, preview=preview, source=decoded.source,
                display=display, sha256=sha256, content_size=content_size)


def display_buffer(values: np.ndarray, size: tuple[int, int], monochrome1: bool = False
                   ) -> DisplayBuffer:
    """``values`` (any real dtype, [h, w]) resized to ``size`` (the preview's, bilinear as the
    preview is) and mapped linearly from their own min..max to 0..``DISPLAY_CODES``."""
    arr = np.asarray(values, dtype=np.float32)
    finite = np.isfinite(arr)
    if not finite.all():
        arr = np.where(finite, arr, arr[finite].min() if finite.any() else 0.0)
    low, high = float(arr.min()), float(arr.max())
    if (arr.shape[1], arr.shape[0]) != tuple(size):
        arr = np.asarray(Image.fromarray(arr, mode="F").resize(size, Image.Resampling.BILINEAR))
    if high <= low:  # a flat image: every code 0, a range of one unit
        return DisplayBuffer(np.zeros(arr.shape, np.uint16), low, low + 1.0, monochrome1)
    codes = (arr - low) * (DISPLAY_CODES / (high - low)) + 0.5
    codes = np.clip(codes, 0, DISPLAY_CODES).astype(np.uint16)
    return DisplayBuffer(codes, low, high, monochrome1)


def load_model_input(path: str | os.PathLike[str]) -> np.ndarray:
    """Only the model input (uint8 [224, 224]); what training uses."""
    return read_image(path, preview_size=None).model_input


def squash(gray: Image.Image) -> Image.Image:
    """The training set's resize: 224x224, aspect ratio not kept, bilinear with antialiasing."""
    if gray.size == (INPUT_SIZE, INPUT_SIZE):
        return gray
    return gray.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """True when the file's content is DICOM: the ``DICM`` preamble, or a raw dataset."""
    return sniff.looks_like_dicom(*sniff.read_head(path))


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    w, h = size
    scale = longest / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _decode_gray(path: Path, digest: bool = False
                 ) -> tuple[Decoded, tuple[str, int] | None]:
    """Open read-only, dispatch on content (DICOM, else Pillow), return an "L" image (and the
    content's sha256 and size when ``digest`` and the file is small enough to hash in
    memory)."""
    try:
        fh = _open_regular_file(path)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise NoSuchFileError() from exc
    except PermissionError as exc:
        raise FilePermissionError() from exc
    except IsADirectoryError as exc:
        raise NotAnImageError() from exc
    except OSError as exc:
        raise NotAnImageError() from exc
    with fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                raise EmptyFileError()
            digested = None
            if digest and size <= DIGEST_IN_MEMORY:  # one read: hashed, then decoded from memory
                content = fh.read()
                digested = hashlib.sha256(content).hexdigest(), len(content)
                head, fh = content[:sniff.HEAD_BYTES], io.BytesIO(content)
            else:
                head = fh.read(sniff.HEAD_BYTES)
                fh.seek(0)
        except OSError as exc:
            raise NotAnImageError() from exc
        return _decode_content(fh, head, size, path), digested


def _decode_content(fh: IO[bytes], head: bytes, size: int, path: Path) -> Decoded:
    if sniff.has_preamble(head):
        return _read_dicom(fh, forced=False, recognised=True)
    if sniff.is_raw_dicom(head, size):  # no preamble, no file meta: an older export
        return _read_dicom(fh, forced=True, recognised=True)
    try:
        return _read_pillow(fh)
    except NotAnImageError:
        if path.suffix.lower() in DICOM_SUFFIXES:
            # Named DICOM but of a layout the sniff does not know: let pydicom try.
            fh.seek(0)
            return _read_dicom(fh, forced=True, recognised=False)
        raise


def _read_dicom(fh: IO[bytes], *, forced: bool, recognised: bool) -> Decoded:
    from desktop.reading.dicom import read_dicom

    return read_dicom(fh, forced=forced, recognised=recognised)


def _open_regular_file(path: Path) -> IO[bytes]:
    """Open for reading; a FIFO or a device (/dev/zero reads forever) raises OSError.

    O_NONBLOCK: opening a named pipe must not wait forever for a writer (no effect on files).
    """
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    fh = open(path, "rb", opener=lambda p, flags: os.open(p, flags | nonblocking))  # noqa: SIM115
    if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
        fh.close()
        raise OSError(f"not a regular file: {path}")
    return fh


# --- Pillow formats ----------------------------------------------------------------------------


def _read_pillow(fh: IO[bytes]) -> Decoded:
    try:
        im = Image.open(fh)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_large(_bomb_pixels(exc)) from exc
    except Exception as exc:  # UnidentifiedImageError and whatever a damaged header raises
        raise NotAnImageError() from exc
    with im:
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise too_large(width * height)
        # is_animated looks at the next frame only (n_frames would walk them all); some plugins
        # parse more of the file for it (a PSD's layers), and a damaged one fails there
        try:
            multi_frame = bool(getattr(im, "is_animated", False))
        except Exception as exc:  # e.g. PSD "negative tile size": the file's fault
            raise NotAnImageError() from exc
        source = {
            "format": im.format,
            "width": width,
            "height": height,
            "mode": im.mode,
            "bit_depth": _bit_depth(im.mode),
            "multi_frame": multi_frame,
            "frames": None if multi_frame else 1,
            "frame": 1,  # the first frame (page) is the one classified
        }
        colour_jpeg = im.format == "JPEG" and im.mode in _COLOUR_MODES
        try:
            if im.format == "JPEG":
                # A colour JPEG is decoded as YCbCr: its Y is bit for bit what a grey decode
                # gives, and its chroma tells colour_fraction (~1 ms more). Not when stored as
                # RGB (Adobe transform 0): libjpeg does not turn that into YCbCr.
                ycc = colour_jpeg and im.mode == "RGB" and im.info.get("adobe_transform") != 0
                im.draft("YCbCr" if ycc else "L", (DRAFT_SIZE, DRAFT_SIZE))
            im.load()
            probe = colour_jpeg and im.mode == "L"  # decoded grey: colour from a second look
            if not probe:
                source["colour_fraction"] = _pillow_colour_fraction(im)
            luma = colour_jpeg and im.mode == "YCbCr"
            im = ImageOps.exif_transpose(im) or im
            values = None
            if im.mode.startswith("I") or im.mode == "F":  # more than 8 bits: keep the values
                values = np.asarray(im)
                gray = stretch_to_uint8(values)
            else:
                gray = im.getchannel(0) if luma else _to_gray(im)
        except ReadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError) as exc:
            # an inner image (an ICNS icon's PNG) may declare more than the outer header
            raise too_large(_bomb_pixels(exc) or width * height) from exc
        except Exception as exc:  # truncated data, broken streams, bad tables, ...
            log.debug("Decoding failed", exc_info=True)
            raise NotAnImageError() from exc
    if probe:
        source["colour_fraction"] = _jpeg_colour_fraction(fh)
    source["decoded_size"] = gray.size
    return Decoded(gray, source, values)


def _bomb_pixels(exc: Exception) -> int | None:
    """The pixel count in Pillow's refusal ("Image size (900000000 pixels) exceeds ...")."""
    match = re.search(r"\((\d+) pixels\)", str(exc))
    return int(match.group(1)) if match else None


def _pillow_colour_fraction(im: Image.Image) -> float | None:
    if im.mode not in _COLOUR_MODES:
        return 0.0
    try:
        small = im.resize(_fit(im.size, COLOUR_SAMPLE_SIDE), Image.Resampling.NEAREST)
        return colour_fraction(np.asarray(small.convert("RGB")))
    except Exception:  # an odd mode that will not convert: no answer rather than no image
        log.debug("colour_fraction failed for mode %s", im.mode, exc_info=True)
        return None


def _jpeg_colour_fraction(fh: IO[bytes]) -> float | None:
    """An RGB-stored JPEG decoded again at the smallest DCT scale, in RGB (rare: ~10 ms)."""
    try:
        fh.seek(0)
        with Image.open(fh) as im:
            im.draft("RGB", (COLOUR_SAMPLE_SIDE, COLOUR_SAMPLE_SIDE))
            return colour_fraction(np.asarray(im.convert("RGB")))
    except Exception:
        log.debug("colour_fraction failed for a JPEG", exc_info=True)
        return None


def _bit_depth(mode: str) -> int:
    if mode == "1":
        return 1
    if mode.startswith("I;16"):
        return 16
    if mode in ("I", "F"):
        return 32
    return 8


def _to_gray(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit "L" (see the module docstring for the rules)."""
    mode = im.mode
    if mode == "L":
        return im
    if mode.startswith("I") or mode == "F":
        return stretch_to_uint8(np.asarray(im))
    if mode in ("P", "PA"):
        im = im.convert("RGBA")  # honours palette transparency without Pillow's warning
        mode = "RGBA"
    if mode in ("1", "LA", "La", "RGB", "RGBA", "RGBX", "RGBa"):
        return im.convert("RGB").convert("L") if mode == "RGBa" else im.convert("L")
    if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return im.convert("RGB").convert("L")
    raise UnsupportedFormatError()
