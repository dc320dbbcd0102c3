"""The window's building blocks: each widget draws what it is given and knows nothing of the model.

Colours are the Okabe-Ito palette (told apart with every common colour-vision deficiency):
blue for NORMAL, vermillion for PNEUMONIA, reddish purple for REFER (inside the refer band).
Colour never carries meaning alone: each outcome also has its own word and its own shape (a
circle for NORMAL, a triangle for PNEUMONIA, a half-filled circle for REFER, a cross for an
error), the PNEUMONIA and REFER parts of the probability bar are hatched (two patterns), and the
refer band is a bracket between two ticks.

Every text a widget shows is registered in a ``Texts`` registry with its msgid, so one call
to ``Texts.relabel()`` re-labels everything after a language switch.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk

from PIL import Image, ImageTk

from desktop import i18n
from desktop.engine.threshold import format_threshold
from desktop.errors import N_, Sentence
from desktop.i18n import _
from desktop.reports.image_info import info_rows
from desktop.reports.labels import operating_point_label, point_figures_text
from desktop.reports.overlay import legend_strip
from desktop.reports.wording import VERDICT_MARKS, band_promise, p_meaning
from desktop.ui.text_fit import is_clipped, width_for
from desktop.ui.viewer import ZOOM_STEP, Picture, Viewer

BLUE = "#0072B2"  # NORMAL
VERMILLION = "#D55E00"  # PNEUMONIA
GREY = "#6B6B6B"  # error / nothing to show
PURPLE = "#CC79A7"  # REFER: Okabe-Ito's reddish purple
TEXT_BLUE = "#005A8F"  # darker variants for text on white (contrast >= 4.5:1)
TEXT_VERMILLION = "#A94800"
TEXT_GREY = "#505050"
TEXT_PURPLE = "#8C3D70"  # REFER on white and on the panel (contrast >= 6:1)
TEXT_AMBER = "#8A5300"  # unusual: a dark orange-brown, readable on the panel (never alone)
BANNER_BG = "#FFF1DB"
PANEL_BG = "#F4F4F2"

def fit_columns(tree: ttk.Treeview, minimum: int = 60) -> int:
    """Each column of ``tree`` as wide as its heading (in the heading's font) and its cells need
    in the current language: call again after a language switch or new rows. Returns the
    columns' total width."""
    style = ttk.Style(tree)
    heading = tkfont.nametofont(style.lookup("Treeview.Heading", "font") or "TkHeadingFont")
    cell = tkfont.nametofont(style.lookup("Treeview", "font") or "TkDefaultFont")
    for column in tree["columns"]:
        need = max(width_for([str(tree.heading(column, "text"))], heading.measure, padding=16,
                             minimum=minimum),
                   width_for([str(tree.set(item, column)) for item in tree.get_children()],
                             cell.measure, padding=16))
        tree.column(column, width=need, minwidth=need)
    return sum(int(tree.column(column, "width")) for column in tree["columns"])


BAND_DECIDES = N_("The refer band decides. To decide with the threshold slider and presets "
                  "instead, turn off View > Refer band.")
BAND_OFF = N_("The refer band is off: the threshold alone decides. View > Refer band turns it "
              "back on.")
HEATMAP_CAPTION = N_("Grad-CAM: the regions that raised P(pneumonia) most. It shows where the "
                     "model looked, not where the disease is.")

class Texts:
    """Which widget shows which msgid; ``relabel()`` re-translates them all at once."""

    def __init__(self) -> None:
        self._setters: list[tuple[object, Callable[[], None]]] = []

    def _add(self, owner: object, setter: Callable[[], None]) -> None:
        self._setters.append((owner, setter))
        setter()

    def widget(self, widget: tk.Misc, msgid: str, option: str = "text", **params: object):
        """``widget[option]`` shows ``_(msgid).format(**params)`` (a ``Sentence`` parameter, such
        as a class's name, in the language shown); returns the widget."""
        text = Sentence(msgid, **params)
        self._add(widget, lambda: widget.configure({option: text.user_message()}))
        return widget

    def menu(self, menu: tk.Menu, index: int, msgid: str) -> None:
        self._add(menu, lambda: menu.entryconfigure(index, label=_(msgid)))

    def heading(self, tree: ttk.Treeview, column: str, msgid: str, **params: object) -> None:
        text = Sentence(msgid, **params)
        self._add(tree, lambda: tree.heading(column, text=text.user_message()))

    def title(self, window: tk.Wm, msgid: str) -> None:
        self._add(window, lambda: window.title(_(msgid)))

    def choices(self, box: ttk.Combobox, msgids: list[str]) -> None:
        """A read-only combobox's options; the one chosen stays chosen in the new language."""

        def setter() -> None:
            chosen = box.current()
            box.configure(values=[_(msgid) for msgid in msgids])
            if chosen >= 0:
                box.current(chosen)

        self._add(box, setter)

    def call(self, owner: object, refresh: Callable[[], None]) -> None:
        """Any other text: ``refresh()`` rebuilds it in the current language."""
        self._add(owner, refresh)

    def forget(self, owner: object) -> None:
        """Drop the entries of a widget that is going away (a closed dialog)."""
        self._setters = [(o, s) for o, s in self._setters if o is not owner]

    def follow_language(self, window: tk.Misc) -> None:
        """Relabel after every language switch while ``window`` is open (a window of its own:
        the main window's listener does not reach it). However the window goes away, its
        listener goes with it, so a closed window's texts are never touched."""

        def changed(_code: str) -> None:
            self.relabel()

        def destroyed(event: tk.Event) -> None:
            if event.widget is window:
                i18n.remove_listener(changed)

        i18n.add_listener(changed)
        window.bind("<Destroy>", destroyed, add="+")

    def relabel(self) -> None:
        """Every text again. A refresh may say a text anew (``forget`` then register): what it
        registers stands, and what it forgot is not set again on the way."""
        for entry in list(self._setters):
            if entry not in self._setters:
                continue
            try:
                entry[1]()
            except tk.TclError:  # destroyed widget: forget it
                self._setters = [e for e in self._setters if e is not entry]


class ReadOnlyDialog(tk.Toplevel):
    """A dialog with one scrollable read-only view and a Close button, filled again in the
    current language on a switch. Subclasses make the view (``make_view``) and ``fill`` it."""

    def __init__(self, master: tk.Misc, texts: Texts, title: str, geometry: str) -> None:
        super().__init__(master)
        self._texts = texts
        self.transient(master)
        self.geometry(geometry)
        texts.title(self, title)
        frame = ttk.Frame(self, padding=12)
        frame.pack(fill="both", expand=True)
        view = self.make_view(frame)
        scroll = ttk.Scrollbar(frame, orient="vertical", command=view.yview)
        view.configure(yscrollcommand=scroll.set)
        view.grid(row=0, column=0, sticky="nsew")
        scroll.grid(row=0, column=1, sticky="ns")
        close = texts.widget(ttk.Button(frame, command=self.close), N_("Close"))
        close.grid(row=1, column=0, columnspan=2, sticky="e", pady=(10, 0))
        frame.rowconfigure(0, weight=1)
        frame.columnconfigure(0, weight=1)
        texts.call(self, self.fill)
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.bind("<Escape>", lambda _e: self.close())
        close.focus_set()

    def make_view(self, frame: ttk.Frame) -> tk.Widget:
        raise NotImplementedError

    def fill(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._texts.forget(self)
        self.destroy()


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


class InfoPanel(ttk.Frame):
    """The collapsible "Image information" panel: a header that opens and closes it, and the
    (label, value) rows it is given, two pairs a line."""

    COLUMNS = 2

    def __init__(self, master: tk.Misc, texts: Texts, variable: tk.BooleanVar,
                 on_toggle: Callable[[], None]) -> None:
        super().__init__(master)
        self._variable, self._on_toggle = variable, on_toggle
        self.header = ttk.Button(self, style="Info.Toolbutton", command=self._clicked)
        self.header.pack(anchor="w")
        self.body = ttk.Frame(self, padding=(14, 2, 0, 0))
        self._labels: list[ttk.Label] = []
        self.rows: list[tuple[str, str]] = []
        self._wrap = 200
        texts.call(self, self._refresh_header)
        self.sync()

    def _clicked(self) -> None:
        self._variable.set(not self._variable.get())
        self._on_toggle()

    def _refresh_header(self) -> None:
        arrow = "▾" if self._variable.get() else "▸"
        self.header.configure(text=f"{arrow} " + _("Image information"))

    def sync(self) -> None:
        """Open or close to match the variable."""
        self._refresh_header()
        if self._variable.get():
            self.body.pack(fill="x")
        else:
            self.body.pack_forget()

    def show_facts(self, selected: bool, source: dict | None, show_identifiers: bool) -> None:
        """The selected file's facts (identifiers only when the user has turned them on)."""
        if not selected:
            self.show([], _("No image selected."))
            return
        self.show(info_rows(source, show_identifiers=show_identifiers),
                  _("The file could not be read, so it says nothing about itself."))

    def show(self, rows: list[tuple[str, str]], empty: str = "") -> None:
        """Show ``rows``; with none, the sentence ``empty`` (why there is nothing to show).
        The labels are kept and re-used (a language switch re-labels them in place)."""
        rows = rows or [(empty, "")]
        if rows == self.rows:
            return
        self.rows = rows
        while len(self._labels) < 2 * len(rows):
            self._labels += [ttk.Label(self.body, style="Small.TLabel"),
                             ttk.Label(self.body, wraplength=self._wrap)]
        for i, (key, shown) in enumerate(zip(self._labels[::2], self._labels[1::2],
                                             strict=True)):
            if i >= len(rows):
                for label in (key, shown):
                    label.configure(text="")
                    label.grid_remove()
                continue
            line, column = divmod(i, self.COLUMNS)
            key.configure(text=rows[i][0])
            shown.configure(text=rows[i][1])
            key.grid(row=line, column=2 * column, sticky="nw", padx=(0, 6))
            shown.grid(row=line, column=2 * column + 1, sticky="nw", padx=(0, 14))
        for column in (1, 3):
            self.body.columnconfigure(column, weight=1)

    def wrap(self, width: int) -> None:
        """Values wrap at their share of ``width``, whatever the pane's size."""
        self._wrap = max(80, width // self.COLUMNS - 150)
        for label in self._labels[1::2]:
            label.configure(wraplength=self._wrap)

    def text(self) -> str:
        """Every row as "label: value" lines (what a test reads)."""
        return "\n".join(f"{name}: {value}" for name, value in self.rows)


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


class ThresholdControl(ttk.LabelFrame):
    """The decision threshold on screen: a 0-1 slider and the model card's operating points.

    It shows a ``ThresholdPolicy`` (``show``) and reports what the user did: ``on_slide(value)``
    (the raw slider value), ``on_step(delta)`` (arrow keys), ``on_preset(name)`` (a preset, or
    ``""`` for "Custom"). The owner applies that to the policy and shows it again. The value
    label shows the exact threshold (0.2822 for a preset); only the slider's knob is rounded.

    While a refer band decides (``show(..., band=)``), the panel draws it (``BandBar``) in the
    slider's place with what it guarantees (``band_promise``), and a sentence says the slider
    and presets wait and how to turn the band off: they are neither shown doing nothing nor
    gone without a word (and an 800x600 screen keeps room for the table). A band the user
    turned off (``band_off``) is named too, with how to turn it on again.
    """

    def __init__(
        self, master: tk.Misc, texts: Texts, *, on_slide: Callable[[float], None],
        on_step: Callable[[float], None], on_preset: Callable[[str], None],
    ) -> None:
        super().__init__(master, padding=(10, 6))
        texts.widget(self, N_("Decision threshold"))
        self._on_slide, self._on_step, self._on_preset = on_slide, on_step, on_preset
        self._points: list[dict] = []
        self._card: dict | None = None
        self._site = None  # the site profile in force (a SiteCalibration), if any
        self._buttons: list[tuple[ttk.Radiobutton, str]] = []
        self._quiet = False
        self._threshold: float | None = None  # none until the model's card gives one
        self._band = None  # the refer band deciding now (a ReferBand), if any
        self._band_off = False  # there is a band, and the user turned it off
        self.value = tk.DoubleVar(self, 0.5)
        self.preset = tk.StringVar(self, "")

        self.scale = ttk.Scale(
            self, from_=0.0, to=1.0, variable=self.value, command=self._slid
        )
        self.scale.grid(row=0, column=0, columnspan=2, sticky="ew")
        self.value_label = ttk.Label(self, width=6, anchor="e", font="TkHeadingFont")
        self.value_label.grid(row=0, column=2, padx=(8, 0))
        self.presets = ttk.Frame(self)
        self.presets.grid(row=1, column=0, columnspan=3, sticky="ew", pady=(6, 0))
        self.band_bar = BandBar(self)
        self.band_bar.grid(row=2, column=0, columnspan=3, sticky="ew", pady=(6, 0))
        self.band_bar.grid_remove()
        self.detail = ttk.Label(self, style="Small.TLabel", wraplength=460, justify="left")
        # "ew": as wide as the panel, so that text drawn wider than Tk measured it (under Wine)
        # still shows; a label as wide as its measured lines cut their last letters.
        self.detail.grid(row=3, column=0, columnspan=3, sticky="ew", pady=(4, 0))
        # Who decides: the band (and how to turn it off), or the threshold with the band off.
        self.band_note = ttk.Label(self, style="Note.TLabel", wraplength=460, justify="left")
        self.band_note.grid(row=4, column=0, columnspan=3, sticky="ew", pady=(2, 0))
        self.band_note.grid_remove()
        self.meaning = ttk.Label(self, style="Small.TLabel", wraplength=460, justify="left")
        self.meaning.grid(row=5, column=0, columnspan=3, sticky="ew", pady=(2, 0))
        self.bind("<Configure>", self._wrap, add="+")
        self.columnconfigure(0, weight=1)
        self.scale.bind("<ButtonRelease-1>", lambda _e: self._slid(None))
        # ttk's own arrow keys step by 1, the whole range here: step by 0.01 (0.1 with Shift)
        for key, step in (("Left", -0.01), ("Right", 0.01), ("Down", -0.01), ("Up", 0.01)):
            self.scale.bind(f"<{key}>", lambda _e, d=step: self._stepped(d))
            self.scale.bind(f"<Shift-{key}>", lambda _e, d=10 * step: self._stepped(d))
        texts.call(self, self.refresh_texts)

    def _wrap(self, event) -> None:
        """The figures and the sentence under them wrap at the panel's width, with a few pixels
        to spare: under Wine Tk draws text wider than it measures ("...como esta mostrar")."""
        for label in (self.detail, self.band_note, self.meaning):
            label.configure(wraplength=max(200, event.width - 36))

    def set_operating_points(self, points: list[dict], card: dict | None = None,
                             site=None) -> None:
        """Make one radio button per operating point of the model card, plus "Custom"; the
        card gives each point's test and validation figures, the site profile in force
        (``site``, the session's ``SiteCalibration``) its own point's and what P means."""
        self._card, self._site = card, site
        for child in self.presets.winfo_children():
            child.destroy()
        self._points = [p for p in points if "threshold" in p and "name" in p]
        self._buttons = []
        for column, point in enumerate([*self._points, {"name": ""}]):
            button = ttk.Radiobutton(
                self.presets, variable=self.preset, value=point["name"],
                command=lambda: self._on_preset(self.preset.get()),
            )
            button.grid(row=0, column=column, sticky="w", padx=(0, 14))
            button.state(["disabled"] if self._band is not None else ["!disabled"])
            self._buttons.append((button, point["name"]))
        self.refresh_texts()

    def show(self, threshold: float, preset: str | None, band=None,
             band_off: bool = False) -> None:
        """Show ``threshold`` (and select ``preset``) without reporting it as a user's change;
        ``band``: the refer band deciding instead (the slider and presets wait), ``band_off``:
        the model or profile has a band the user turned off."""
        self._quiet = True
        try:
            self._threshold = float(threshold)
            self._band, self._band_off = band, band_off and band is None
            self.value.set(self._threshold)
            waiting = ["disabled"] if band is not None else ["!disabled"]
            self.scale.state(waiting)
            for button, _name in self._buttons:
                button.state(waiting)
            self.preset.set(preset or "")
        finally:
            self._quiet = False
        self.band_bar.show(band)
        for widget in (self.scale, self.value_label, self.presets, self.band_bar):
            if (widget is self.band_bar) == (band is not None):
                widget.grid()
            else:
                widget.grid_remove()
        self.refresh_texts()

    @property
    def band(self):
        """The refer band shown as deciding (None: the threshold decides)."""
        return self._band

    def threshold(self) -> float:
        """The threshold shown (exact, as the policy holds it)."""
        return self._threshold

    def _stepped(self, delta: float) -> str:
        if self._band is None:  # the band decides: the keys wait with the slider
            self._on_step(delta)
        return "break"

    def _slid(self, _value) -> None:
        if not self._quiet and self._band is None:
            self._on_slide(float(self.value.get()))

    def _point(self, name: str) -> dict | None:
        return next((p for p in self._points if p["name"] == name), None)

    def refresh_texts(self) -> None:
        # nothing until the model has loaded: "0.50" was no threshold of this model
        self.value_label.configure(text="" if self._threshold is None
                                   else format_threshold(self._threshold))
        for button, name in self._buttons:
            button.configure(text=operating_point_label(name) if name else _("Custom"))
        self.value_label.configure(foreground=TEXT_GREY if self._band is not None else "")
        self.band_bar.show(self._band)  # its values in the language's decimals ("0,15")
        self._show_band_note()
        point = self._point(self.preset.get())
        if self._band is not None:
            text = band_promise(self._band)
        elif point is None:
            text = _("Custom threshold: no validation figures for this value.")
            if not self._points:
                text = _("The operating points appear when the model has loaded.")
        else:
            text = point_figures_text(point, self._card, self._site)
        self.detail.configure(text=text)
        # what the number judged against the threshold is: the profile's, else the card's
        self.meaning.configure(text=p_meaning(self._card, self._site) if self._points else "")

    def fit(self, room: int) -> None:
        """Take at most ``room`` pixels of height where it can: the sentence on what P means
        goes first (an 800x600 screen with the band's promise in Spanish left the table one
        row), and comes back when there is room."""
        shown = bool(self.meaning.winfo_manager())
        need = self.winfo_reqheight() + (0 if shown else self.meaning.winfo_reqheight() + 2)
        if need <= room and not shown:
            self.meaning.grid()
        elif need > room and shown:
            self.meaning.grid_remove()

    def _show_band_note(self) -> None:
        """Who decides, when a band is in play: the band (and how to turn it off), or the
        threshold alone while the band is off (and how to turn it on)."""
        if self._band is not None:
            text = _(BAND_DECIDES)
        elif self._band_off:
            text = _(BAND_OFF)
        else:
            self.band_note.configure(text="")
            self.band_note.grid_remove()
            return
        self.band_note.configure(text=text)
        self.band_note.grid()


class CellTooltip:
    """The full text of a Treeview cell its column clips, shown under the pointer while it rests
    on that cell; nothing for a cell that fits."""

    def __init__(self, tree: ttk.Treeview) -> None:
        self.tree = tree
        self.window: tk.Toplevel | None = None
        self.cell: tuple[str, str] | None = None
        style = ttk.Style(tree)
        self.font = tkfont.nametofont(style.lookup("Treeview", "font") or "TkDefaultFont")
        tree.bind("<Motion>", self._moved, add="+")
        tree.bind("<Leave>", lambda _e: self.hide(), add="+")
        tree.bind("<ButtonPress>", lambda _e: self.hide(), add="+")

    def text_at(self, x: int, y: int) -> str | None:
        """The clipped cell text at (x, y) in the tree, or None (no cell, or it fits)."""
        row, column = self.tree.identify_row(y), self.tree.identify_column(x)
        if not row or not column.startswith("#") or column == "#0":
            return None
        index = int(column[1:]) - 1
        values = self.tree.item(row, "values")
        if index >= len(values):
            return None
        text = str(values[index])
        width = int(self.tree.column(column, "width"))
        return text if is_clipped(text, width, self.font.measure) else None

    def _moved(self, event) -> None:
        cell = (self.tree.identify_row(event.y), self.tree.identify_column(event.x))
        if cell == self.cell and self.window is not None:
            return
        self.hide()
        self.cell = cell
        text = self.text_at(event.x, event.y)
        if text:
            self.show(text, event.x_root + 12, event.y_root + 16)

    def show(self, text: str, x: int, y: int) -> None:
        self.window = tk.Toplevel(self.tree)
        self.window.wm_overrideredirect(True)
        tk.Label(self.window, text=text, justify="left", background="#FFFFE0", relief="solid",
                 borderwidth=1, wraplength=480, padx=4, pady=2).pack()
        self.window.wm_geometry(f"+{x}+{y}")

    def hide(self) -> None:
        if self.window is not None:
            self.window.destroy()
        self.window, self.cell = None, None


class ResultsTable(ttk.Frame):
    """The opened files: file, verdict, P(pneumonia), status. Click a heading to sort."""

    COLUMNS = ("file", "verdict", "p_pneumonia", "status")
    HEADINGS = {
        "file": N_("File"),
        "verdict": N_("Verdict"),
        "p_pneumonia": N_("P(pneumonia)"),
        "status": N_("Status"),
    }
    FILE_WIDTH, FILE_MIN = 215, 110

    def __init__(self, master: tk.Misc, texts: Texts, on_sort: Callable[[str], None]) -> None:
        super().__init__(master)
        self.tree = ttk.Treeview(
            self, columns=self.COLUMNS, show="headings", selectmode="browse", height=12
        )
        widths = {"file": self.FILE_WIDTH, "verdict": 130, "p_pneumonia": 140, "status": 225}
        for column in self.COLUMNS:
            anchor = "e" if column == "p_pneumonia" else "w"
            stretch = column in ("file", "status")
            self.tree.column(column, width=widths[column], anchor=anchor, stretch=stretch)
            self.tree.heading(column, command=lambda c=column: on_sort(c))
        scroll = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview)
        across = ttk.Scrollbar(self, orient="horizontal", command=self.tree.xview)
        self.tree.configure(yscrollcommand=scroll.set,
                            xscrollcommand=lambda a, b: self._scroll_across(across, a, b))
        self.tree.grid(row=0, column=0, sticky="nsew")
        scroll.grid(row=0, column=1, sticky="ns")
        across.grid(row=1, column=0, sticky="ew")  # long messages in a narrow window
        across.grid_remove()
        self.rowconfigure(0, weight=1)
        self.columnconfigure(0, weight=1)
        self.tree.tag_configure("PNEUMONIA", foreground=TEXT_VERMILLION)
        self.tree.tag_configure("NORMAL", foreground=TEXT_BLUE)
        self.tree.tag_configure("REFER", foreground=TEXT_PURPLE)
        self.tree.tag_configure("error", foreground=TEXT_GREY)
        self.tree.tag_configure("withheld", foreground=TEXT_GREY)
        self.sorted_by: tuple[str, bool] | None = None  # (column, descending)
        self.tooltip = CellTooltip(self.tree)  # cells a narrow column clips
        self.tree.bind("<Configure>", lambda e: self._narrow_file_column(e.width), add="+")
        texts.call(self, self.refresh_headings)

    def _narrow_file_column(self, width: int) -> None:
        """In a narrow table (an 800x600 screen) the file column gives up width, down to
        ``FILE_MIN``, so the verdict and P are seen whole ("0." was all P showed); the status
        column scrolls."""
        shown = sum(int(self.tree.column(c, "width")) for c in ("verdict", "p_pneumonia"))
        self.tree.column("file", width=max(self.FILE_MIN, min(self.FILE_WIDTH, width - shown)))

    @staticmethod
    def _scroll_across(bar: ttk.Scrollbar, first: str, last: str) -> None:
        """The horizontal scrollbar only when the columns do not fit."""
        if float(first) <= 0.0 and float(last) >= 1.0:
            bar.grid_remove()
        else:
            bar.grid()
        bar.set(first, last)

    def put(self, iid: str, values: tuple[str, str, str, str], tag: str, index: str = "end"):
        """Insert or update one row."""
        if self.tree.exists(iid):
            self.tree.item(iid, values=values, tags=(tag,))
        else:
            self.tree.insert("", index, iid=iid, values=values, tags=(tag,))

    def order(self, iids: list[str]) -> None:
        for position, iid in enumerate(iids):
            self.tree.move(iid, "", position)

    def refresh_headings(self) -> None:
        """Translated headings; the sorted column carries ▲ (ascending) or ▼ (descending)."""
        for column in self.COLUMNS:
            arrow = ""
            if self.sorted_by and self.sorted_by[0] == column:
                arrow = " ▼" if self.sorted_by[1] else " ▲"
            self.tree.heading(column, text=_(self.HEADINGS[column]) + arrow)
