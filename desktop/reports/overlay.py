"""Drawing the Grad-CAM heatmap over the X-ray preview (PIL + numpy only, no Tk, no matplotlib).

The colours follow matplotlib's "inferno" map (dark purple → orange → pale yellow): it is
perceptually uniform, reads the same to colour-blind viewers and in grayscale print. Cold
regions stay transparent so the anatomy remains visible where the model did not look.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Nine stops of matplotlib's "inferno", at 0, 1/8, ..., 1.
_INFERNO = np.array(
    [
        (0, 0, 4),
        (31, 12, 72),
        (85, 15, 109),
        (136, 34, 106),
        (186, 54, 85),
        (227, 89, 51),
        (249, 140, 10),
        (249, 201, 50),
        (252, 255, 164),
    ],
    dtype=np.float32,
)
DEFAULT_OPACITY = 0.6  # at the hottest point; the View menu's slider sets it (0 to 1)


def colourise(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (any shape) to RGB uint8 (shape + (3,)) on the inferno scale."""
    values = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float32)), 0.0, 1.0)
    stops = np.linspace(0.0, 1.0, len(_INFERNO))
    channels = [np.interp(values, stops, _INFERNO[:, c]) for c in range(3)]
    return np.stack(channels, axis=-1).round().astype(np.uint8)


def heat_layers(heatmap: np.ndarray, size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
    """The heatmap ([h, w] in [0, 1]) stretched to ``size`` (the preview's: the same squash the
    model input had, so each region lands back where the model saw it): its colours (RGB) and
    its heat as a mask (L, 255 at the hottest point). The viewer crops both as it crops the
    image, so the overlay follows zoom and pan."""
    heat = Image.fromarray(np.asarray(heatmap, dtype=np.float32), mode="F")
    heat = np.asarray(heat.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    heat = np.clip(np.nan_to_num(heat), 0.0, 1.0)
    colours = Image.fromarray(colourise(heat), mode="RGB")
    mask = Image.fromarray((heat * 255.0).round().astype(np.uint8), mode="L")
    return colours, mask


def blend(base: Image.Image, colours: Image.Image, mask: Image.Image,
          opacity: float = DEFAULT_OPACITY) -> Image.Image:
    """``base`` with the heat colours laid over it, as RGB: opacity grows with the heat, up to
    ``opacity`` at the hottest point, so cold regions leave the anatomy visible."""
    opacity = min(1.0, max(0.0, float(opacity)))
    scaled = mask.point([round(v * opacity) for v in range(256)])
    return Image.composite(colours, base.convert("RGB"), scaled)


def blend_heatmap(preview: Image.Image, heatmap: np.ndarray,
                  opacity: float = DEFAULT_OPACITY) -> Image.Image:
    """The whole preview (any mode) with its heatmap laid over it, as RGB."""
    return blend(preview, *heat_layers(heatmap, preview.size), opacity)


def legend_strip(width: int, height: int) -> Image.Image:
    """A horizontal colour bar, low heat on the left, for the legend under the preview."""
    ramp = np.linspace(0.0, 1.0, max(width, 1), dtype=np.float32)[None, :].repeat(height, axis=0)
    return Image.fromarray(colourise(ramp), mode="RGB")
