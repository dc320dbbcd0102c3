"""The divider between the table and the result pane.

Tk's paned window shares a resize by weight, so shrinking a 1280-pixel window to 800 took the
same number of pixels from each side and left the image a strip. The divider keeps the result
pane's *share* of the width instead (the image follows the window), remembers the share the user
drags it to, and never lets either side become narrower than its controls need.
"""

from __future__ import annotations

from tkinter import ttk

RIGHT_SHARE = 0.40  # of the width, for the result pane, until the user drags the divider
LEFT_MIN = 420  # the threshold's three choices in Spanish and Portuguese, the table's columns
RIGHT_MIN = 300  # the heatmap check box in Spanish, the verdict beside its icon


def sash_position(width: int, share: float, left_min: int = LEFT_MIN,
                  right_min: int = RIGHT_MIN) -> int:
    """Where the divider goes in ``width`` pixels for the result pane to have ``share`` of them,
    both sides kept at their minimum (in a window too narrow for both, in proportion)."""
    if width <= left_min + right_min:
        return round(width * left_min / (left_min + right_min))
    right = min(max(round(width * share), right_min), width - left_min)
    return width - right


class Divider:
    """Keeps ``panes``' first sash where the result pane has its share."""

    def __init__(self, panes: ttk.PanedWindow, share: float = RIGHT_SHARE) -> None:
        self.panes = panes
        self.share = share
        self._width = 0
        panes.bind("<Configure>", self._resized, add="+")
        panes.bind("<ButtonRelease-1>", self._dragged, add="+")

    def _resized(self, event) -> None:
        if event.width != self._width:
            self._width = event.width
            self.place()

    def _dragged(self, _event=None) -> None:
        width = self.panes.winfo_width()
        if width > 1:
            self.share = 1 - self.panes.sashpos(0) / width
            self.place()

    def place(self) -> None:
        width = self.panes.winfo_width()
        if width > 1:
            self.panes.sashpos(0, sash_position(width, self.share))
