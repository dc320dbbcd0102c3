"""F11: the selected image on the whole screen, in a window of its own.

At the window's smallest size the image keeps only part of the result pane; a clinician who
wants to look closely presses F11 (View → Image on the whole screen) and gets the same picture,
with its window (level and width), inversion and heatmap, as large as the screen allows. It
follows the selection; F11 or Esc closes it.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from desktop.errors import N_
from desktop.ui.image_canvas import ImageViewer
from desktop.ui.texts import Texts
from desktop.ui.viewer import Picture, Viewer

HINT = N_("Wheel: zoom · drag: move · right-drag: brightness and contrast · F11 or Esc: back")


class LargeImage(tk.Toplevel):
    """A screen-sized viewer of one picture; its zoom and pan are its own."""

    def __init__(self, master: tk.Misc, texts: Texts) -> None:
        super().__init__(master, background="#1E1E1E")
        self._texts = texts
        texts.title(self, N_("Image on the whole screen"))
        width, height = self.winfo_screenwidth(), self.winfo_screenheight()
        self.geometry(f"{width}x{height}+0+0")
        try:
            self.attributes("-fullscreen", True)
        except tk.TclError:  # a window manager without full screen: the screen-sized window
            pass
        self.viewer = ImageViewer(self, width=width, height=height - 30)
        self.viewer.pack(fill="both", expand=True)
        texts.widget(ttk.Label(self, style="Small.Panel.TLabel", anchor="center"),
                     HINT).pack(fill="x")
        for key in ("<Escape>", "<F11>"):  # before the app-wide keys (Esc cancels a batch)
            self.bind(key, self._key_closes)
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.focus_set()

    def show(self, picture: Picture | None, hint: str, like: Viewer) -> None:
        """``picture`` fitted to the screen, with the heatmap, window and inversion of ``like``
        (the pane's viewer); the same picture again keeps this window's zoom."""
        same = picture is not None and picture is self.viewer.picture
        self.viewer.show(picture, hint, keep_view=same)
        mine = self.viewer.viewer
        mine.show_heat, mine.opacity = like.show_heat, like.opacity
        mine.window, mine.preset, mine.invert = like.window, like.preset, like.invert
        self.viewer.redraw()

    def _key_closes(self, _event) -> str:
        self.close()
        return "break"

    def close(self) -> None:
        self._texts.forget(self)
        self.destroy()
