"""The result pane, right of the table: the selected image in the viewer (with its heatmap),
its verdict, the sentence under it, its scope, the probability bar, and the view commands
(zoom, pan, window, invert, opacity). It draws a result in the words of
``desktop.reports.wording``; what to show is the state's (``desktop.ui.state``) to decide.
"""

from __future__ import annotations

import logging
import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk

from PIL import Image, ImageOps

from desktop import i18n
from desktop.engine.results import Result
from desktop.engine.scope import COLOUR_FRACTION, IN_SCOPE, NOT_CHEST_XRAY, UNUSUAL
from desktop.engine.session import Session, withheld
from desktop.errors import N_, UserError
from desktop.i18n import _
from desktop.reports.wording import describe
from desktop.ui.image_canvas import HeatmapLegend, ImageViewer
from desktop.ui.large_view import LargeImage
from desktop.ui.scrolled import Scrolled
from desktop.ui.style import TEXT_AMBER, TEXT_BLUE, TEXT_GREY, TEXT_PURPLE, TEXT_VERMILLION
from desktop.ui.text_fit import elide
from desktop.ui.texts import Texts
from desktop.ui.verdict_marks import ProbabilityBar, VerdictIcon
from desktop.ui.viewer import ZOOM_STEP, Picture

LEGEND_ROW = 9  # the heatmap legend's row in the pane
TEXTS_ROW = 5  # the row of the sentences under the verdict (they scroll when short of room)
REPORT_RESOLUTION = 2  # a report's picture has twice the pixels of the view on screen
VERDICT_COLOURS = {"NORMAL": TEXT_BLUE, "PNEUMONIA": TEXT_VERMILLION, "REFER": TEXT_PURPLE,
                   None: TEXT_GREY}
VERDICT_STYLES = {"REFER": "Refer.Verdict.Panel.TLabel"}  # else Verdict.Panel.TLabel
SCOPE_COLOURS = {IN_SCOPE: TEXT_GREY, UNUSUAL: TEXT_AMBER, NOT_CHEST_XRAY: TEXT_GREY,
                 None: TEXT_GREY}
EMPTY_HINT = N_("Open or drop chest X-ray images here.\n"
                "Files and folders: JPEG, PNG, BMP, TIFF, DICOM.")

log = logging.getLogger(__name__)


