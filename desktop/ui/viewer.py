"""What the viewer shows of one image: zoom, pan, window/level and its presets, invert, the
heatmap's opacity, and the picture that results. No Tk: the canvas
(``desktop.ui.image_canvas.ImageViewer``) turns the mouse and keys into calls on a ``Viewer``
and draws the ``Frame`` it returns; the PDF report draws the same frame at a higher resolution.

Display only: nothing here touches the model input or the verdict.

- Image points are the preview's pixels (the reader's picture, longest side <= 720). "1:1" is
  one pixel of the file per screen pixel, so a preview smaller than its file is enlarged: the
  detail shown is the preview's.
- Each frame crops what is visible first and resizes only that (one Pillow call), so a step
  costs the same whatever the zoom.
- A window (centre, width) maps centre - width/2 .. centre + width/2 linearly onto black..white.
  It is in the file's own units on the display buffer (``desktop.reading.imaging.DisplayBuffer``: a
  DICOM's rescaled values, a 16-bit PNG's) when the image has one, so the file's own presets map
  exactly; else in the preview's grey levels 0-255. ``None`` is the image as the file shows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from desktop.errors import N_, Sentence
from desktop.i18n import gettext
from desktop.reports.overlay import DEFAULT_OPACITY, blend, heat_layers

ZOOM_STEP = 1.25  # one wheel notch, one + or - key
MAX_ZOOM = 8.0  # 800% of the file's pixels
MIN_ZOOM_OF_FIT = 0.5  # zooming out stops at half the fitted size
DRAG_PIXELS = 400  # a right-drag this long changes the level or the width by the full range
PERCENTILE_STEP = 4  # presets read every 4th pixel of every 4th row
GREY_LEVELS = 255.0
# The built-in presets, as percentiles of the image's brightness (dark to light): a narrow
# window on the middle of the histogram, and one on its lighter part (soft tissue and bone,
# lungs dark), as PACS viewers offer.
PRESETS = (
    ("default", N_("Default"), None),
    ("high_contrast", N_("High contrast"), (8.0, 92.0)),
    ("soft_tissue", N_("Soft tissue-like"), (40.0, 99.0)),
)
FILE_PRESET = N_("{name} (level {center}, width {width})")
FILE_PRESET_UNNAMED = N_("File window {number} (level {center}, width {width})")


@dataclass(frozen=True)
class Window:
    """``on_values``: in the display buffer's units (the file's), else grey levels 0-255."""

    center: float
    width: float
    on_values: bool = False


@dataclass(frozen=True)
class Preset:
    id: str  # "default", "high_contrast", "soft_tissue", "file_1", ...
    label: Sentence
    window: Window | None


@dataclass(frozen=True)
class Viewport:
    """What is visible: ``box`` (x0, y0, x1, y1) in image points, drawn ``size`` screen pixels
    large at ``offset`` (the canvas position of its top left corner)."""

    box: tuple[float, float, float, float]
    size: tuple[int, int]
    offset: tuple[int, int]


@dataclass(frozen=True)
class Frame:
    image: Image.Image  # "L", or "RGB" with the heatmap
    offset: tuple[int, int]


def format_value(value: float) -> str:
    """A window value as people read it: 1600, 40.5, 0.125."""
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.3g}"


def window_lut(window: Window | None, *, codes: int, low: float = 0.0, step: float = 1.0,
               flip: bool = False, invert: bool = False) -> np.ndarray:
    """The 8-bit lookup table (``codes`` + 1 entries) of ``window`` for stored codes whose value
    is ``low + code * step``; ``flip`` for a MONOCHROME1 file (low values white), ``invert``
    the user's. ``None``: the codes as they are (0-255)."""
    k = np.arange(codes + 1, dtype=np.float64)
    if window is None:
        shown = k
    else:
        width = max(float(window.width), 1e-12)
        shown = (low + k * step - (window.center - width / 2)) * GREY_LEVELS / width
    shown = np.clip(shown, 0.0, GREY_LEVELS)
    if flip != invert:
        shown = GREY_LEVELS - shown
    return np.floor(shown + 0.5).astype(np.uint8)


