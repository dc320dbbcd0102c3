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
MAX_OPACITY = 0.6


def colourise(values: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] (any shape) to RGB uint8 (shape + (3,)) on the inferno scale."""
    values = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float32)), 0.0, 1.0)
    stops = np.linspace(0.0, 1.0, len(_INFERNO))
    channels = [np.interp(values, stops, _INFERNO[:, c]) for c in range(3)]
    return np.stack(channels, axis=-1).round().astype(np.uint8)


def blend_heatmap(preview: Image.Image, heatmap: np.ndarray) -> Image.Image:
    """The preview (any mode) with the heatmap ([h, w] in [0, 1]) laid over it, as RGB.

    The heatmap is stretched to the preview's size, the same squash the model input had, so
    each region lands back where the model saw it. Opacity grows with the heat.
    """
    base = np.asarray(preview.convert("RGB"), dtype=np.float32)
    heat = Image.fromarray(np.asarray(heatmap, dtype=np.float32), mode="F")
    heat = np.asarray(heat.resize(preview.size, Image.Resampling.BILINEAR), dtype=np.float32)
    heat = np.clip(np.nan_to_num(heat), 0.0, 1.0)
    alpha = (MAX_OPACITY * heat)[..., None]
    mixed = base * (1.0 - alpha) + colourise(heat).astype(np.float32) * alpha
    return Image.fromarray(mixed.round().astype(np.uint8), mode="RGB")


def legend_strip(width: int, height: int) -> Image.Image:
    """A horizontal colour bar, low heat on the left, for the legend under the preview."""
    ramp = np.linspace(0.0, 1.0, max(width, 1), dtype=np.float32)[None, :].repeat(height, axis=0)
    return Image.fromarray(colourise(ramp), mode="RGB")
