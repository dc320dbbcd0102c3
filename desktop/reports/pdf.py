"""The PDF reports, laid out with reportlab (BSD): what ``desktop.reports.content`` says, on A4
pages.

Helvetica, one of the PDF's built-in fonts (nothing embedded; its WinAnsi encoding covers
Portuguese and Spanish), and marks drawn as shapes (a triangle for PNEUMONIA, a circle for
NORMAL, a half-filled circle for referred to a human reader, a struck circle for no verdict, a
diamond for unusual...), never glyphs the font lacks;
every text goes through ``writable``: a value longer than ``MAX_TEXT`` characters (a DICOM
tag of 20,000) is cut with an ellipsis, so no cell outgrows a page; a character WinAnsi cannot
write gets an ASCII equivalent ("→" "->", "≥" ">=", an accented letter its base letter), and
"?" only where there is none (a file name in another script). Images are
embedded as JPEG: the viewer's picture at about 150 dpi, thumbnails of 112 px (a 100-file batch
report stays well under 1 MB). Written atomically (``desktop.atomicio``); a full disk or a
folder that cannot be written gives one sentence (``DiskFullError``, ``WriteError``).
"""

from __future__ import annotations

import errno
import io
import logging
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus import Image as PdfImage

from desktop.engine.results import read_again
from desktop.errors import DiskFullError, FileChangedError, ReadError, WriteError
from desktop.outcomes import Outcome
from desktop.reports.content import BatchReport, Entry, SingleReport, page_text
from desktop.reports.overlay import legend_strip

log = logging.getLogger(__name__)

PAGE = A4
MARGIN = 40
WIDTH = PAGE[0] - 2 * MARGIN - 12  # the frame keeps 6 points of padding on each side
IMAGE_MAX_HEIGHT = 300  # points: the picture of a one-image report
IMAGE_QUALITY = 88
THUMB_SIDE = 112  # pixels, longest side
THUMB_POINTS = 44  # drawn this large: 112 px on 0.6 inch, about 180 dpi
THUMB_QUALITY = 70
ROWS_PER_TABLE = 40  # long batches are cut into tables of this many rows (faster to lay out)

BLUE, VERMILLION, GREY = colors.HexColor("#0072B2"), colors.HexColor("#D55E00"), \
    colors.HexColor("#6B6B6B")
TEXT, TEXT_GREY, AMBER = colors.HexColor("#1E1E1E"), colors.HexColor("#505050"), \
    colors.HexColor("#8A5300")
BANNER_BG, BANNER_TEXT = colors.HexColor("#FFF1DB"), colors.HexColor("#6A3000")
RULE = colors.HexColor("#C8C8C4")
PURPLE = colors.HexColor("#5E3C8E")  # referred: apart from both classes' colours, and its shape
VERDICT_COLOURS = {Outcome.PNEUMONIA: colors.HexColor("#A94800"),
                   Outcome.NORMAL: colors.HexColor("#005A8F"), Outcome.REFER: PURPLE,
                   Outcome.WITHHELD: TEXT_GREY, Outcome.UNREADABLE: TEXT_GREY}

_BASE = ParagraphStyle("base", fontName="Helvetica", fontSize=9.5, leading=12.5, textColor=TEXT)
STYLES = {
    "base": _BASE,
    "small": ParagraphStyle("small", parent=_BASE, fontSize=8, leading=10, textColor=TEXT_GREY),
    "title": ParagraphStyle("title", parent=_BASE, fontName="Helvetica-Bold", fontSize=16,
                            leading=20),
    "created": ParagraphStyle("created", parent=_BASE, alignment=TA_RIGHT, textColor=TEXT_GREY),
    "heading": ParagraphStyle("heading", parent=_BASE, fontName="Helvetica-Bold", fontSize=11,
                              leading=14, spaceBefore=10, spaceAfter=4),
    "banner": ParagraphStyle("banner", parent=_BASE, fontName="Helvetica-Bold", fontSize=10,
                             textColor=BANNER_TEXT),
    "file": ParagraphStyle("file", parent=_BASE, fontName="Helvetica-Bold", fontSize=11,
                           leading=14),
    "verdict": ParagraphStyle("verdict", parent=_BASE, fontName="Helvetica-Bold", fontSize=18,
                              leading=22),
    "key": ParagraphStyle("key", parent=_BASE, fontSize=8.5, textColor=TEXT_GREY),
    "cell": ParagraphStyle("cell", parent=_BASE, fontSize=8.5, leading=10.5),
    "cell_bold": ParagraphStyle("cell_bold", parent=_BASE, fontName="Helvetica-Bold",
                                fontSize=8.5, leading=10.5),
}


