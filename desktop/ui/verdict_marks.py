"""The verdict drawn so it reads without its colour: the verdict's shape (``VerdictIcon``),
P(pneumonia) on a 0-1 bar with the threshold or the refer band (``ProbabilityBar``), and the
refer band alone in the threshold panel (``BandBar``).

Colours are the Okabe-Ito palette of ``desktop.ui.style`` (told apart with every common
colour-vision deficiency): blue for NORMAL, vermillion for PNEUMONIA, reddish purple for REFER
(inside the refer band). Colour never carries meaning alone: each outcome also has its own
shape (a circle for NORMAL, a triangle for PNEUMONIA, a half-filled circle for REFER, a cross
for an error), the PNEUMONIA and REFER parts of the probability bar are hatched (two
patterns), and the refer band is a bracket between two ticks (``draw_band``, one drawing for
both bars).
"""

from __future__ import annotations

import tkinter as tk
from tkinter import font as tkfont

from desktop.engine.threshold import format_threshold
from desktop.reports.wording import VERDICT_MARKS
from desktop.ui.style import (
    BLUE,
    GREY,
    PANEL_BG,
    PURPLE,
    TEXT_BLUE,
    TEXT_GREY,
    TEXT_PURPLE,
    TEXT_VERMILLION,
    VERMILLION,
)


class VerdictIcon(tk.Canvas):
    """The verdict's shape: circle (NORMAL), triangle with "!" (PNEUMONIA), a ring with its left
    half filled (REFER: the table's "◐"), struck circle (no verdict: not a chest X-ray), cross
    (error)."""

    def __init__(self, master: tk.Misc, size: int = 34, **kwargs) -> None:
        super().__init__(
            master, width=size, height=size, highlightthickness=0, bg=PANEL_BG, **kwargs
        )
        self.size = size

    def show(self, verdict: str | None, empty: bool = False) -> None:
        self.delete("all")
        s, m = self.size, 3
        if empty:
            return
        if verdict == "NORMAL":
            self.create_oval(m, m, s - m, s - m, fill=BLUE, outline="")
            self.create_oval(s * 0.38, s * 0.38, s * 0.62, s * 0.62, fill="white", outline="")
        elif verdict == "PNEUMONIA":
            self.create_polygon(s / 2, m, s - m, s - m, m, s - m, fill=VERMILLION, outline="")
            self.create_line(s / 2, s * 0.36, s / 2, s * 0.66, fill="white", width=3)
            self.create_oval(s / 2 - 2, s * 0.74, s / 2 + 2, s * 0.74 + 4, fill="white", width=0)
        elif verdict == "REFER":  # half decided: a ring, its left half filled
            box = (m + 2, m + 2, s - m - 2, s - m - 2)
            self.create_arc(*box, start=90, extent=180, style="pieslice", fill=PURPLE,
                            outline="")
            self.create_oval(*box, outline=PURPLE, width=4)
        elif verdict == "withheld":  # a circle struck through: no verdict is given
            self.create_oval(m + 2, m + 2, s - m - 2, s - m - 2, outline=GREY, width=4)
            self.create_line(s * 0.27, s * 0.73, s * 0.73, s * 0.27, fill=GREY, width=4)
        else:
            self.create_line(m + 4, m + 4, s - m - 4, s - m - 4, fill=GREY, width=5)
            self.create_line(m + 4, s - m - 4, s - m - 4, m + 4, fill=GREY, width=5)


BAR_COLOURS = {"PNEUMONIA": VERMILLION, "REFER": PURPLE}  # else BLUE
BAR_HATCHES = {"PNEUMONIA": "gray25", "REFER": "gray50"}  # over the fill: never colour alone


def draw_band(canvas: tk.Canvas, left: float, span: float, top: float, bottom: float,
              band) -> None:
    """The refer band on a 0-1 bar: a tick at ``t_low`` and at ``t_high`` and a bracket over
    the bar joining them (REFER lies between), so the band reads without its colour."""
    low, high = left + span * band.t_low, left + span * band.t_high
    for x in (low, high):
        canvas.create_line(x, top - 5, x, bottom + 5, fill="black", width=2, tags="band")
    canvas.create_line(low, top - 4, high, top - 4, fill=TEXT_PURPLE, width=3, tags="band")


