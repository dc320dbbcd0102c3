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
  gets its modality LUT (rescale slope/intercept) then its VOI LUT or window, and MONOCHROME1
  (white = low values) is inverted so lungs come out dark as in every other image. Compressed
  DICOM is decoded by pydicom's plug-ins: GDCM (JPEG Lossless, the commonest in radiography
  exports, JPEG-LS, JPEG 2000, JPEG baseline) and Pillow; RLE natively.
- Images above ``MAX_PIXELS`` are refused before decoding (decompression bombs).

pydicom is imported only for DICOM files; this module never imports platformdirs or Tk, so a
training machine needs only Pillow and numpy. Files are opened read-only.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps

from desktop.errors import (
    DicomCompressionError,
    DicomNoPixelDataError,
    EmptyFileError,
    FileMissingError,
    FilePermissionError,
    ImageTooLargeError,
    NotAnImageError,
    ReadError,
    UnsupportedFormatError,
)
from desktop.modelfile import INPUT_SIZE

log = logging.getLogger(__name__)

# JPEGs decode at the smallest DCT scale whose both sides stay >= this: 2x the model size keeps
# the antialiased squash within a fraction of a grey level of a full-size decode, at a third
# less decoding time (docs/benchmarks.md).
DRAFT_SIZE = 2 * INPUT_SIZE
SUPPORTED_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".dcm", ".dicom"})
DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})
# Pillow's own decompression-bomb limit (~89 megapixels, 4x a large digital radiograph). Pillow
# only warns between 1x and 2x it; the reader checks the declared size itself before decoding,
# so an absurdly large image is refused (ImageTooLargeError), never half-opened.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


@dataclass
class XRay:
    """A decoded image: what the model sees, what the user sees, and where it came from."""

    model_input: np.ndarray  # uint8 [224, 224]
    preview: Image.Image | None  # mode "L", longest side <= preview_size
    source: dict[str, Any] = field(default_factory=dict)  # format, width, height, bit_depth...


def read_image(path: str | os.PathLike[str], *, preview_size: int | None = 1024) -> XRay:
    """Read one file into an ``XRay``; every failure is a ``ReadError`` subclass.

    ``preview_size=None`` skips the preview. The preview comes from the same (draft-scaled)
    decode as the model input, so it may be smaller than ``preview_size``.
    """
    gray, source = _decode_gray(Path(path))
    model_input = np.asarray(squash(gray), dtype=np.uint8)
    preview = None
    if preview_size:
        preview = gray
        if max(gray.size) > preview_size:
            preview = gray.resize(_fit(gray.size, preview_size), Image.Resampling.BILINEAR)
    return XRay(model_input=model_input, preview=preview, source=source)


def load_model_input(path: str | os.PathLike[str]) -> np.ndarray:
    """Only the model input (uint8 [224, 224]); what training uses."""
    return read_image(path, preview_size=None).model_input


def squash(gray: Image.Image) -> Image.Image:
    """The training set's resize: 224x224, aspect ratio not kept, bilinear with antialiasing."""
    if gray.size == (INPUT_SIZE, INPUT_SIZE):
        return gray
    return gray.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """True when the file carries the DICOM preamble (``DICM`` at byte 128)."""
    try:
        with open(path, "rb") as fh:
            return _has_dicm_preamble(fh)
    except OSError:
        return False


def _has_dicm_preamble(fh: IO[bytes]) -> bool:
    fh.seek(128)
    magic = fh.read(4)
    fh.seek(0)
    return magic == b"DICM"


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    w, h = size
    scale = longest / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _decode_gray(path: Path) -> tuple[Image.Image, dict[str, Any]]:
    """Open read-only, dispatch on content (DICOM preamble, else Pillow), return an "L" image."""
    try:
        fh = _open_regular_file(path)
    except FileNotFoundError as exc:
        raise FileMissingError() from exc
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
            dicom = _has_dicm_preamble(fh) if size >= 132 else False
        except OSError as exc:
            raise NotAnImageError() from exc
        if dicom:
            return _read_dicom(fh, forced=False)
        try:
            return _read_pillow(fh)
        except NotAnImageError:
            if path.suffix.lower() in DICOM_SUFFIXES:
                # A DICOM file written without its 128-byte preamble: try it as raw DICOM.
                fh.seek(0)
                return _read_dicom(fh, forced=True)
            raise


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


