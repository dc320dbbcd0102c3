"""A part of a window that scrolls up and down when the window is shorter than it.

On an 800x600 screen a study's figures (Calibrate) and a reader's tables (Read first) fell below
the window's edge, out of reach; here they scroll instead (scroll bar and mouse wheel), and the
scroll bar shows only when something is out of view.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk


class Scrolled(ttk.Frame):
    """Put the content in ``inner``. The frame asks for the content's own size (a window that
    has room shows it whole) and scrolls it when given less."""

    def __init__(self, master: tk.Misc, **options) -> None:
        super().__init__(master, **options)
        background = ttk.Style(self).lookup("TFrame", "background") or None
        self.canvas = tk.Canvas(self, highlightthickness=0, borderwidth=0,
                                background=background)
        self.bar = ttk.Scrollbar(self, orient="vertical", command=self.canvas.yview)
        self.inner = ttk.Frame(self.canvas)
        self._item = self.canvas.create_window(0, 0, window=self.inner, anchor="nw")
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
            top.bind(sequence, lambda _e, s=step: self._wheel(s), add="+")
        top.bind("<MouseWheel>", lambda e: self._wheel(-1 if e.delta > 0 else 1), add="+")

    def _content_changed(self) -> None:
        width, height = self.inner.winfo_reqwidth(), self.inner.winfo_reqheight()
        self.canvas.configure(scrollregion=(0, 0, width, height), width=width, height=height)

    def _resized(self, event) -> None:
        """The content as wide as the visible part (its sentences wrap there)."""
        self.canvas.itemconfigure(self._item, width=event.width)

    def _scrolled(self, first: str, last: str) -> None:
        if float(first) <= 0.0 and float(last) >= 1.0:
            self.bar.grid_remove()
        else:
            self.bar.grid()
        self.bar.set(first, last)

    def _wheel(self, step: int) -> None:
        if self.bar.winfo_ismapped():
            self.canvas.yview_scroll(step * 3, "units")
