"""Whether a text fits the pixels it is given, decided without Tk (the caller passes the font's
``measure``), so the tooltip of clipped table cells and the sizing of dialogs to their translated
text are tested without a display."""

from __future__ import annotations

from collections.abc import Callable, Iterable

Measure = Callable[[str], int]

# A Treeview cell's text starts a few pixels in from its column's edge and needs as much after it.
CELL_PADDING = 8


def is_clipped(text: str, width: int, measure: Measure, padding: int = CELL_PADDING) -> bool:
    """True when ``text`` (one line) does not fit a column ``width`` pixels wide."""
    return bool(text) and measure(text) + padding > width


def width_for(texts: Iterable[str], measure: Measure, padding: int = CELL_PADDING,
              minimum: int = 0) -> int:
    """The pixels a column needs so that none of ``texts`` is clipped (at least ``minimum``)."""
    return max([minimum, *(measure(text) + padding for text in texts if text)])


def elide(text: str, width: int, measure: Measure) -> str:
    """``text``, or as much of it as fits ``width`` pixels followed by "…"."""
    if measure(text) <= width:
        return text
    while text and measure(text + "…") > width:
        text = text[:-1]
    return text.rstrip(" ·") + "…"
