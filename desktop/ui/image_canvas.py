"""The image on screen: ``ImageViewer`` draws what ``desktop.ui.viewer.Viewer`` computes and
turns the mouse into its changes; ``HeatmapLegend`` says what the Grad-CAM overlay's colours
mean (``HEATMAP_CAPTION``, also shown by Cases → Read first). Neither knows the model.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from PIL import Image, ImageTk

from desktop.errors import N_
from desktop.reports.overlay import legend_strip
from desktop.ui.texts import Texts
from desktop.ui.viewer import ZOOM_STEP, Picture, Viewer

HEATMAP_CAPTION = N_("Grad-CAM: the regions that raised P(pneumonia) most. It shows where the "
                     "model looked, not where the disease is.")


class ImageViewer(tk.Canvas):
    """The selected image, drawn from what ``desktop.ui.viewer.Viewer`` computes (or a hint).

    The mouse: the wheel zooms about the pointer, a drag pans, a right-drag sets the window
    (level and width), a double-click resets. Redraws are coalesced into one per idle moment,
    so a fast drag costs one frame per screen update. ``on_change()`` runs after each change
    the user makes (the window updates the line under the image and its menus).
    """

    def __init__(self, master: tk.Misc, on_change: Callable[[], None] | None = None,
                 **kwargs) -> None:
        super().__init__(master, highlightthickness=0, bg="#1E1E1E", **kwargs)
        self.viewer = Viewer()
        self.rendered: Image.Image | None = None  # what is on the canvas now
        self._photo: ImageTk.PhotoImage | None = None
        self._photo_shape: tuple[str, tuple[int, int]] | None = None
        self._hint = ""
        self._pending: str | None = None
        self._last: tuple[int, int] | None = None
        self._window_from: tuple[int, int] | None = None
        self._on_change = on_change or (lambda: None)
        right = "2" if self.tk.call("tk", "windowingsystem") == "aqua" else "3"
        for sequence, handler in (
            ("<Configure>", self._resized), ("<MouseWheel>", self._wheel),
            ("<Button-4>", lambda e: self._zoom_at(e, ZOOM_STEP)),
            ("<Button-5>", lambda e: self._zoom_at(e, 1 / ZOOM_STEP)),
            ("<ButtonPress-1>", self._press), ("<B1-Motion>", self._pan),
            ("<Double-Button-1>", lambda _e: self.change(self.viewer.reset)),
            (f"<ButtonPress-{right}>", self._window_press),
            (f"<B{right}-Motion>", self._window_drag),
            (f"<ButtonRelease-{right}>", lambda _e: self.viewer.end_window_drag()),
        ):
            self.bind(sequence, handler)

    @property
    def picture(self) -> Picture | None:
        return self.viewer.picture

    def show(self, picture: Picture | None, hint: str = "", *, keep_view: bool = False) -> None:
        """Show ``picture`` (``keep_view``: the same image again, its zoom and window kept)."""
        self.viewer.show(picture, keep_view=keep_view)
        self._hint = hint
        self.redraw()

    def change(self, action: Callable[[], object]) -> None:
        """Apply a change to the view (a command or the mouse), then redraw once when idle."""
        if self.viewer.picture is None:
            return
        action()
        self._on_change()
        if self._pending is None:
            self._pending = self.after_idle(self.redraw)

    def redraw(self) -> None:
        if self._pending is not None:
            self.after_cancel(self._pending)
            self._pending = None
        frame = self.viewer.frame()
        if frame is None:
            self.delete("all")
            self._photo = self.rendered = None
            width, height = self.viewer.canvas
            self.create_text(width / 2, height / 2, text=self._hint, fill="#D0D0D0",
                             width=max(width - 40, 40), justify="center",
                             font="TkHeadingFont")
            return
        self.rendered = frame.image
        shape = (frame.image.mode, frame.image.size)
        if self._photo is not None and self._photo_shape == shape and self.find_all():
            self._photo.paste(frame.image)  # same size: no new Tk image (cheaper on each drag)
            self.coords(self.find_all()[0], *frame.offset)
            return
        self.delete("all")
        self._photo, self._photo_shape = ImageTk.PhotoImage(frame.image, master=self), shape
        self.create_image(*frame.offset, image=self._photo, anchor="nw")

    def _resized(self, event) -> None:
        """A fitted image follows the canvas's size; the line under it says the new zoom."""
        self.viewer.resize(event.width, event.height)
        self.redraw()
        self._on_change()

    def _zoom_at(self, event, factor: float) -> None:
        self.change(lambda: self.viewer.zoom_by(factor, at=(event.x, event.y)))

    def _wheel(self, event) -> None:
        if event.delta:
            self._zoom_at(event, ZOOM_STEP if event.delta > 0 else 1 / ZOOM_STEP)

    def _press(self, event) -> None:
        self._last = (event.x, event.y)

    def _pan(self, event) -> None:
        if self._last is None:
            return
        dx, dy = event.x - self._last[0], event.y - self._last[1]
        self._last = (event.x, event.y)
        self.change(lambda: self.viewer.pan(dx, dy))

    def _window_press(self, event) -> None:
        self._window_from = (event.x, event.y)
        self.viewer.begin_window_drag()

    def _window_drag(self, event) -> None:
        if self._window_from is None:
            return
        dx, dy = event.x - self._window_from[0], event.y - self._window_from[1]
        self.change(lambda: self.viewer.drag_window(dx, dy))


class HeatmapLegend(ttk.Frame):
    """What the overlay's colours mean: a colour bar from "low" to "high" with one sentence."""

    def __init__(self, master: tk.Misc, texts: Texts, **kwargs) -> None:
        super().__init__(master, style="Panel.TFrame", **kwargs)
        strip = legend_strip(180, 12)
        self._photo = ImageTk.PhotoImage(strip, master=self)
        scale = ttk.Frame(self, style="Panel.TFrame")
        scale.pack(anchor="w")
        texts.widget(ttk.Label(scale, style="Panel.TLabel"), N_("low")).pack(side="left")
        ttk.Label(scale, image=self._photo, style="Panel.TLabel").pack(side="left", padx=6)
        texts.widget(ttk.Label(scale, style="Panel.TLabel"), N_("high")).pack(side="left")
        self.caption = ttk.Label(self, style="Small.Panel.TLabel", wraplength=440)
        self.caption.pack(anchor="w", pady=(2, 0))
        texts.widget(self.caption, HEATMAP_CAPTION)
        self._scale = scale

    def height_needed(self, caption: bool) -> int:
        """Its height with or without the sentence (a short pane drops the sentence first)."""
        if not caption:
            return self._scale.winfo_reqheight()
        return self._scale.winfo_reqheight() + self.caption.winfo_reqheight() + 2

    def show_caption(self, shown: bool) -> None:
        if shown and not self.caption.winfo_manager():
            self.caption.pack(anchor="w", pady=(2, 0))
        elif not shown and self.caption.winfo_manager():
            self.caption.pack_forget()