MAX_TEXT = 1000  # characters of one text: the longest sentence we print is about 350
FALLBACKS = {"→": "->", "←": "<-", "↑": "^", "↓": "v", "⇒": "=>", "≥": ">=", "≤": "<=",
             "≠": "!=", "≈": "~", "−": "-", "✓": "v", "✗": "x", "′": "'", "″": '"',
             "\u2009": " ", "\u202f": " "}


def writable(text: object) -> str:
    """``text`` as the built-in fonts can write it (WinAnsi, cp1252), shortened to
    ``MAX_TEXT`` characters with an ellipsis: the one place every PDF text passes."""
    text = str(text)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT - 1] + "…"
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        return "".join(_writable_char(char) for char in text)


def _writable_char(char: str) -> str:
    try:
        char.encode("cp1252")
        return char
    except UnicodeEncodeError:
        pass
    if char in FALLBACKS:
        return FALLBACKS[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char)
                   if not unicodedata.combining(c))
    try:
        return base.encode("cp1252").decode("cp1252") if base else "?"
    except UnicodeEncodeError:
        return "?"


def pdf_text(text: str) -> str:
    """``text`` for a Paragraph: ``writable``, markup characters escaped."""
    return escape(writable(text))


def _p(text: str, style: str = "base", colour=None) -> Paragraph:
    body = pdf_text(text).replace("\n", "<br/>")
    if colour is not None:
        body = f'<font color="{colour.hexval()}">{body}</font>'
    return Paragraph(body, STYLES[style])