class ResultPane:
    """The widgets of the pane, built into ``pane``; ``refresh`` draws a result."""

    def __init__(self, pane: ttk.Frame, texts: Texts, *, show_heatmap: tk.BooleanVar,
                 heat_opacity: tk.DoubleVar, invert_view: tk.BooleanVar,
                 window_preset: tk.StringVar, file_windows: tuple[tk.Menu, tuple[tk.Menu, int]],
                 on_heatmap: Callable[[], None], on_opacity_saved: Callable[[], None],
                 on_opacity: Callable[[float], None]) -> None:
        self.show_heatmap, self.heat_opacity = show_heatmap, heat_opacity
        self.texts = texts
        self.large: LargeImage | None = None  # F11: the image on the whole screen
        self._hint = ""
        self._view_width = 10_000
        self.invert_view, self.window_preset = invert_view, window_preset
        self.file_windows_menu, self.file_windows_entry = file_windows
        self._on_opacity = on_opacity
        self._pane = pane
        self._fit_pending = False  # a _fit_rows is queued for the next idle moment
        self._texts_width = 460  # the width the sentences under the verdict wrap at
        self._texts_scrolling = False  # they scroll, wrapped beside the scroll bar
        self._shown: tuple[int, int, int] | None = None  # (key, preview, heatmap) on screen
        self._colour: tuple[int | None, object] = (None, None)  # (key, its colour preview)
        self._picture: Picture | None = None
        self._file_windows_for: tuple | None = None  # what View → The file's own windows lists
        self.preview = ImageViewer(pane, on_change=self._view_changed, width=420, height=340)
        self.preview.grid(row=0, column=0, columnspan=2, sticky="nsew")
        self.preview.viewer.opacity = float(heat_opacity.get())
        # Zoom and window of the image shown, or nothing when there is none. As wide as the
        # pane (its text is elided to fit): a label exactly as wide as Tk measures its text lost
        # its last letter under Wine, where the text is drawn a few pixels wider than measured.
        self.view_label = ttk.Label(pane, style="Small.Panel.TLabel")
        self.view_label.grid(row=1, column=0, columnspan=2, sticky="ew", pady=(2, 0))
        # Why the preview of a classified file cannot be shown (moved, deleted, changed).
        self.preview_note = ttk.Label(pane, style="Panel.TLabel", wraplength=460,
                                      justify="left")
        self.preview_note.grid(row=2, column=0, columnspan=2, sticky="w", pady=(6, 0))
        self.preview_note.grid_remove()
        self.file_label = ttk.Label(pane, style="File.Panel.TLabel")
        self.file_label.grid(row=3, column=0, columnspan=2, sticky="w", pady=(6, 0))
        self.verdict_icon = VerdictIcon(pane)
        self.verdict_icon.grid(row=4, column=0, sticky="w", pady=(4, 0))
        self.verdict_label = ttk.Label(pane, style="Verdict.Panel.TLabel")
        self.verdict_label.grid(row=4, column=1, sticky="w", padx=(8, 0), pady=(4, 0))
        # The sentences under the verdict scroll when the pane is too short for them (an
        # 800x600 screen, a longer language): the bar and the heatmap controls stay on screen.
        self.texts_scroll = Scrolled(pane, style="Panel.TFrame", wheel_anywhere=False)
        self.texts_scroll.grid(row=TEXTS_ROW, column=0, columnspan=2, sticky="ew")
        texts_frame = self.texts_scroll.inner
        line = tkfont.nametofont("TkDefaultFont").metrics("linespace")
        self.texts_scroll.canvas.configure(yscrollincrement=line)  # the wheel and arrows: lines
        self.detail_label = ttk.Label(texts_frame, style="Panel.TLabel", wraplength=460,
                                      justify="left")
        self.detail_label.grid(row=0, column=0, sticky="w")
        # No scope problem found, unusual (and why), outside the scope (and why): shape, words.
        self.scope_label = ttk.Label(texts_frame, style="Scope.Panel.TLabel", wraplength=460,
                                     justify="left")
        self.scope_label.grid(row=1, column=0, sticky="w", pady=(4, 0))
        self.scope_label.grid_remove()
        self.bar = ProbabilityBar(pane)
        self.bar.grid(row=7, column=0, columnspan=2, sticky="ew", pady=(4, 0))
        # The check box on its own line, the opacity under it, a note under that: nothing is
        # cut off in a narrow pane or a longer language.
        heat_row = ttk.Frame(pane, style="Panel.TFrame")
        heat_row.grid(row=8, column=0, columnspan=2, sticky="ew", pady=(6, 0))
        self.heatmap_check = texts.widget(
            ttk.Checkbutton(heat_row, variable=show_heatmap, command=on_heatmap,
                            style="Panel.TCheckbutton"),
            N_("Show heatmap (Grad-CAM)"),
        )
        self.heatmap_check.grid(row=0, column=0, columnspan=2, sticky="w")
        self.opacity_label = texts.widget(ttk.Label(heat_row, style="Small.Panel.TLabel"),
                                          N_("Opacity"))
        self.opacity_label.grid(row=1, column=0, sticky="w", padx=(22, 4))
        self.opacity_scale = ttk.Scale(heat_row, from_=0.0, to=1.0, length=90,
                                       variable=heat_opacity, command=self.opacity_changed)
        self.opacity_scale.grid(row=1, column=1, sticky="w")
        self.opacity_scale.bind("<ButtonRelease-1>", lambda _e: on_opacity_saved())
        self.heatmap_note = ttk.Label(heat_row, style="Small.Panel.TLabel", justify="left")
        self.heatmap_note.grid(row=2, column=0, columnspan=2, sticky="w", padx=(22, 0))
        self.legend = HeatmapLegend(pane, texts)
        self.legend.grid(row=LEGEND_ROW, column=0, columnspan=2, sticky="w", pady=(4, 0))
        pane.bind("<Configure>", self._wrap_texts, add="+")
        pane.rowconfigure(0, weight=1)
        self.legend.update_idletasks()
        pane.rowconfigure(LEGEND_ROW, minsize=self.legend.winfo_reqheight() + 4)  # see _fit_rows
        pane.columnconfigure(1, weight=1)

    def _wrap_texts(self, event) -> None:
        """Sentences under the preview wrap at the pane's width, whatever the window's size."""
        width = max(200, event.width - 30)
        self.heatmap_note.configure(wraplength=width - 22)
        self._texts_width = width  # less the scroll bar's width once they scroll (_fit_rows)
        self._wrap_sentences(scrolling=False)
        self.preview_note.configure(wraplength=width)
        self._view_width = width  # the zoom line is cut to this with "…" (one line, always)
        self._view_changed()
        self.verdict_label.configure(wraplength=max(150, width - 50))  # beside the icon
        self.legend.caption.configure(wraplength=width)
        self._fit_rows_soon()  # the sentences' heights follow their new width

    def _fit_rows(self) -> None:
        """The image keeps 40% of the pane's height when the texts under it fit beside that;
        in a small window or a longer language it gives up room, down to a seventh of the pane
        (an 800x600 screen leaves the pane about 340 pixels; F11 shows the image whole), so
        the verdict, the bar and the heatmap controls stay on screen (and the space kept for
        the heatmap legend goes first, then the legend's sentence). Shorter still, the
        sentences under the verdict scroll in the height left, down to two lines."""
        self._fit_pending = False
        height = self._pane.winfo_height() - _vertical_padding(self._pane)
        if height <= 1:
            return
        rows = _rows_needed(self._pane)
        rows.pop(0, None)
        texts = sum(_rows_needed(self.texts_scroll.inner).values())
        rows[TEXTS_ROW] = texts
        room = height - sum(need for row, need in rows.items() if row != LEGEND_ROW)
        image, least = int(height * 0.4), int(height * 0.14)
        # the legend's sentence goes when even the smallest image would push it off the pane
        caption = room >= least + self.legend.height_needed(caption=True) + 4
        self.legend.show_caption(caption)
        legend = self.legend.height_needed(caption) + 4
        if room >= image + legend:
            reserve = legend  # no jump when the heatmap is turned on
        else:
            reserve = legend if LEGEND_ROW in rows else 0
            image = max(least, min(image, room - reserve))
        short = image + reserve - room  # pixels the sentences give up, scrolled to
        line = tkfont.nametofont("TkDefaultFont").metrics("linespace")
        # whole lines, at least two (a line cut across the middle reads as a fault)
        shown = max(2, (texts - short) // line) * line + 2
        self.texts_scroll.limit(shown if short > 0 else None)
        self._pane.rowconfigure(0, minsize=image)
        self._pane.rowconfigure(LEGEND_ROW, minsize=reserve)
        if short > 0 and not self._texts_scrolling:
            # wrapped beside the scroll bar they grow, and still scroll: one more pass settles
            # (they go back to the whole width only when the pane is resized: never a to and
            # fro between the two)
            self._wrap_sentences(scrolling=True)
            self._fit_rows_soon()

    def _wrap_sentences(self, *, scrolling: bool) -> None:
        """The sentences under the verdict wrap at the pane's width, less the scroll bar's
        once they scroll (only then: a window with room lays them out as before)."""
        self._texts_scrolling = scrolling
        bar = self.texts_scroll.bar.winfo_reqwidth() if scrolling else 0
        self.detail_label.configure(wraplength=self._texts_width - bar)
        self.scope_label.configure(wraplength=self._texts_width - bar)

    def _fit_rows_soon(self) -> None:
        if not self._fit_pending:
            self._fit_pending = True
            self._pane.after_idle(self._fit_rows)

    # --- drawing a result ---------------------------------------------------------------------

    def refresh(self, result: Result | None, session: Session) -> None:
        """Draw ``result`` (None: nothing selected) at ``session``'s threshold."""
        self._fit_rows_soon()  # the texts' heights change with the result
        heat_on = self.show_heatmap.get()
        if heat_on and result is not None and result.ok and result.preview_error is None:
            self.legend.grid()
        else:
            self.legend.grid_remove()
        self._heat_note("")
        self._show_preview_note(result.preview_error if result is not None else None)
        words = describe(result, session) if result is not None else None
        self._show_scope(result, words.scope_mark if words else "")
        if result is None:
            self._show_nothing(_(EMPTY_HINT))
            self.file_label.configure(text="")
            self.verdict_icon.show(None, empty=True)
            self.verdict_label.configure(text="")
            self.detail_label.configure(text="")
            self.bar.show(None, session.threshold, None)
            return
        self.file_label.configure(text=result.path.name)
        verdict = session.verdict(result)
        self.verdict_icon.show("withheld" if withheld(result) else verdict)
        if not result.ok:
            self._show_nothing(_("No preview"))
        else:
            self._show_preview(result, heat_on)
        # REFER's words are a sentence: a smaller type, so a word is never broken at 800x600
        self.verdict_label.configure(text=words.verdict, foreground=VERDICT_COLOURS[verdict],
                                     style=VERDICT_STYLES.get(verdict, "Verdict.Panel.TLabel"))
        shown = verdict is not None
        self.detail_label.configure(text=words.detail)
        self.bar.show(result.p_pneumonia if shown else None, session.threshold, verdict,
                      band=session.band)

    def _heat_note(self, text: str) -> None:
        """Why no heatmap is shown, under the opacity; no room taken without one."""
        self.heatmap_note.configure(text=text)
        if text:
            self.heatmap_note.grid()
        else:
            self.heatmap_note.grid_remove()

    def _show_scope(self, result: Result | None, text: str) -> None:
        """The selected image's scope: a shape, the state in words, and the reason."""
        if not text:
            self.scope_label.configure(text="")
            self.scope_label.grid_remove()
            return
        self.scope_label.configure(text=text, foreground=SCOPE_COLOURS[result.scope.state])
        self.scope_label.grid()

    def _show_preview_note(self, error: UserError | None) -> None:
        """Why a classified file's preview cannot be shown, under it; no room taken otherwise."""
        if error is None:
            self.preview_note.configure(text="")
            self.preview_note.grid_remove()
        else:
            self.preview_note.configure(text=error.user_message())
            self.preview_note.grid()

    def _show_preview(self, result: Result, heat_on: bool) -> None:
        """A classified result's image: loading, shown (with its heatmap), or why it cannot be
        shown while the verdict stays (the file was moved, deleted or changed since)."""
        if result.preview_error is not None:  # the note under the preview says why
            self._show_nothing(_("No preview"))
            return
        heatmap = None
        if heat_on and withheld(result):
            self._heat_note(_("No heatmap: no verdict was given."))
        elif heat_on:
            if result.heatmap is not None and result.preview is not None:
                heatmap = result.heatmap
            elif result.heatmap_error is not None:
                self._heat_note(result.heatmap_error.user_message())
            else:
                self._heat_note(_("Computing the heatmap…"))
        if result.preview is None:
            loading = result.model_input is None
            self._show_nothing(_("Loading the preview…") if loading else _("No preview"))
            return
        self._show_picture(result, heatmap)

    def _show_picture(self, result: Result, heatmap) -> None:
        """The result's image in the viewer; the same image again keeps its zoom and window
        (a heatmap arriving, a threshold change, a language switch)."""
        shown = (result.key, id(result.preview), id(heatmap))
        unchanged = shown == self._shown and self._picture is not None
        if not unchanged:  # nothing on the picture depends on the threshold: no redraw for it
            same_image = self._shown is not None and self._shown[:2] == shown[:2]
            self._picture = Picture(result.preview, result.display, heatmap, result.source,
                                    colour=self._colour_of(result))
            self._shown = shown
            self.preview.viewer.show_heat = heatmap is not None
            self.preview.show(self._picture, keep_view=same_image)
        self._fill_file_windows_menu()
        self._view_changed()

    def _colour_of(self, result: Result):
        """A colour photo's colours at the preview's size (None for a grey image, or one that
        cannot be read again). Read here, as a JPEG drafted to that size takes a few
        milliseconds, and only for the images the reader found in colour; kept for the last."""
        if (result.source.get("colour_fraction") or 0.0) < COLOUR_FRACTION \
                or result.preview is None:
            return None
        if self._colour[0] != result.key:
            try:
                with Image.open(result.path) as im:
                    im.draft("RGB", result.preview.size)
                    im = ImageOps.exif_transpose(im) or im
                    colour = im.convert("RGB").resize(result.preview.size)
            except (OSError, ValueError, Image.DecompressionBombError):
                log.info("No colour preview for %s", result.path, exc_info=True)
                colour = None
            self._colour = (result.key, colour)
        return self._colour[1]

    def _show_nothing(self, hint: str) -> None:
        self._shown = self._picture = None
        self._hint = hint
        self.preview.show(None, hint)
        self._fill_file_windows_menu()
        self._view_changed()

    def image_large_toggled(self) -> None:
        """F11: open the picture shown on the whole screen, or close that window."""
        if self.large is not None and self.large.winfo_exists():
            self.large.close()
            self.large = None
            return
        self.large = LargeImage(self._pane.winfo_toplevel(), self.texts)
        self._sync_large()

    def _sync_large(self) -> None:
        """The whole-screen window, when open, shows what the pane shows."""
        if self.large is not None and self.large.winfo_exists():
            self.large.show(self._picture, self._hint, self.preview.viewer)

    def report_picture(self, result: Result):
        """What a report of ``result`` shows of the viewer: (image, caption, heatmap shown);
        no image when another result is on screen."""
        viewer = self.preview.viewer
        on_screen = self._shown is not None and self._shown[0] == result.key
        frame = viewer.frame(resolution=REPORT_RESOLUTION) if on_screen else None
        if frame is None:
            return None, "", viewer.show_heat
        return frame.image, viewer.describe(), viewer.show_heat

    # --- the view commands: zoom, pan, window, invert, opacity ---------------------------------

    def _view(self, action) -> None:
        """Apply a view command (nothing happens without an image) and show what it did."""
        self.preview.change(action)
        self._view_changed()

    def zoom_in(self) -> None:
        self._view(lambda: self.preview.viewer.zoom_by(ZOOM_STEP))

    def zoom_out(self) -> None:
        self._view(lambda: self.preview.viewer.zoom_by(1 / ZOOM_STEP))

    def zoom_fit(self) -> None:
        self._view(self.preview.viewer.fit)

    def zoom_actual(self) -> None:
        self._view(self.preview.viewer.actual_size)

    def reset_view(self) -> None:
        self._view(self.preview.viewer.reset)

    def choose_window(self, preset_id: str) -> None:
        """A window preset (View menu): the built-in ones, or one of the file's own."""
        self._view(lambda: self.preview.viewer.choose(preset_id))

    def invert_toggled(self) -> None:
        invert = bool(self.invert_view.get())
        self._view(lambda: setattr(self.preview.viewer, "invert", invert))

    def opacity_changed(self, _value=None) -> None:
        """The opacity slider moved: redraw the overlay (saved when the slider is let go)."""
        opacity = round(float(self.heat_opacity.get()), 2)
        self._on_opacity(opacity)
        self.preview.viewer.opacity = opacity
        if self.preview.viewer.show_heat:
            self.preview.change(lambda: None)

    def _view_changed(self) -> None:
        """The line under the image and the View menu's marks follow the viewer (and the
        whole-screen window, when open)."""
        self._sync_large()
        viewer = self.preview.viewer
        measure = tkfont.nametofont("TkSmallCaptionFont").measure
        self.view_label.configure(text=elide(viewer.describe(), self._view_width, measure))
        self.invert_view.set(viewer.invert)
        self.window_preset.set(viewer.preset or "")

    def _fill_file_windows_menu(self) -> None:
        """View → The file's own windows: the selected DICOM's presets, in its units (the
        entry is greyed out for a file without any)."""
        presets = self._picture.file_presets() if self._picture is not None else []
        wanted = (self._shown[:2] if self._shown else None, i18n.current_language(),
                  len(presets))
        if self._file_windows_for == wanted:
            return
        self._file_windows_for = wanted
        menu = self.file_windows_menu
        menu.delete(0, "end")
        for preset in presets:
            menu.add_radiobutton(label=preset.label.user_message(), value=preset.id,
                                 variable=self.window_preset,
                                 command=lambda p=preset.id: self.choose_window(p))
        parent, index = self.file_windows_entry
        parent.entryconfigure(index, state="normal" if presets else "disabled")


def _rows_needed(frame) -> dict[int, int]:
    """The pixels each row of ``frame``'s grid asks for: its tallest widget and its padding
    (what the grid will give, computed now rather than at its next idle moment)."""
    rows: dict[int, int] = {}
    for widget in frame.grid_slaves():
        info = widget.grid_info()
        row = int(info["row"])
        pady = info.get("pady", 0)
        pady = pady if isinstance(pady, (tuple, list)) else str(pady).split()
        need = widget.winfo_reqheight() + sum(int(float(p)) for p in pady)
        rows[row] = max(rows.get(row, 0), need)
    return rows


def _vertical_padding(frame) -> int:
    """A ttk frame's padding above and below its contents, in pixels."""
    try:
        padding = frame.cget("padding")
        parts = padding if isinstance(padding, (tuple, list)) else str(padding).split()
        values = [int(float(str(v))) for v in parts]
    except (tk.TclError, ValueError):
        return 0
    if not values:
        return 0
    if len(values) < 4:
        return 2 * values[1 if len(values) > 1 else 0]
    return values[1] + values[3]