def _read_pillow(fh: IO[bytes]) -> tuple[Image.Image, dict[str, Any]]:
    try:
        im = Image.open(fh)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(**_too_large_params(None)) from exc
    except Image.DecompressionBombWarning as exc:
        raise ImageTooLargeError(**_too_large_params(None)) from exc
    except Exception as exc:  # UnidentifiedImageError and whatever a damaged header raises
        raise NotAnImageError() from exc
    with im:
        width, height = im.size
        if width * height > MAX_PIXELS:
            raise ImageTooLargeError(**_too_large_params(width * height))
        source = {
            "format": im.format,
            "width": width,
            "height": height,
            "mode": im.mode,
            "bit_depth": _bit_depth(im.mode),
            # is_animated looks at the next frame only (n_frames would walk them all)
            "multi_frame": bool(getattr(im, "is_animated", False)),
        }
        try:
            if im.format == "JPEG":
                im.draft("L", (DRAFT_SIZE, DRAFT_SIZE))
            im.load()
            im = ImageOps.exif_transpose(im) or im
            gray = _to_gray(im)
        except ReadError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLargeError(**_too_large_params(width * height)) from exc
        except MemoryError as exc:
            raise ImageTooLargeError(**_too_large_params(width * height)) from exc
        except Exception as exc:  # truncated data, broken streams, bad tables, ...
            log.debug("Decoding failed", exc_info=True)
            raise NotAnImageError() from exc
    source["decoded_size"] = gray.size
    return gray, source


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


def stretch_to_uint8(values: np.ndarray) -> Image.Image:
    """Linear min..max -> 0..255 (order preserving); a flat image becomes black."""
    arr = np.asarray(values)
    if arr.ndim == 3:  # colour with more than 8 bits per channel: luma, ITU-R 601
        arr = arr[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    arr = arr.astype(np.float32, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        arr = np.where(finite, arr, np.nanmin(np.where(finite, arr, np.nan)) if finite.any() else 0)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        out = np.zeros(arr.shape, dtype=np.uint8)
    else:
        out = ((arr - lo) * (255.0 / (hi - lo)) + 0.5).astype(np.uint8)
    return Image.fromarray(out, mode="L")


def _too_large_params(pixels: int | None) -> dict[str, str]:
    megapixels = "?" if pixels is None else f"{pixels / 1e6:.0f}"
    return {"megapixels": megapixels, "limit": f"{MAX_PIXELS / 1e6:.0f}"}


# --- DICOM -------------------------------------------------------------------------------------


def _read_dicom(fh: IO[bytes], *, forced: bool) -> tuple[Image.Image, dict[str, Any]]:
    """Modality LUT, then VOI LUT / window, MONOCHROME1 inverted, first frame only."""
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut, pixel_array

    try:
        ds = pydicom.dcmread(fh, force=forced)
    except Exception as exc:
        raise NotAnImageError() from exc
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise NotAnImageError() if forced else DicomNoPixelDataError()
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
    except Exception as exc:
        raise NotAnImageError() from exc
    if rows * columns > MAX_PIXELS:
        raise ImageTooLargeError(**_too_large_params(rows * columns))
    transfer_syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if not _can_decode(transfer_syntax):
        raise DicomCompressionError()
    try:
        arr = pixel_array(ds, index=0 if frames > 1 else None)
    except MemoryError as exc:
        raise ImageTooLargeError(**_too_large_params(rows * columns)) from exc
    except Exception as exc:  # a decodable syntax whose data is damaged
        log.debug("DICOM pixel decoding failed (%s)", transfer_syntax, exc_info=True)
        raise NotAnImageError() from exc
    try:
        if photometric == "PALETTE COLOR" and arr.ndim == 2:
            from pydicom.pixels import apply_color_lut

            arr = apply_color_lut(arr, ds)  # indices -> RGB, handled as colour below
        if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] == 1):
            arr = arr.reshape(arr.shape[0], arr.shape[1])
            arr = apply_modality_lut(arr, ds)
            arr = apply_voi_lut(arr, ds, index=0)
            gray = stretch_to_uint8(arr)
            if photometric == "MONOCHROME1":
                gray = ImageOps.invert(gray)
        elif arr.ndim == 3 and arr.shape[-1] in (3, 4):
            gray = stretch_to_uint8(arr) if arr.dtype != np.uint8 else (
                Image.fromarray(np.ascontiguousarray(arr[..., :3])).convert("L")
            )
        else:
            raise UnsupportedFormatError()
    except ReadError:
        raise
    except Exception as exc:  # malformed LUT or window attributes
        log.debug("DICOM LUT/window failed", exc_info=True)
        raise NotAnImageError() from exc
    source = {
        "format": "DICOM",
        "width": columns,
        "height": rows,
        "bit_depth": int(ds.get("BitsStored", ds.get("BitsAllocated", 0)) or 0),
        "frames": frames,
        "multi_frame": frames > 1,
        "photometric": photometric,
        "modality": str(ds.get("Modality", "")),
        "transfer_syntax": str(transfer_syntax or ""),
        "decoded_size": gray.size,
    }
    return gray, source


def _can_decode(transfer_syntax: Any) -> bool:
    """Whether pydicom can decode this transfer syntax with the plug-ins installed (GDCM,
    Pillow, its own RLE and deflate)."""
    from pydicom.pixels import get_decoder

    try:
        if transfer_syntax is None or not transfer_syntax.is_compressed:
            return True
        return bool(get_decoder(transfer_syntax).is_available)
    except Exception:  # a syntax pydicom has no decoder for at all
        return False