class Mark(Flowable):
    """A verdict's or a scope's shape, drawn: triangle with "!" (PNEUMONIA), ringed dot
    (NORMAL), half-filled circle (REFER, as the window's "◐"), struck circle (no verdict, not a
    chest X-ray), cross (error), diamond (unusual),
    tick (in scope), hollow circle (not checked), warning triangle (the disclaimer)."""

    def __init__(self, kind: str | None, size: float = 12) -> None:
        super().__init__()
        self.kind, self.size = kind, size
        self.width = self.height = size

    def draw(self) -> None:
        c, s, m = self.canv, self.size, self.size * 0.08
        c.saveState()
        c.setLineWidth(max(1.0, s * 0.11))
        kind = self.kind
        if kind in (Outcome.PNEUMONIA, "warning"):
            c.setFillColor(VERMILLION if kind == Outcome.PNEUMONIA else AMBER)
            path = c.beginPath()
            path.moveTo(s / 2, s - m)
            path.lineTo(s - m, m)
            path.lineTo(m, m)
            path.close()
            c.drawPath(path, stroke=0, fill=1)
            c.setStrokeColor(colors.white)
            c.setFillColor(colors.white)
            c.line(s / 2, s * 0.62, s / 2, s * 0.34)
            c.circle(s / 2, s * 0.2, s * 0.055, stroke=0, fill=1)
        elif kind == Outcome.REFER:
            r = s / 2 - 1.5 * m
            c.setFillColor(PURPLE)
            c.wedge(s / 2 - r, s / 2 - r, s / 2 + r, s / 2 + r, 90, 180, stroke=0, fill=1)
            c.setStrokeColor(PURPLE)
            c.circle(s / 2, s / 2, r, stroke=1, fill=0)
        elif kind == Outcome.NORMAL:
            c.setFillColor(BLUE)
            c.circle(s / 2, s / 2, s / 2 - m, stroke=0, fill=1)
            c.setFillColor(colors.white)
            c.circle(s / 2, s / 2, s * 0.13, stroke=0, fill=1)
        elif kind in (Outcome.WITHHELD, "not_chest_xray"):
            c.setStrokeColor(GREY)
            c.circle(s / 2, s / 2, s / 2 - 2 * m, stroke=1, fill=0)
            c.line(s * 0.25, s * 0.25, s * 0.75, s * 0.75)
        elif kind == "unusual":
            c.setFillColor(AMBER)
            path = c.beginPath()
            path.moveTo(s / 2, s - m)
            path.lineTo(s - m, s / 2)
            path.lineTo(s / 2, m)
            path.lineTo(m, s / 2)
            path.close()
            c.drawPath(path, stroke=0, fill=1)
        elif kind == "in_scope":
            c.setStrokeColor(TEXT_GREY)
            c.setLineWidth(max(1.2, s * 0.14))
            path = c.beginPath()
            path.moveTo(s * 0.15, s * 0.5)
            path.lineTo(s * 0.42, s * 0.22)
            path.lineTo(s * 0.88, s * 0.8)
            c.drawPath(path, stroke=1, fill=0)
        elif kind == "unchecked":
            c.setStrokeColor(GREY)
            c.circle(s / 2, s / 2, s / 2 - 2 * m, stroke=1, fill=0)
        elif kind == Outcome.UNREADABLE:
            c.setStrokeColor(GREY)
            c.line(m * 2, m * 2, s - m * 2, s - m * 2)
            c.line(m * 2, s - m * 2, s - m * 2, m * 2)
        c.restoreState()


class Marked(Flowable):
    """A mark beside a paragraph, in one table cell."""

    GAP = 4

    def __init__(self, kind: str | None, paragraph: Paragraph, size: float = 10) -> None:
        super().__init__()
        self.mark, self.paragraph = Mark(kind, size), paragraph

    def wrap(self, available_width, available_height):
        w, h = self.paragraph.wrap(available_width - self.mark.size - self.GAP, available_height)
        self.width, self.height = w + self.mark.size + self.GAP, max(h, self.mark.size)
        return self.width, self.height

    def draw(self) -> None:
        top = self.height
        self.mark.drawOn(self.canv, 0, top - self.mark.size - 1)
        self.paragraph.drawOn(self.canv, self.mark.size + self.GAP, top - self.paragraph.height)


# --- pictures ----------------------------------------------------------------------------------


def jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(
        buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def _picture(data: bytes, size: tuple[int, int], max_width: float,
             max_height: float) -> PdfImage:
    scale = min(max_width / size[0], max_height / size[1])
    return PdfImage(io.BytesIO(data), size[0] * scale, size[1] * scale)


def read_thumbnail(entry: Entry) -> tuple[bytes | None, tuple[int, int], str]:
    """A small JPEG of the file read again (rows keep no images), or why there is none:
    ``"missing"`` (unreadable, gone) or ``"changed"`` (no longer the image classified)."""
    if entry.verdict_kind == Outcome.UNREADABLE:
        return None, (0, 0), "missing"
    try:
        xray = read_again(entry.path, entry.fingerprint, THUMB_SIDE)
    except FileChangedError:
        return None, (0, 0), "changed"
    except ReadError as exc:
        log.info("No thumbnail for %s: %s", entry.path, exc)
        return None, (0, 0), "missing"
    return jpeg_bytes(xray.preview, THUMB_QUALITY), xray.preview.size, ""


# --- page furniture ----------------------------------------------------------------------------


def _canvas_maker(disclaimer: str):
    """A canvas that writes, at the foot of every page, the disclaimer and "Page n of N" (known
    once every page is laid out)."""

    class FootedCanvas(pdfcanvas.Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont("Helvetica", 7.5)
                self.setFillColor(TEXT_GREY)
                self.drawString(MARGIN, 24, pdf_text_plain(disclaimer))
                self.drawRightString(PAGE[0] - MARGIN, 24, pdf_text_plain(
                    page_text(number, total)))
                self.setStrokeColor(RULE)
                self.line(MARGIN, 34, PAGE[0] - MARGIN, 34)
                super().showPage()
            super().save()

    return FootedCanvas


def pdf_text_plain(text: str) -> str:
    """``text`` for the canvas's own drawString (no markup): ``writable``."""
    return writable(text)


def _header(title: str, created: str, disclaimer: str) -> list:
    top = Table([[_p(title, "title"), _p(created, "created")]],
                colWidths=[WIDTH * 0.68, WIDTH * 0.32])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                             ("LEFTPADDING", (0, 0), (-1, -1), 0),
                             ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    banner = Table([[Mark("warning", 12), _p(disclaimer, "banner")]],
                   colWidths=[22, WIDTH - 22])
    banner.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), BANNER_BG),
                                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                ("TOPPADDING", (0, 0), (-1, -1), 5),
                                ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]))
    return [top, Spacer(1, 6), banner, Spacer(1, 4)]


