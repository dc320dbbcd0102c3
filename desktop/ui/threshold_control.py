"""The decision threshold panel: the slider, the model card's operating points and their
figures, what P means, and, while a refer band decides, the band in the slider's place with
who decides and how to change that (``BAND_DECIDES``, ``BAND_OFF``). It shows a policy and
reports what the user did; the owner changes the policy.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from desktop.engine.threshold import format_threshold
from desktop.errors import N_
from desktop.i18n import _
from desktop.reports.labels import operating_point_label, point_figures_text
from desktop.reports.wording import band_promise, p_meaning
from desktop.ui.style import TEXT_GREY
from desktop.ui.texts import Texts
from desktop.ui.verdict_marks import BandBar

BAND_DECIDES = N_("The refer band decides. To decide with the threshold slider and presets "
                  "instead, turn off View > Refer band.")
BAND_OFF = N_("The refer band is off: the threshold alone decides. View > Refer band turns it "
              "back on.")


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