class ProbabilityBar(tk.Canvas):
    """P(pneumonia) as a bar from 0 to 1 with the threshold, or the refer band, marked.

    The bar fills up to P in the answer's colour (hatched when PNEUMONIA or REFER); a black
    tick marks the threshold, or two ticks joined by a bracket the refer band deciding, so a
    user sees how far the result is from another answer.
    """

    HEIGHT = 46

    def __init__(self, master: tk.Misc, **kwargs) -> None:
        super().__init__(master, height=self.HEIGHT, highlightthickness=0, bg=PANEL_BG, **kwargs)
        self._state: tuple[float, float, str, object] | None = None
        self.bind("<Configure>", lambda _e: self._draw())

    def show(self, p: float | None, threshold: float, verdict: str | None,
             band=None) -> None:
        """``band``: the refer band deciding (``ReferBand``), drawn in place of the threshold."""
        self._state = None if p is None else (p, threshold, verdict or "", band)
        self._draw()

    def _draw(self) -> None:
        self.delete("all")
        if self._state is None:
            return
        p, threshold, verdict, band = self._state
        width = max(self.winfo_width(), 50)
        left, right, top, bottom = 8, width - 8, 8, 26
        span = right - left
        self.create_rectangle(left, top, right, bottom, fill="white", outline="#9A9A9A")
        x = left + span * p
        if p > 0:
            self.create_rectangle(left, top, x, bottom, fill=BAR_COLOURS.get(verdict, BLUE),
                                  outline="")
            if verdict in BAR_HATCHES:
                self.create_rectangle(left, top, x, bottom, fill="white",
                                      stipple=BAR_HATCHES[verdict], outline="")
        if band is not None:
            draw_band(self, left, span, top, bottom, band)
        else:
            tx = left + span * threshold
            self.create_line(tx, top - 5, tx, bottom + 5, fill="black", width=2)
        for value, anchor in ((0.0, "nw"), (0.5, "n"), (1.0, "ne")):
            self.create_text(
                left + span * value, bottom + 4, text=f"{value:g}", anchor=anchor,
                fill=TEXT_GREY, font="TkSmallCaptionFont",
            )


class BandBar(tk.Canvas):
    """The refer band on its own, in the threshold panel: the 0-1 bar with the band's two
    thresholds (ticks joined by a bracket, each with its value) and each stretch's mark
    (● NORMAL below, ◐ REFER between, ▲ PNEUMONIA above): what answers which P."""

    HEIGHT = 38

    def __init__(self, master: tk.Misc, **kwargs) -> None:
        super().__init__(master, height=self.HEIGHT, highlightthickness=0, **kwargs)
        self.band = None
        self.bind("<Configure>", lambda _e: self._draw())

    def show(self, band) -> None:
        self.band = band
        self._draw()

    def _draw(self) -> None:
        self.delete("all")
        band = self.band
        if band is None:
            return
        width = max(self.winfo_width(), 120)
        left, right, top, bottom = 8, width - 8, 6, 20
        span = right - left
        low, high = left + span * band.t_low, left + span * band.t_high
        self.create_rectangle(left, top, right, bottom, fill="white", outline="#9A9A9A")
        self.create_rectangle(low, top, high, bottom, fill=PURPLE, outline="")
        self.create_rectangle(low, top, high, bottom, fill="white", stipple="gray50",
                              outline="")
        for kind, start, end, colour in (("NORMAL", left, low, TEXT_BLUE),
                                         ("REFER", low, high, "black"),
                                         ("PNEUMONIA", high, right, TEXT_VERMILLION)):
            if end - start >= 14:
                self.create_text((start + end) / 2, (top + bottom) / 2 + 1,
                                 text=VERDICT_MARKS[kind], fill=colour,
                                 font="TkSmallCaptionFont", tags=("mark", kind))
        draw_band(self, left, span, top, bottom, band)
        self._draw_values(band, left, right, low, high, bottom + 5)

    def _draw_values(self, band, left: float, right: float, low: float, high: float,
                     y: float) -> None:
        """Each threshold's value under its tick, outside the band where there is room, kept
        inside the bar's ends (0.9889 near the right end showed as "0,"), and the low value
        kept left of the high one."""
        font = tkfont.nametofont("TkSmallCaptionFont")
        texts = [format_threshold(band.t_low), format_threshold(band.t_high)]
        widths = [font.measure(text) for text in texts]
        high_start = min(max(high + 2, left), right - widths[1])  # the high value's left edge
        low_end = max(min(low - 2, high_start - 4), left + widths[0])  # the low's right edge
        for x, text, anchor in ((low_end, texts[0], "ne"), (high_start, texts[1], "nw")):
            self.create_text(x, y, text=text, anchor=anchor, fill="black",
                             font="TkSmallCaptionFont", tags="value")
