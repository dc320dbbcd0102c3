"""The heatmap overlay: the inferno scale from dark to bright, laid over the image more strongly
where the heat is higher (cold regions leave the anatomy visible), stretched to the preview."""

import numpy as np
from PIL import Image

from desktop.reports.overlay import blend, blend_heatmap, colourise, heat_layers, legend_strip


def brightness(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(float) @ [0.299, 0.587, 0.114]


def test_the_colour_scale_runs_from_dark_to_bright_and_clips():
    ramp = colourise(np.linspace(0, 1, 11))
    assert ramp.shape == (11, 3) and ramp.dtype == np.uint8
    assert np.all(np.diff(brightness(ramp)) > 0)
    assert (colourise(np.array([-5.0, np.nan, 7.0])) == colourise(np.array([0.0, 0.0, 1.0]))).all()


def test_cold_regions_keep_the_image_and_hot_ones_take_the_colour_up_to_the_opacity():
    preview = Image.new("L", (40, 20), 128)
    heatmap = np.zeros((7, 7), np.float32)
    heatmap[:, 4:] = 1.0  # hot on the right
    colours, mask = heat_layers(heatmap, preview.size)
    assert colours.size == mask.size == preview.size  # stretched to the preview
    out = np.asarray(blend(preview, colours, mask, opacity=0.5)).astype(int)
    assert (out[:, 0] == 128).all()  # cold: the image as it was
    hottest = colourise(np.array(1.0)).astype(int)
    assert np.abs(out[10, -1] - (128 + (hottest - 128) * 0.5)).max() <= 1
    full = np.asarray(blend_heatmap(preview, heatmap, opacity=1.0)).astype(int)
    assert np.abs(full[10, -1] - hottest).max() <= 1
    none = np.asarray(blend_heatmap(preview, heatmap, opacity=0.0))
    assert (none == 128).all()


def test_the_legend_runs_from_cold_on_the_left_to_hot_on_the_right():
    strip = np.asarray(legend_strip(50, 6))
    assert strip.shape == (6, 50, 3)
    assert brightness(strip[0, :1])[0] < brightness(strip[0, -1:])[0]
