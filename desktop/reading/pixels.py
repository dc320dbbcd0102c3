"""What the image reader and its DICOM module share: the decoded-image record, the size limit,
the refusal of an image too large, the colour measure and the >8-bit stretch.

Both ``imaging`` (the dispatcher) and ``dicom`` (one of its formats) import this base, so
neither imports the other at the top (as pydicom's decoders import a shared base, never the
dispatcher).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from desktop.errors import ImageTooLargeError

# Pillow's own decompression-bomb limit (~89 megapixels, 4x a large digital radiograph). Pillow
# only warns between 1x and 2x it; the reader checks the declared size itself before decoding,
# so an absurdly large image is refused (ImageTooLargeError), never half-opened.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
# colour_fraction: on a copy of at most this many pixels a side, the share of pixels whose
# channels differ by more than COLOUR_SPREAD grey levels (of 255): more than JPEG chroma noise.
COLOUR_SAMPLE_SIDE = 64
COLOUR_SPREAD = 12


@dataclass
class Decoded:
    """What a format's reader gives: the grey image (the model's and the preview's source), the
    facts, and the values before windowing for images of more than 8 bits (else None)."""

    gray: Image.Image
    source: dict[str, Any]
    values: np.ndarray | None = None  # [h, w], the same size as ``gray``
    monochrome1: bool = False


def colour_fraction(rgb: np.ndarray) -> float:
    """Share of pixels whose channels differ by more than ``COLOUR_SPREAD`` (of 255), on a
    subsample of at most ``COLOUR_SAMPLE_SIDE`` pixels a side: 0.0 for a grey image."""
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[-1] < 3 or arr.size == 0:
        return 0.0
    step = max(1, -(-max(arr.shape[:2]) // COLOUR_SAMPLE_SIDE))
    sample = arr[::step, ::step, :3].astype(np.float32)
    if arr.dtype != np.uint8:
        top = float(np.nanmax(sample)) if np.isfinite(sample).any() else 0.0
        sample = sample * (255.0 / top) if top > 0 else np.zeros_like(sample)
    spread = np.nan_to_num(sample.max(axis=-1) - sample.min(axis=-1))
    return round(float((spread > COLOUR_SPREAD).mean()), 4)


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


def too_large(pixels: int | None) -> ImageTooLargeError:
    """The refusal of an image of ``pixels`` (None: a size the decoder did not give). A count
    that does not exceed the limit (a header whose numbers overflowed, an inner image larger
    than the outer one says) is not printed: the sentence never says "0 megapixels"."""
    limit = f"{MAX_PIXELS / 1e6:.0f}"
    if pixels is None or pixels <= MAX_PIXELS:
        return ImageTooLargeError(ImageTooLargeError.size_unknown, limit=limit)
    return ImageTooLargeError(megapixels=f"{pixels / 1e6:.0f}", limit=limit)