class Picture:
    """One image as the viewer has it: the 8-bit preview, the display buffer (or None), the
    heatmap (or None) and the reader's facts (the file's size and window presets)."""

    def __init__(self, preview: Image.Image, display=None, heatmap: np.ndarray | None = None,
                 source: dict | None = None, colour: Image.Image | None = None) -> None:
        self.preview = preview if preview.mode == "L" else preview.convert("L")
        # a colour photo as it is, at the preview's size, shown while no window or inversion
        # applies (grey beside "This image is in colour" contradicted the sentence)
        self.colour = colour.convert("RGB").resize(self.preview.size) if colour else None
        self.display = display
        self.heatmap = heatmap
        self.source = source or {}
        self._heat: tuple[Image.Image, Image.Image] | None = None
        self._luts: dict[tuple, np.ndarray] = {}

    @property
    def size(self) -> tuple[int, int]:
        return self.preview.size

    @property
    def file_scale(self) -> float:
        """File pixels per preview pixel (1:1 shows one file pixel per screen pixel)."""
        width = self.source.get("width")
        if isinstance(width, int) and width > 0:
            return width / self.size[0]
        return 1.0

    def value_range(self, on_values: bool) -> tuple[float, float]:
        if on_values and self.display is not None:
            return self.display.low, self.display.high
        return 0.0, GREY_LEVELS

    def min_width(self, on_values: bool) -> float:
        """The narrowest window: one grey level, or 1/1024 of the file's range."""
        if not (on_values and self.display is not None):
            return 1.0
        return max((self.display.high - self.display.low) / 1024, 1e-9)

    def drag_start(self) -> Window:
        """The window that reproduces the file's own picture, where a right-drag starts from:
        on the file's values when it has a linear default (its window, or the full range), else
        (a VOI LUT, an 8-bit image) on the preview's grey levels."""
        if self.display is None or self.source.get("windowing") == "voi_lut":
            return Window(GREY_LEVELS / 2, GREY_LEVELS)
        low, high = self.display.low, self.display.high
        windows = self.source.get("windows") or []
        if self.source.get("windowing") == "window" and windows:
            center, width = windows[0]["center"], windows[0]["width"]
            a, b = max(center - width / 2, low), min(center + width / 2, high)
            if b > a:
                return Window((a + b) / 2, b - a, True)
        return Window((low + high) / 2, high - low, True)

    def presets(self) -> list[Preset]:
        """The built-in presets, then the file's own windows (a DICOM's, in its units)."""
        found = [Preset(pid, Sentence(label), None if span is None else self._span(*span))
                 for pid, label, span in PRESETS]
        return found + self.file_presets()

    def file_presets(self) -> list[Preset]:
        if self.display is None:
            return []
        found = []
        for number, entry in enumerate(self.source.get("windows") or [], start=1):
            center, width = float(entry["center"]), float(entry["width"])
            if not width > 0:
                continue
            values = {"center": format_value(center), "width": format_value(width)}
            label = (Sentence(FILE_PRESET, name=entry["explanation"], **values)
                     if entry.get("explanation")
                     else Sentence(FILE_PRESET_UNNAMED, number=number, **values))
            found.append(Preset(f"file_{number}", label, Window(center, width, True)))
        return found

    def _span(self, dark: float, light: float) -> Window:
        """A window from the ``dark`` to the ``light`` percentile of the image's brightness."""
        on_values = self.display is not None
        if on_values:
            sample = self.display.codes[::PERCENTILE_STEP, ::PERCENTILE_STEP]
            if self.display.monochrome1:  # high values are dark
                dark, light = 100.0 - light, 100.0 - dark
        else:
            sample = np.asarray(self.preview)[::PERCENTILE_STEP, ::PERCENTILE_STEP]
        a, b = np.percentile(sample, [dark, light])
        if on_values:
            a, b = (self.display.low + v * self.display.step for v in (a, b))
        width = max(float(b - a), self.min_width(on_values))
        return Window(float(a + b) / 2, width, on_values)

    def lut(self, window: Window | None, invert: bool) -> np.ndarray:
        """The lookup table of ``window`` for the array ``window`` applies to (cached)."""
        on_values = window is not None and window.on_values and self.display is not None
        key = (window, invert, on_values)
        if key not in self._luts:
            if len(self._luts) > 8:
                self._luts.clear()
            if on_values:
                d = self.display
                self._luts[key] = window_lut(window, codes=65535, low=d.low, step=d.step,
                                             flip=d.monochrome1, invert=invert)
            else:
                window = window if window is not None and not window.on_values else None
                self._luts[key] = window_lut(window, codes=255, invert=invert)
        return self._luts[key]

    def heat(self) -> tuple[Image.Image, Image.Image]:
        """The heatmap's colours and mask at the preview's size, made once."""
        if self._heat is None:
            self._heat = heat_layers(self.heatmap, self.size)
        return self._heat

    def crop(self, box: tuple[int, int, int, int], window: Window | None,
             invert: bool) -> Image.Image:
        """The grey image of ``box`` (integer preview pixels) through ``window`` (a colour
        photo's own colours when there is no window)."""
        if window is not None and window.on_values and self.display is not None:
            x0, y0, x1, y1 = box
            return Image.fromarray(self.lut(window, invert)[self.display.codes[y0:y1, x0:x1]],
                                   mode="L")
        if window is None and not invert and self.colour is not None:
            return self.colour.crop(box)
        part = self.preview.crop(box)
        if window is None and not invert:
            return part
        return part.point(self.lut(window, invert).tolist())