def _pairs(rows: list[tuple[str, str]], columns: int = 1) -> Table:
    """(label, value) rows as a grid: ``columns`` pairs a line."""
    cells, line = [], []
    for label, value in rows:
        line += [_p(label, "key"), _p(value, "cell")]
        if len(line) == 2 * columns:
            cells.append(line)
            line = []
    if line:
        cells.append(line + [""] * (2 * columns - len(line)))
    share = WIDTH / columns
    widths = [share * 0.36, share * 0.64] * columns if columns > 1 else [130, WIDTH - 130]
    table = Table(cells or [["", ""]], colWidths=widths)
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 1),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return table


def _build(story: list, disclaimer: str, title: str) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN + 10,
                            title=pdf_text_plain(title), author="cxr-pneumonia",
                            creator="cxr-pneumonia", subject=pdf_text_plain(disclaimer))
    doc.build(story, canvasmaker=_canvas_maker(disclaimer))
    return buffer.getvalue()


# --- the two reports ---------------------------------------------------------------------------


def single_pdf(report: SingleReport) -> bytes:
    """One image's report: the picture as shown, the result, the threshold, the file's facts,
    the model."""
    story = _header(report.title, report.created, report.disclaimer)
    e = report.entry
    if report.image is not None:
        image = report.image
        story.append(_picture(jpeg_bytes(image, IMAGE_QUALITY), image.size, WIDTH,
                              IMAGE_MAX_HEIGHT))
        if report.image_caption:
            story.append(_p(report.image_caption, "small"))
        if report.heatmap_shown:
            strip = legend_strip(240, 10)
            legend = Table([[_p(report.headings["low"], "small"),
                             _picture(jpeg_bytes(strip, 92), strip.size, 120, 5),
                             _p(report.headings["high"], "small"),
                             _p(report.heatmap_caption, "small")]],
                           colWidths=[28, 126, 30, WIDTH - 184])
            legend.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                        ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
            story.append(legend)
    else:
        story.append(_p(report.image_note, "small"))
    story += [_p(report.headings["result"], "heading"), _p(e.name, "file")]
    verdict = Table([[Mark(e.verdict_kind, 18),
                      _p(e.verdict, "verdict", VERDICT_COLOURS[e.verdict_kind])]],
                    colWidths=[26, WIDTH - 26])
    verdict.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story.append(verdict)
    if e.result_line:
        story.append(_p(e.result_line))
    if e.scope_kind is not None:
        story.append(Marked(e.scope_kind, _p(e.scope), size=10))
    elif e.problem:
        story.append(_p(e.problem))
    if e.identifiers:
        story.append(_p(e.identifiers, "small"))
    story += [_p(report.headings["threshold"], "heading"), _pairs(report.threshold)]
    if report.facts:
        story += [_p(report.headings["facts"], "heading"), _pairs(report.facts, columns=2)]
    story.append(KeepTogether([_p(report.headings["model"], "heading"), _pairs(report.model)]))
    return _build(story, report.disclaimer, report.title)


