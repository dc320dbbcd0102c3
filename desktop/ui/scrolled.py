"""A part of a window that scrolls up and down when the window is shorter than it.

On an 800x600 screen a study's figures (Calibrate) and a reader's tables (Read first) fell below
the window's edge, out of reach; here they scroll instead (scroll bar and mouse wheel), and the
scroll bar shows only when something is out of view. The result pane's sentences under the image
scroll the same way, in a height the pane gives them (``limit``), so the probability bar and the
heatmap controls under them stay on screen.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk


class Scrolled(ttk.Frame):
    """Put the content in ``inner``. The frame asks for the content's own size (a window that
    has room shows it whole) and scrolls it when given less, or when ``limit`` caps its height.

    ``style``: the frame's ttk style, also the content's and the background's (a panel's white).
    ``wheel_anywhere``: the mouse wheel scrolls it wherever the pointer is in its window (a
    window that is mostly this part); False: only with the pointer over it (a part among
    others that scroll or zoom with the wheel themselves)."""

    def __init__(self, master: tk.Misc, *, wheel_anywhere: bool = True, **options) -> None:
        super().__init__(master, **options)
        style = options.get("style", "TFrame")
        background = ttk.Style(self).lookup(style, "background") or None
        self.canvas = tk.Canvas(self, highlightthickness=0, borderwidth=0,
                                background=background)
        self.bar = ttk.Scrollbar(self, orient="vertical", command=self.canvas.yview)
        self.inner = ttk.Frame(self.canvas, style=style)
        self._item = self.canvas.create_window(0, 0, window=self.inner, anchor="nw")
        self._limit: int | None = None
        self._wheel_anywhere = wheel_anywhere
        self.canvas.configure(yscrollcommand=self._scrolled)
        self.canvas.grid(row=0, column=0, sticky="nsew")
        self.bar.grid(row=0, column=1, sticky="ns")
        self.bar.grid_remove()
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)
        self.inner.bind("<Configure>", lambda _e: self._content_changed(), add="+")
        self.canvas.bind("<Configure>", self._resized, add="+")
        top = self.winfo_toplevel()
        for sequence, step in (("<Button-4>", -1), ("<Button-5>", 1)):
            top.bind(sequence, lambda e, s=step: self._wheel(s, e), add="+")
        top.bind("<MouseWheel>", lambda e: self._wheel(-1 if e.delta > 0 else 1, e), add="+")

    def limit(self, height: int | None) -> None:
        """Ask for at most ``height`` pixels (None: the content's whole height)."""
        if height != self._limit:
            self._limit = height
            self._content_changed()

    def _content_changed(self) -> None:
        width, height = self.inner.winfo_reqwidth(), self.inner.winfo_reqheight()
        shown = height if self._limit is None else max(1, min(height, self._limit))
        self.canvas.configure(scrollregion=(0, 0, width, height), width=width, height=shown)

    def _resized(self, event) -> None:
        """The content as wide as the visible part (its sentences wrap there)."""
        self.canvas.itemconfigure(self._item, width=event.width)

    def _scrolled(self, first: str, last: str) -> None:
        if float(first) <= 0.0 and float(last) >= 1.0:
            self.bar.grid_remove()
        else:
            self.bar.grid()
        self.bar.set(first, last)

    def _wheel(self, step: int, event) -> None:
        if not self.bar.winfo_ismapped():
            return
        if not self._wheel_anywhere:
            over = self.winfo_containing(event.x_root, event.y_root)
            if over is None or not (str(over) + ".").startswith(str(self) + "."):
                return
        self.canvas.yview_scroll(step * 3, "units")
