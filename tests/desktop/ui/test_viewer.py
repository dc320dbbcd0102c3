"""The viewer without a window: zoom about the pointer, pan within the image, 1:1 in file pixels,
window/level through lookup tables (the file's own presets exactly, MONOCHROME1 and invert),
drags, presets, the heatmap following the view, and the images it reads left as they were."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop import i18n
from desktop.reading.imaging import DisplayBuffer, display_buffer
from desktop.ui.viewer import Picture, Viewer, Window, format_value, window_lut


def ramp(width: int = 200, height: int = 100) -> Image.Image:
    """A horizontal grey ramp 0..255: a column's grey level says where it came from."""
    row = np.linspace(0, 255, width).round().astype(np.uint8)
    return Image.fromarray(np.tile(row, (height, 1)), mode="L")


def viewer_of(picture: Picture, canvas=(200, 100)) -> Viewer:
    viewer = Viewer()
    viewer.resize(*canvas)
    viewer.show(picture)
    return viewer


def values_picture(low=-1000.0, high=3000.0, size=(400, 100), monochrome1=False,
                   windows=None, windowing="none") -> tuple[Picture, np.ndarray]:
    """A picture whose display buffer holds a ramp of file values low..high, left to right."""
    values = np.tile(np.linspace(low, high, size[0]), (size[1], 1))
    buffer = display_buffer(values, size, monochrome1)
    preview = Image.fromarray((buffer.codes // 257).astype(np.uint8), mode="L")
    source = {"width": size[0], "height": size[1], "windows": windows, "windowing": windowing}
    return Picture(preview, buffer, source=source), values


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("en")


# --- zoom and pan -----------------------------------------------------------------------------


def test_the_image_starts_fitted_and_centred():
    viewer = viewer_of(Picture(ramp(400, 200)), canvas=(200, 200))
    assert viewer.scale == 0.5 and viewer.zoom is None
    viewport = viewer.viewport()
    assert viewport.box == (0.0, 0.0, 400.0, 200.0)
    assert viewport.size == (200, 100) and viewport.offset == (0, 50)  # letterboxed


def test_the_wheel_zooms_about_the_pointer():
    viewer = viewer_of(Picture(ramp(200, 100)))
    pointer = (150, 30)

    def under_pointer():
        x0, y0 = viewer.center[0] - 100 / viewer.scale, viewer.center[1] - 50 / viewer.scale
        return (x0 + pointer[0] / viewer.scale, y0 + pointer[1] / viewer.scale)

    before = under_pointer()
    for _ in range(3):
        viewer.zoom_by(1.25, at=pointer)
    assert viewer.scale == pytest.approx(1.25 ** 3)
    assert under_pointer() == pytest.approx(before)
    viewer.zoom_by(1 / 1.25 ** 3, at=pointer)
    assert viewer.scale == pytest.approx(1.0)


def test_zoom_stops_at_half_the_fit_and_at_eight_times_the_file():
    viewer = viewer_of(Picture(ramp(200, 100), source={"width": 800}))
    for _ in range(40):
        viewer.zoom_by(1.25)
    assert viewer.zoom_percent == pytest.approx(800)
    for _ in range(80):
        viewer.zoom_by(0.8)
    assert viewer.scale == pytest.approx(0.5)


def test_one_to_one_is_one_pixel_of_the_file_per_screen_pixel():
    """A 2,500 px file whose preview is 625 px: at 1:1 each preview pixel takes four screen
    pixels, and the zoom reads 100%."""
    picture = Picture(ramp(625, 500), source={"width": 2500, "height": 2000})
    viewer = viewer_of(picture, canvas=(500, 400))
    assert viewer.zoom_percent == pytest.approx(20)  # fitted: 500 px for 2,500
    viewer.actual_size()
    assert viewer.scale == 4.0 and viewer.zoom_percent == pytest.approx(100)
    viewer.fit()
    assert viewer.zoom_percent == pytest.approx(20)


def test_pan_moves_with_the_pointer_and_stops_at_the_edges():
    viewer = viewer_of(Picture(ramp(200, 100)))
    viewer.pan(50, 0)  # fitted: nothing to pan
    assert viewer.center == (100.0, 50.0)
    viewer.zoom_by(2.0)
    viewer.pan(-20, 0)  # drag left by 20 px: the image moves left, the view right
    assert viewer.center == (110.0, 50.0)
    viewer.pan(10_000, 10_000)
    assert viewer.viewport().box[:2] == (0.0, 0.0)  # the top left corner, no further
    viewer.pan(-10_000, -10_000)
    assert viewer.viewport().box[2:] == (200.0, 100.0)


def test_reset_fits_centres_and_restores_the_files_window():
    viewer = viewer_of(Picture(ramp()))
    viewer.zoom_by(3, at=(10, 10))
    viewer.choose("high_contrast")
    viewer.invert = True
    viewer.reset()
    assert (viewer.zoom, viewer.center, viewer.window, viewer.preset, viewer.invert) == (
        None, (100.0, 50.0), None, "default", False)


# --- the frame: the visible part only ---------------------------------------------------------


def test_a_zoomed_frame_is_the_visible_crop_resized_once():
    picture = Picture(ramp(200, 100))
    viewer = viewer_of(picture)
    viewer.zoom_by(4.0, at=(0, 0))  # the top left corner, four times
    viewport = viewer.viewport()
    assert viewport.box == (0.0, 0.0, 50.0, 25.0) and viewport.size == (200, 100)
    frame = viewer.frame()
    assert frame.image.size == (200, 100) and frame.offset == (0, 0)
    expected = picture.preview.crop((0, 0, 50, 25)).resize((200, 100), Image.Resampling.BILINEAR)
    assert np.array_equal(np.asarray(frame.image), np.asarray(expected))
    assert viewer.frame(resolution=2).image.size == (400, 200)  # a report's sharper copy


def test_a_frame_at_default_window_is_the_preview_itself():
    picture, _ = values_picture()
    viewer = viewer_of(picture, canvas=(400, 100))
    assert np.array_equal(np.asarray(viewer.frame().image), np.asarray(picture.preview))


def test_the_heatmap_follows_zoom_and_pan_and_its_opacity():
    heat = np.zeros((224, 224), np.float32)
    heat[:, 168:] = 1.0  # hot on the right quarter
    grey = Image.new("L", (200, 100), 100)
    viewer = viewer_of(Picture(grey, heatmap=heat))
    viewer.show_heat = True
    fitted = np.asarray(viewer.frame().image).astype(int)
    assert fitted.shape == (100, 200, 3)
    assert (fitted[:, 10] == 100).all() and (fitted[:, 190] != 100).any()
    viewer.zoom_by(2.0, at=(200, 50))  # the right half fills the canvas: hot from x = 100
    zoomed = np.asarray(viewer.frame().image).astype(int)
    assert (zoomed[:, 60] == 100).all() and (zoomed[:, 140] != 100).any()
    viewer.opacity = 0.0
    assert (np.asarray(viewer.frame().image) == 100).all()
    viewer.opacity, viewer.show_heat = 1.0, False
    assert viewer.frame().image.mode == "L"


# --- window / level ---------------------------------------------------------------------------


def test_a_window_maps_its_edges_to_black_and_white_and_its_centre_to_mid_grey():
    lut = window_lut(Window(100, 50), codes=255)
    assert (lut[75], lut[100], lut[125], lut[0], lut[255]) == (0, 128, 255, 0, 255)
    assert window_lut(None, codes=255).tolist() == list(range(256))
    assert window_lut(None, codes=255, invert=True)[0] == 255
    flipped = window_lut(Window(100, 50), codes=255, flip=True)
    assert (flipped[75], flipped[125]) == (255, 0)
    assert window_lut(Window(100, 50), codes=255, flip=True, invert=True)[75] == 0


def test_the_files_own_window_maps_exactly_in_its_units():
    """A DICOM preset (level 600, width 400) on values -1000..3000: 400 is black, 800 white,
    600 mid grey, wherever those values sit in the 16-bit codes."""
    picture, values = values_picture(windows=[{"center": 600.0, "width": 400.0,
                                               "explanation": "LUNG"}])
    viewer = viewer_of(picture, canvas=(400, 100))
    [own] = picture.file_presets()
    assert own.label.user_message() == "LUNG (level 600, width 400)"
    assert viewer.choose("file_1") and viewer.window == Window(600.0, 400.0, True)
    shown = np.asarray(viewer.frame().image)[50].astype(int)
    row = values[50]
    assert (shown[row <= 395] == 0).all() and (shown[row >= 805] == 255).all()
    expected = np.clip((row - 400) / 400 * 255, 0, 255)
    assert np.abs(shown - expected).max() <= 1.0  # one grey level, at 65,536 codes


def test_a_monochrome1_file_shows_low_values_white_and_invert_turns_it_back():
    picture, values = values_picture(monochrome1=True)
    viewer = viewer_of(picture, canvas=(400, 100))
    viewer.window = Window(1000, 4000, True)
    shown = np.asarray(viewer.frame().image)[50].astype(int)
    assert shown[0] >= 254 and shown[-1] <= 1
    viewer.invert = True
    assert np.asarray(viewer.frame().image)[50, 0] <= 1


def test_right_drag_widens_with_x_and_darkens_downwards():
    picture, _ = values_picture()
    viewer = viewer_of(picture, canvas=(400, 100))
    viewer.begin_window_drag()
    start = viewer._drag
    assert start == Window(1000.0, 4000.0, True)  # the full range: the file's own picture
    viewer.drag_window(-100, 0)
    assert viewer.window.width == pytest.approx(3000) and viewer.preset is None
    mean_before = np.asarray(viewer.frame().image).mean()
    viewer.drag_window(-100, 40)
    assert viewer.window.center == pytest.approx(1400)
    assert np.asarray(viewer.frame().image).mean() < mean_before
    viewer.drag_window(-100_000, 0)
    assert viewer.window.width == pytest.approx(4000 / 1024)  # never below 1/1024 of the range
    viewer.end_window_drag()


def test_on_a_monochrome1_file_down_still_darkens():
    picture, _ = values_picture(monochrome1=True)
    viewer = viewer_of(picture, canvas=(400, 100))
    viewer.begin_window_drag()
    viewer.drag_window(0, 0)
    before = np.asarray(viewer.frame().image).mean()
    viewer.drag_window(0, 60)
    assert np.asarray(viewer.frame().image).mean() < before


def test_a_drag_starts_from_the_picture_the_file_shows():
    """The first step of a drag does not jump: the window it starts from draws the preview."""
    picture, _ = values_picture(windows=[{"center": 500.0, "width": 1000.0,
                                          "explanation": None}], windowing="window")
    assert picture.drag_start() == Window(500.0, 1000.0, True)
    eight = Picture(ramp())
    viewer = viewer_of(eight)
    viewer.begin_window_drag()
    viewer.drag_window(0, 0)
    assert not viewer.window.on_values
    assert np.array_equal(np.asarray(viewer.frame().image), np.asarray(eight.preview))


def test_presets_on_an_8bit_image_and_their_names_in_each_language():
    picture = Picture(ramp())
    presets = {p.id: p for p in picture.presets()}
    assert list(presets) == ["default", "high_contrast", "soft_tissue"]  # no file windows
    high, soft = presets["high_contrast"].window, presets["soft_tissue"].window
    assert not high.on_values and high.width < 0.9 * 255 and abs(high.center - 127.5) < 3
    assert soft.center > high.center  # the lighter part of the histogram
    i18n.set_language("pt_BR")
    assert presets["high_contrast"].label.user_message() == "Alto contraste"
    i18n.set_language("es")
    assert presets["soft_tissue"].label.user_message() == "Tipo tejido blando"


def test_the_images_read_are_never_changed_by_viewing():
    picture, _ = values_picture(windows=[{"center": 0.0, "width": 10.0, "explanation": None}])
    heat = np.random.default_rng(0).random((224, 224)).astype(np.float32)
    picture.heatmap = heat
    preview, codes, heat_copy = (picture.preview.copy(), picture.display.codes.copy(),
                                 heat.copy())
    viewer = viewer_of(picture, canvas=(300, 90))
    viewer.show_heat = True
    for action in (lambda: viewer.zoom_by(3, at=(5, 5)), lambda: viewer.pan(13, -7),
                   lambda: viewer.choose("file_1"), lambda: setattr(viewer, "invert", True)):
        action()
        viewer.frame()
    assert np.array_equal(np.asarray(picture.preview), np.asarray(preview))
    assert np.array_equal(picture.display.codes, codes) and np.array_equal(heat, heat_copy)


def test_the_line_under_the_image_says_zoom_window_and_invert_in_the_language_shown():
    picture, _ = values_picture()
    viewer = viewer_of(picture, canvas=(400, 100))
    assert viewer.describe() == "Zoom 100% · Window: as the file shows it"
    viewer.window, viewer.invert = Window(1600, 400.5, True), True
    assert viewer.describe() == "Zoom 100% · Window: level 1600, width 400 · Inverted"
    i18n.set_language("es")
    assert viewer.describe().startswith("Zoom 100% · Ventana: nivel 1600, ancho 400")


def test_window_values_read_as_people_write_them():
    assert [format_value(v) for v in (1600.0, 400.5, 40.25, 0.125, -1000.0)] == [
        "1600", "400", "40.2", "0.125", "-1000"]


def test_a_display_buffer_is_plain_data():
    buffer = DisplayBuffer(np.zeros((2, 2), np.uint16), 0.0, 65535.0)
    assert buffer.step == 1.0 and not buffer.monochrome1