def batch_pdf(report: BatchReport, *, progress: Callable[[int, int], None] | None = None,
              cancel: threading.Event | None = None) -> bytes | None:
    """The batch report: summary, then one row per file in the report's order, each file read
    again for its thumbnail (``progress(done, total)`` after each). None once ``cancel`` is
    set."""
    total = len(report.entries)
    thumbs = []
    for done, entry in enumerate(report.entries, start=1):
        if cancel is not None and cancel.is_set():
            return None
        thumbs.append(read_thumbnail(entry))
        if progress is not None:
            progress(done, total)
    if cancel is not None and cancel.is_set():
        return None
    story = _header(report.title, report.created, report.disclaimer)
    story += [_p(report.headings["summary"], "heading"), _p(report.summary)]
    if report.scope_note:
        story.append(Marked("unchecked", _p(report.scope_note), size=10))
    story += [Spacer(1, 4), _pairs(report.counts, columns=2), Spacer(1, 4),
              _pairs(report.threshold), _pairs(report.model),
              _p(report.headings["files"], "heading")]
    widths = [THUMB_POINTS + 8, WIDTH * 0.28, WIDTH * 0.17, WIDTH * 0.14]
    widths.append(WIDTH - sum(widths))
    header = [_p(text, "cell_bold") for text in report.columns]
    rows = [_row(entry, thumb, report) for entry, thumb in zip(report.entries, thumbs,
                                                               strict=True)]
    for start in range(0, max(len(rows), 1), ROWS_PER_TABLE):
        table = Table([header, *rows[start:start + ROWS_PER_TABLE]], colWidths=widths,
                      repeatRows=1)
        table.setStyle(TableStyle([
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.4, RULE),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EFEFEC")),
            ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("ALIGN", (3, 0), (3, -1), "RIGHT"),
        ]))
        story.append(table)
    return _build(story, report.disclaimer, report.title)


def _row(entry: Entry, thumb: tuple[bytes | None, tuple[int, int], str],
         report: BatchReport) -> list:
    data, size, why = thumb
    picture = (_picture(data, size, THUMB_POINTS, THUMB_POINTS) if data is not None
               else _p(report.notes[why or "missing"], "small"))
    name = [_p(entry.name, "cell_bold")]
    if entry.identifiers:
        name.append(_p(entry.identifiers, "small"))
    verdict = Marked(entry.verdict_kind,
                     _p(entry.verdict, "cell_bold", VERDICT_COLOURS[entry.verdict_kind]))
    scope = (Marked(entry.scope_kind, _p(entry.scope, "small"), size=8)
             if entry.scope_kind is not None else _p(entry.problem, "small"))
    return [picture, name, verdict, _p(entry.probability, "cell"), scope]


# --- writing -----------------------------------------------------------------------------------


def write_pdf(path: Path, data: bytes) -> None:
    """Write atomically; a full disk is ``DiskFullError``, any other failure ``WriteError``."""
    from desktop.atomicio import atomic_write_bytes

    path = Path(path)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        log.exception("Cannot write %s", path)
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise DiskFullError(name=path.name) from exc
        raise WriteError(name=path.name) from exc


def save_single(path: Path, report: SingleReport) -> int:
    """Lay out and write one image's report; returns its size in bytes."""
    data = single_pdf(report)
    write_pdf(path, data)
    return len(data)


def save_batch(path: Path, report: BatchReport, *,
               progress: Callable[[int, int], None] | None = None,
               cancel: threading.Event | None = None) -> int | None:
    """Lay out and write a batch report; its size in bytes, or None when cancelled (nothing
    is written then)."""
    data = batch_pdf(report, progress=progress, cancel=cancel)
    if data is None:
        return None
    write_pdf(path, data)
    return len(data)
