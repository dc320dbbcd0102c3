"""The building blocks the image and DICOM readers share: how colourful an image is, values of
any depth stretched to 8 bits in order, and the refusal of an image too large to open."""

import numpy as np

from desktop.errors import ImageTooLargeError
from desktop.reading.pixels import MAX_PIXELS, colour_fraction, stretch_to_uint8, too_large


def test_a_grey_image_has_no_colour_and_a_photo_has_much():
    grey = np.repeat(np.random.default_rng(0).integers(0, 256, (100, 120, 1), np.uint8), 3, -1)
    assert colour_fraction(grey) == 0.0
    photo = np.random.default_rng(1).integers(0, 256, (100, 120, 3), np.uint8)
    assert colour_fraction(photo) > 0.8
    assert colour_fraction(np.zeros((10, 10), np.uint8)) == 0.0  # not RGB at all
    assert colour_fraction(np.zeros((0, 0, 3), np.uint8)) == 0.0


def test_colour_of_a_16_bit_image_is_judged_on_its_own_scale():
    rgb = np.zeros((64, 64, 3), np.uint16)
    rgb[..., 0] = 60000  # red everywhere, in 16 bits
    assert colour_fraction(rgb) == 1.0


def test_stretching_keeps_the_order_and_spans_0_to_255():
    values = np.array([[-1000, 0], [500, 3000]], np.int16)
    out = np.asarray(stretch_to_uint8(values))
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    assert out[0, 0] < out[0, 1] < out[1, 0] < out[1, 1]


def test_a_flat_image_becomes_black_and_nan_never_breaks_it():
    assert np.asarray(stretch_to_uint8(np.full((4, 4), 7.0))).max() == 0
    values = np.array([[np.nan, 1.0], [np.inf, 3.0]], np.float32)
    out = np.asarray(stretch_to_uint8(values))
    assert out[1, 1] == 255 and out[0, 0] == 0  # non-finite values read as the lowest


def test_16_bit_colour_is_stretched_from_its_luma():
    rgb = np.zeros((2, 2, 3), np.uint16)
    rgb[0, 0] = (0, 40000, 0)  # green is brighter than blue of the same value
    rgb[0, 1] = (0, 0, 40000)
    out = np.asarray(stretch_to_uint8(rgb))
    assert out.shape == (2, 2) and out[0, 0] > out[0, 1] > 0


def test_too_large_names_the_size_and_the_limit():
    error = too_large(200_000_000)
    assert isinstance(error, ImageTooLargeError)
    message = error.user_message()
    assert "200" in message and f"{MAX_PIXELS / 1e6:.0f}" in message
    assert f"{MAX_PIXELS / 1e6:.0f}" in too_large(None).user_message()
