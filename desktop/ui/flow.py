"""A row of widgets that wraps: laid out left to right, a new line where the width ends.

A window's buttons and filters in one fixed row are cut at the right edge on an 800x600 screen
or in a longer translation (History's "Delete all shown…" was off-screen); here they move to a
second line instead, and back when there is room.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk


class Flow(ttk.Frame):
    """Children added with ``add`` are placed in reading order, wrapped at the frame's width.
    The frame asks for the height its lines take (and, as its natural width, one line)."""

    def __init__(self, master: tk.Misc, gap: tuple[int, int] = (8, 6), **options) -> None:
        super().__init__(master, **options)
        self.gap = gap
        self.items: list[tk.Misc] = []
        self._pending: str | None = None
        self.bind("<Configure>", lambda _e: self.reflow_soon(), add="+")

    def add(self, widget: tk.Misc) -> tk.Misc:
        self.items.append(widget)
        # a translation changes the widget's size: lay out again
        widget.bind("<Configure>", lambda _e: self.reflow_soon(), add="+")
        self.reflow_soon()
        return widget

    def reflow_soon(self) -> None:
        if self._pending is None:
            self._pending = self.after_idle(self.reflow)

    def reflow(self) -> None:
        self._pending = None
        try:
            width = self.winfo_width()
        except tk.TclError:  # closed meanwhile
            return
        sizes = [(w.winfo_reqwidth(), w.winfo_reqheight()) for w in self.items]
        natural = sum(w for w, _h in sizes) + self.gap[0] * max(len(sizes) - 1, 0)
        if width <= 1:  # not laid out yet: one line
            width = natural
        x = y = line = 0
        for widget, (w, h) in zip(self.items, sizes, strict=True):
            if x and x + w > width:
                x, y, line = 0, y + line + self.gap[1], 0
            widget.place(x=x, y=y)
            x += w + self.gap[0]
            line = max(line, h)
        height = y + line
        if (str(self.cget("height")), str(self.cget("width"))) != (str(height), str(natural)):
            self.configure(height=height, width=natural)