class Viewer:
    """The view of one picture on a canvas: zoom (screen pixels per image point; None fits the
    canvas), the image point at the canvas centre, window, invert, heatmap opacity."""

    def __init__(self) -> None:
        self.picture: Picture | None = None
        self.canvas = (1, 1)
        self.zoom: float | None = None
        self.center = (0.0, 0.0)
        self.window: Window | None = None
        self.preset: str | None = "default"  # the preset the window came from; None: dragged
        self.invert = False
        self.opacity = DEFAULT_OPACITY
        self.show_heat = False
        self._drag: Window | None = None

    # --- what is shown ----------------------------------------------------------------------

    def show(self, picture: Picture | None, *, keep_view: bool = False) -> None:
        """Show ``picture``; a new image starts fitted with its own window (``keep_view``: the
        same image again, e.g. its heatmap arrived)."""
        same_size = (self.picture is not None and picture is not None
                     and picture.size == self.picture.size)
        self.picture = picture
        if not (keep_view and same_size):
            self.reset()

    def resize(self, width: int, height: int) -> None:
        self.canvas = (max(1, int(width)), max(1, int(height)))
        self._clamp()

    # --- zoom and pan -----------------------------------------------------------------------

    @property
    def fit_scale(self) -> float:
        if self.picture is None:
            return 1.0
        (w, h), (cw, ch) = self.picture.size, self.canvas
        return min(cw / w, ch / h)

    @property
    def scale(self) -> float:
        """Screen pixels per image point now."""
        return self.fit_scale if self.zoom is None else self.zoom

    @property
    def zoom_percent(self) -> float:
        """The zoom in pixels of the file: 100 at 1:1."""
        if self.picture is None:
            return 100.0
        return 100.0 * self.scale / self.picture.file_scale

    def _limits(self) -> tuple[float, float]:
        fit = self.fit_scale
        file_scale = self.picture.file_scale if self.picture is not None else 1.0
        return fit * MIN_ZOOM_OF_FIT, max(fit * 2, MAX_ZOOM * file_scale)

    def zoom_by(self, factor: float, at: tuple[float, float] | None = None) -> None:
        """Zoom by ``factor`` keeping the image point under canvas position ``at`` (default:
        the centre) where it is, as a mouse wheel does."""
        if self.picture is None:
            return
        low, high = self._limits()
        old = self.scale
        new = min(high, max(low, old * factor))
        cw, ch = self.canvas
        ax, ay = at if at is not None else (cw / 2, ch / 2)
        px = self.center[0] + (ax - cw / 2) / old
        py = self.center[1] + (ay - ch / 2) / old
        self.zoom = new
        self.center = (px - (ax - cw / 2) / new, py - (ay - ch / 2) / new)
        self._clamp()

    def fit(self) -> None:
        self.zoom = None
        self._clamp()

    def actual_size(self) -> None:
        """1:1: one pixel of the file per screen pixel, centred where the view was."""
        if self.picture is not None:
            self.zoom = self.picture.file_scale
            self._clamp()

    def pan(self, dx: float, dy: float) -> None:
        """Move the image with the pointer by (dx, dy) screen pixels."""
        scale = self.scale
        self.center = (self.center[0] - dx / scale, self.center[1] - dy / scale)
        self._clamp()

    def reset(self) -> None:
        """Fitted, centred, the file's own window, not inverted."""
        self.zoom = None
        if self.picture is not None:
            w, h = self.picture.size
            self.center = (w / 2, h / 2)
        self.window, self.preset, self.invert = None, "default", False
        self._drag = None

    def _clamp(self) -> None:
        """An image smaller than the canvas stays centred; a larger one never shows more than
        its own edge."""
        if self.picture is None:
            return
        centre = []
        for point, size, canvas in zip(self.center, self.picture.size, self.canvas,
                                       strict=True):
            half = canvas / 2 / self.scale
            centre.append(size / 2 if 2 * half >= size else min(max(point, half), size - half))
        self.center = (centre[0], centre[1])

    # --- window / level ---------------------------------------------------------------------

    def choose(self, preset_id: str) -> bool:
        """Apply a preset of the picture's (False when it has no such preset)."""
        if self.picture is None:
            return False
        preset = next((p for p in self.picture.presets() if p.id == preset_id), None)
        if preset is None:
            return False
        self.window, self.preset = preset.window, preset.id
        return True

    def begin_window_drag(self) -> None:
        if self.picture is not None:
            self._drag = self.window or self.picture.drag_start()

    def drag_window(self, dx: float, dy: float) -> None:
        """A right-drag of (dx, dy) screen pixels since it began: right widens the window (less
        contrast), down raises the level (darker), as PACS viewers do."""
        if self.picture is None or self._drag is None:
            return
        start = self._drag
        low, high = self.picture.value_range(start.on_values)
        span = high - low
        per_pixel = span / DRAG_PIXELS
        flipped = start.on_values and self.picture.display is not None \
            and self.picture.display.monochrome1
        width = min(2 * span, max(self.picture.min_width(start.on_values),
                                  start.width + dx * per_pixel))
        center = start.center + (-dy if flipped else dy) * per_pixel
        center = min(high + span / 2, max(low - span / 2, center))
        self.window, self.preset = Window(center, width, start.on_values), None

    def end_window_drag(self) -> None:
        self._drag = None

    # --- the picture ------------------------------------------------------------------------

    def viewport(self) -> Viewport | None:
        if self.picture is None:
            return None
        (w, h), (cw, ch), scale = self.picture.size, self.canvas, self.scale
        left, top = self.center[0] - cw / 2 / scale, self.center[1] - ch / 2 / scale
        x0, y0 = max(0.0, left), max(0.0, top)
        x1, y1 = min(float(w), left + cw / scale), min(float(h), top + ch / scale)
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        offset = (round((x0 - left) * scale), round((y0 - top) * scale))
        return Viewport((x0, y0, x1, y1), size, offset)

    def frame(self, resolution: float = 1.0) -> Frame | None:
        """What the canvas shows (``resolution`` times as many pixels, for a report): the
        visible part only, cropped from the preview (or display buffer), through the window,
        resized once, with the heatmap when it is shown."""
        viewport = self.viewport()
        if viewport is None:
            return None
        picture = self.picture
        x0, y0, x1, y1 = viewport.box
        w, h = picture.size
        box = (int(math.floor(x0)), int(math.floor(y0)),
               min(w, int(math.ceil(x1))), min(h, int(math.ceil(y1))))
        inner = (x0 - box[0], y0 - box[1], x1 - box[0], y1 - box[1])
        size = (max(1, round(viewport.size[0] * resolution)),
                max(1, round(viewport.size[1] * resolution)))
        image = picture.crop(box, self.window, self.invert).resize(
            size, Image.Resampling.BILINEAR, box=inner)
        if self.show_heat and picture.heatmap is not None:
            colours, mask = (layer.crop(box).resize(size, Image.Resampling.BILINEAR, box=inner)
                             for layer in picture.heat())
            image = blend(image, colours, mask, self.opacity)
        return Frame(image, viewport.offset)

    def describe(self) -> str:
        """One line under the image, in the current language: zoom, window, inverted."""
        if self.picture is None:
            return ""
        parts = [gettext("Zoom {percent}%").format(percent=f"{self.zoom_percent:.0f}")]
        if self.window is None:
            parts.append(gettext("Window: as the file shows it"))
        else:
            parts.append(gettext("Window: level {center}, width {width}").format(
                center=format_value(self.window.center), width=format_value(self.window.width)))
            if not self.window.on_values:
                parts[-1] += " " + gettext("(grey levels)")
        if self.invert:
            parts.append(gettext("Inverted"))
        return " · ".join(parts)
