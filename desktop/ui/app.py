"""The window: menus, results table, result pane, threshold, status bar. A thin view layer.

The logic lives elsewhere: the results, threshold, verdicts and exported rows in
``desktop.engine.session``, the commands (menus, toolbar, keys) in ``desktop.ui.commands``, the
model and
the files on the ``desktop.ui.worker`` threads. This module only puts them on screen. The Tk thread
never decodes an image or runs the model: it submits work to the ``Worker`` and drains the
worker's queue with ``after()``, so the window stays responsive through a batch of hundreds of
files. The window appears before the model is loaded (the worker loads it), so the app starts
fast.
"""

from __future__ import annotations

import logging
import queue
import re
import sys
import time
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, font, ttk

from desktop import i18n
from desktop.engine.results import Result, write_csv
from desktop.engine.scope import IN_SCOPE, NOT_CHEST_XRAY, UNUSUAL
from desktop.engine.session import Session, scope_state, withheld
from desktop.engine.threshold import ThresholdPolicy, format_threshold
from desktop.errors import N_, InternalError, UserError
from desktop.i18n import _, ngettext
from desktop.reading.files import Skipped
from desktop.reading.imaging import SUPPORTED_SUFFIXES
from desktop.reports.image_info import info_rows
from desktop.reports.labels import DISCLAIMER, scope_text
from desktop.resources import asset_path
from desktop.settings import Settings, load_settings, save_settings
from desktop.ui.about import ModelCardDialog
from desktop.ui.commands import (
    COMMANDS,
    FILE_WINDOWS_LABEL,
    FILE_WINDOWS_MENU,
    LANGUAGES_MENU,
    MENUS,
    TOOLBAR_LEFT,
    TOOLBAR_RIGHT,
    is_window_wide,
)
from desktop.ui.drop import parse_drop_data
from desktop.ui.history_link import HistoryLink
from desktop.ui.viewer import ZOOM_STEP, Picture
from desktop.ui.widgets import (
    BANNER_BG,
    IN_SCOPE_MARK,
    PANEL_BG,
    TEXT_AMBER,
    TEXT_BLUE,
    TEXT_GREY,
    TEXT_VERMILLION,
    UNCHECKED_MARK,
    UNUSUAL_MARK,
    WITHHELD_MARK,
    HeatmapLegend,
    ImageViewer,
    InfoPanel,
    ProbabilityBar,
    ResultsTable,
    Texts,
    ThresholdControl,
    VerdictIcon,
    percent,
    verdict_text,
)
from desktop.ui.worker import (
    BatchFinished,
    BatchStarted,
    Classified,
    HeatmapReady,
    ModelFailed,
    ModelReady,
    PreviewReady,
    ReportFinished,
    ReportProgress,
    Worker,
)

log = logging.getLogger(__name__)

POLL_MS = 40  # how often the Tk thread drains the worker's queue
POLL_BUDGET_S = 0.03  # at most this long per drain, so input events keep flowing
DEFAULT_GEOMETRY = "1240x780"
MIN_SIZE = (900, 600)
REPORT_RESOLUTION = 2  # a report's picture has twice the pixels of the view on screen
SCREEN_MARGIN_Y = 80  # title bar + task bar
VERDICT_COLOURS = {"NORMAL": TEXT_BLUE, "PNEUMONIA": TEXT_VERMILLION, None: TEXT_GREY}
SCOPE_COLOURS = {IN_SCOPE: TEXT_GREY, UNUSUAL: TEXT_AMBER, NOT_CHEST_XRAY: TEXT_GREY,
                 None: TEXT_GREY}
# Modifier bits of a key event that make a plain key (``+``, ``0``, ``i``) something else:
# Control everywhere, and Alt (X11 Mod1, Windows' own bit) or Command/Option (macOS).
_MODIFIER_BITS = {"x11": 0x4 | 0x8, "win32": 0x4 | 0x20000, "aqua": 0x4 | 0x8 | 0x10}


def fit_to_screen(geometry: str | None, root: tk.Tk) -> str:
    """The saved window geometry (or the default), no larger than this screen and placed on it.

    A size saved on a bigger monitor, or from a damaged settings file (99999x99999), makes X
    refuse the window's pixmap (BadAlloc), which ends the whole process.
    """
    pattern = r"(\d+)x(\d+)(([+-]-?\d+)([+-]-?\d+))?"
    match = re.fullmatch(pattern, geometry or "") or re.fullmatch(pattern, DEFAULT_GEOMETRY)
    screen_w, screen_h = root.winfo_screenwidth(), root.winfo_screenheight()
    # Leave room for the title bar and a task bar: a 1366x768 clinic laptop shows the whole window.
    width = min(int(match[1]), screen_w)
    height = min(int(match[2]), max(MIN_SIZE[1], screen_h - SCREEN_MARGIN_Y))
    place = match[3] or ""
    if place and (abs(int(match[4][1:])) >= screen_w or abs(int(match[5][1:])) >= screen_h):
        place = ""  # off this screen: let the window manager place it
    return f"{width}x{height}{place}"


def make_root() -> tuple[tk.Tk, bool]:
    """The Tk root and whether drag and drop works (tkdnd loaded); without it the app still runs."""
    root = tk.Tk(className="CxrPneumonia")
    try:
        from tkinterdnd2 import TkinterDnD

        TkinterDnD._require(root)  # what TkinterDnD.Tk() does, but failure leaves a usable root
    except Exception:  # noqa: BLE001 - any failure only disables drag and drop
        log.warning("Drag and drop is unavailable (tkdnd did not load)", exc_info=True)
        return root, False
    return root, True


def _style(root: tk.Tk) -> None:
    """The "clam" theme with readable fonts and one padding scale."""
    style = ttk.Style(root)
    style.theme_use("clam")
    for name in ("TkDefaultFont", "TkTextFont", "TkMenuFont", "TkHeadingFont"):
        font.nametofont(name, root).configure(size=10)
    font.nametofont("TkHeadingFont", root).configure(weight="bold")
    font.nametofont("TkSmallCaptionFont", root).configure(size=9)
    base = font.nametofont("TkDefaultFont", root).actual()
    root.option_add("*Menu.font", "TkMenuFont")
    style.configure(".", padding=0)
    style.configure("TButton", padding=(10, 4))
    style.configure("Treeview", rowheight=24)
    style.configure("Treeview.Heading", font="TkHeadingFont", padding=(6, 4))
    style.configure("Banner.TFrame", background=BANNER_BG)
    style.configure(
        "Banner.TLabel", background=BANNER_BG, foreground="#6A3000",
        font=(base["family"], 10, "bold"),
    )
    style.configure("Panel.TFrame", background=PANEL_BG)
    style.configure("Panel.TLabel", background=PANEL_BG)
    style.configure("Panel.TCheckbutton", background=PANEL_BG)
    style.configure("File.Panel.TLabel", font=(base["family"], 11, "bold"))
    style.configure("Verdict.Panel.TLabel", font=(base["family"], 20, "bold"))
    style.configure("Scope.Panel.TLabel", font=(base["family"], 10, "bold"))
    style.configure("Small.Panel.TLabel", foreground=TEXT_GREY, font="TkSmallCaptionFont")
    style.configure("Small.TLabel", foreground=TEXT_GREY, font="TkSmallCaptionFont")
    style.configure("Status.TLabel", padding=(4, 2))
    style.configure("Info.Toolbutton", font=(base["family"], 10, "bold"), padding=(0, 2))


class App:
    """The main window. ``open_paths`` is the one entry for dialog, drop and command line."""

    def __init__(
        self, root: tk.Tk, settings: Settings, *, model_path: Path | None = None,
        dnd: bool = False,
    ) -> None:
        self.root, self.settings = root, settings
        self.texts = Texts()
        policy = ThresholdPolicy()  # until the model's card gives the operating points
        policy.restore(settings.threshold, None)
        self.session = Session(policy)
        self.inbox: queue.Queue = queue.Queue()
        self.worker = Worker(model_path, self.inbox)
        self.card: dict | None = None
        self.model_error: UserError | None = None
        self.model_sha256 = ""
        self.model_ready = False
        self.pending: set[int] = set()
        self.batch_progress: tuple[int, int] = (0, 0)  # (done, total) of the running batch
        self.first_of_batch: set[int] = set()  # batches whose first row is not selected yet
        self.skipped = Skipped()  # what the folder scans of the running batches left out
        self.selected: Result | None = None
        self._asked: tuple[int, bool] | None = None  # (key, with heatmap) asked of the worker
        self.sort_state: tuple[str, bool] | None = None
        self.dialog: ModelCardDialog | None = None
        self._status = lambda: _("Loading model…")
        self._shown: tuple[int, int, int] | None = None  # (key, preview, heatmap) on screen
        self._picture: Picture | None = None
        self._file_windows_for: tuple | None = None  # what View → The file's own windows lists
        self.shortcuts_dialog = None
        self.report_job: int | None = None  # the batch report being written
        self.report_progress: tuple[int, int] = (0, 0)
        self._closed = False

        _style(root)
        self.language = tk.StringVar(root, i18n.current_language())
        self.show_heatmap = tk.BooleanVar(root, settings.show_heatmap)
        self.invert_view = tk.BooleanVar(root, False)
        self.window_preset = tk.StringVar(root, "default")
        self.show_image_info = tk.BooleanVar(root, settings.show_image_info)
        self.show_identifiers = tk.BooleanVar(root, settings.show_identifiers)
        self.heat_opacity = tk.DoubleVar(root, settings.heatmap_opacity)
        root.geometry(fit_to_screen(settings.window_geometry, root))
        root.minsize(*MIN_SIZE)
        self.texts.title(root, N_("Chest X-ray pneumonia classifier"))
        self._set_icon()
        self._build_menu()
        self._build_body()
        self._bind_keys()
        if dnd:
            self._enable_drop()
        i18n.add_listener(self._language_changed)
        root.protocol("WM_DELETE_WINDOW", self.close)
        root.report_callback_exception = self._report_callback_exception
        self._tk_dialogs_language(i18n.current_language())
        self.relabel()
        self.history = HistoryLink(self)  # records results, keeps the site profile (hook)
        self.worker.start()
        self._poll_id = root.after(POLL_MS, self._poll)

    # --- building -------------------------------------------------------------------------

    def _set_icon(self) -> None:
        path = asset_path("icon.png")
        try:
            self._icon = tk.PhotoImage(master=self.root, file=str(path))
            self.root.iconphoto(True, self._icon)
        except tk.TclError:
            log.warning("Window icon %s could not be loaded", path, exc_info=True)

    def _build_menu(self) -> None:
        """The menu bar from ``desktop.ui.commands.MENUS``; the Language menu lists the languages,
        each named in its own language."""
        t = self.texts
        self.menubar = tk.Menu(self.root, tearoff=0)
        self.menus: dict[str, tk.Menu] = {}
        for msgid, entries in MENUS:
            menu = tk.Menu(self.menubar, tearoff=0)
            self.menubar.add_cascade(menu=menu)
            t.menu(self.menubar, self.menubar.index("end"), msgid)
            self.menus[msgid] = menu
            if entries == LANGUAGES_MENU:
                for code, name in i18n.LANGUAGES.items():
                    menu.add_radiobutton(label=name, value=code, variable=self.language,
                                         command=lambda c=code: self.set_language(c))
                continue
            for command_id in entries:
                if command_id is None:
                    menu.add_separator()
                    continue
                if command_id == FILE_WINDOWS_MENU:
                    self.file_windows_menu = tk.Menu(menu, tearoff=0)
                    menu.add_cascade(menu=self.file_windows_menu, state="disabled")
                    t.menu(menu, menu.index("end"), FILE_WINDOWS_LABEL)
                    self.file_windows_entry = (menu, menu.index("end"))
                    continue
                command = COMMANDS[command_id]
                if command.toggles:
                    menu.add_checkbutton(variable=getattr(self, command.toggles),
                                         command=getattr(self, command.handler),
                                         accelerator=command.accelerator)
                elif command.choice:
                    menu.add_radiobutton(
                        variable=getattr(self, command.choice), value=command.argument,
                        command=lambda c=command: getattr(self, c.handler)(c.argument),
                        accelerator=command.accelerator)
                else:
                    menu.add_command(command=getattr(self, command.handler),
                                     accelerator=command.accelerator)
                t.menu(menu, menu.index("end"), command.label)
        self.file_menu, self.view_menu = self.menus[N_("File")], self.menus[N_("View")]
        self.language_menu, self.help_menu = self.menus[N_("Language")], self.menus[N_("Help")]
        self.root.configure(menu=self.menubar)

    def _build_body(self) -> None:
        t = self.texts
        self.body = ttk.Frame(self.root)
        self.body.pack(fill="both", expand=True)

        banner = ttk.Frame(self.body, style="Banner.TFrame", padding=(12, 6))
        banner.pack(fill="x")
        self.disclaimer = ttk.Label(banner, style="Banner.TLabel")
        self.disclaimer.pack(side="left")
        t.call(self.disclaimer, lambda: self.disclaimer.configure(text="⚠  " + _(DISCLAIMER)))

        toolbar = ttk.Frame(self.body, padding=(10, 8, 10, 4))
        toolbar.pack(fill="x")
        self.toolbar_buttons: dict[str, ttk.Button] = {}
        for side, ids in (("left", TOOLBAR_LEFT), ("right", TOOLBAR_RIGHT)):
            for position, command_id in enumerate(ids):
                command = COMMANDS[command_id]
                button = t.widget(ttk.Button(toolbar, command=getattr(self, command.handler)),
                                  command.toolbar_label or command.label)
                gap = (6, 0) if side == "left" else (0, 6)
                button.pack(side=side, padx=gap if position else 0)
                self.toolbar_buttons[command_id] = button
        self.open_button = self.toolbar_buttons["open_files"]

        panes = ttk.PanedWindow(self.body, orient="horizontal")
        panes.pack(fill="both", expand=True, padx=10, pady=(4, 6))
        left = ttk.Frame(panes)
        right = ttk.Frame(panes, style="Panel.TFrame", padding=(12, 10), relief="groove")
        panes.add(left, weight=1)
        panes.add(right, weight=1)

        self.table = ResultsTable(left, t, on_sort=self.sort_by)
        self.table.pack(fill="both", expand=True)
        self.table.tree.bind("<<TreeviewSelect>>", lambda _e: self._selection_changed())
        self.threshold = ThresholdControl(left, t, on_slide=self.slide_threshold,
                                          on_step=self.step_threshold,
                                          on_preset=self.choose_operating_point)
        self.threshold.pack(side="bottom", fill="x", pady=(8, 0), before=self.table)
        self.threshold.show(self.session.threshold, None)
        # The selected file's facts, under the table: open, it takes the table's room, not
        # the image's.
        self.info_panel = InfoPanel(left, t, self.show_image_info, self.image_info_toggled)
        self.info_panel.pack(side="bottom", fill="x", pady=(6, 0), before=self.threshold)
        left.bind("<Configure>", lambda e: self.info_panel.wrap(e.width), add="+")

        self._build_result_pane(right)

        status = ttk.Frame(self.body, padding=(10, 2, 10, 6))
        # Packed before the panes: on a short screen the panes shrink, the status bar stays.
        status.pack(side="bottom", fill="x", before=panes)
        self.status_label = ttk.Label(status, style="Status.TLabel", anchor="w")
        self.status_label.pack(side="left", fill="x", expand=True)
        self.cancel_button = t.widget(
            ttk.Button(status, command=self.cancel, state="disabled"), COMMANDS["cancel"].label
        )
        self.cancel_button.pack(side="right")
        self.progress = ttk.Progressbar(status, length=220, mode="determinate")
        self.progress.pack(side="right", padx=(0, 8))
        t.call(self.status_label, self._refresh_status)

    def _build_result_pane(self, pane: ttk.Frame) -> None:
        t = self.texts
        self.preview = ImageViewer(pane, on_change=self._view_changed, width=420, height=340)
        self.preview.grid(row=0, column=0, columnspan=2, sticky="nsew")
        self.preview.viewer.opacity = float(self.heat_opacity.get())
        # Zoom and window of the image shown, or nothing when there is none.
        self.view_label = ttk.Label(pane, style="Small.Panel.TLabel")
        self.view_label.grid(row=1, column=0, columnspan=2, sticky="w", pady=(2, 0))
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
        self.detail_label = ttk.Label(pane, style="Panel.TLabel", wraplength=460, justify="left")
        self.detail_label.grid(row=5, column=0, columnspan=2, sticky="w")
        # In scope, unusual (and why), not a chest X-ray (and why): a shape and words.
        self.scope_label = ttk.Label(pane, style="Scope.Panel.TLabel", wraplength=460,
                                     justify="left")
        self.scope_label.grid(row=6, column=0, columnspan=2, sticky="w", pady=(4, 0))
        self.scope_label.grid_remove()
        self.bar = ProbabilityBar(pane)
        self.bar.grid(row=7, column=0, columnspan=2, sticky="ew", pady=(4, 0))
        heat_row = ttk.Frame(pane, style="Panel.TFrame")
        heat_row.grid(row=8, column=0, columnspan=2, sticky="ew", pady=(6, 0))
        self.heatmap_check = t.widget(
            ttk.Checkbutton(heat_row, variable=self.show_heatmap, command=self.heatmap_toggled,
                            style="Panel.TCheckbutton"),
            N_("Show heatmap (Grad-CAM)"),
        )
        self.heatmap_check.pack(side="left")
        self.opacity_label = t.widget(ttk.Label(heat_row, style="Small.Panel.TLabel"),
                                      N_("Opacity"))
        self.opacity_label.pack(side="left", padx=(12, 4))
        self.opacity_scale = ttk.Scale(heat_row, from_=0.0, to=1.0, length=90,
                                       variable=self.heat_opacity, command=self.opacity_changed)
        self.opacity_scale.pack(side="left")
        self.opacity_scale.bind("<ButtonRelease-1>", lambda _e: self._save_settings())
        self.heatmap_note = ttk.Label(heat_row, style="Small.Panel.TLabel")
        self.heatmap_note.pack(side="left", padx=(10, 0))
        self.legend = HeatmapLegend(pane, t)
        self.legend.grid(row=9, column=0, columnspan=2, sticky="w", pady=(4, 0))
        pane.bind("<Configure>", self._wrap_result_texts, add="+")
        pane.rowconfigure(0, weight=1)
        self.legend.update_idletasks()
        pane.rowconfigure(9, minsize=self.legend.winfo_reqheight() + 4)  # no jump on toggle
        pane.columnconfigure(1, weight=1)
        t.call(pane, self._refresh_result_pane)

    def _wrap_result_texts(self, event) -> None:
        """Sentences under the preview wrap at the pane's width, whatever the window's size."""
        width = max(200, event.width - 30)
        self.detail_label.configure(wraplength=width)
        self.scope_label.configure(wraplength=width)
        self.preview_note.configure(wraplength=width)
        self.verdict_label.configure(wraplength=max(150, width - 50))  # beside the icon
        self.legend.caption.configure(wraplength=width)

    def _bind_keys(self) -> None:
        """Every key of ``desktop.ui.commands.COMMANDS``: with Ctrl/Alt, Esc and F-keys in every
        window of the app; plain keys (``+``, ``0``, ``i``) in the main window only, and only
        without a modifier (Ctrl+I is the information panel, not "invert")."""
        modifiers = _MODIFIER_BITS.get(self.root.tk.call("tk", "windowingsystem"), 0x4)
        for command in COMMANDS.values():
            for sequence in command.keys:
                if is_window_wide(sequence):
                    self.root.bind_all(sequence, lambda _e, c=command: self.run_command(c.id))
                else:
                    self.root.bind(sequence, lambda e, c=command: None if e.state & modifiers
                                   else self.run_command(c.id))

    def run_command(self, command_id: str) -> str:
        """What a command's key does: its handler (an on/off one flips its variable first, a
        choice sets its variable and passes its value)."""
        command = COMMANDS[command_id]
        if command.toggles:
            variable = getattr(self, command.toggles)
            variable.set(not variable.get())
        if command.choice:
            getattr(self, command.choice).set(command.argument)
            getattr(self, command.handler)(command.argument)
        else:
            getattr(self, command.handler)()
        return "break"

    def _enable_drop(self) -> None:
        from tkinterdnd2 import DND_FILES

        self.body.drop_target_register(DND_FILES)
        self.body.dnd_bind("<<Drop>>", self._dropped)

    def _dropped(self, event) -> str:
        self.open_paths(parse_drop_data(self.root.tk, event.data))
        return event.action

    # --- opening files --------------------------------------------------------------------

    def _initial_dir(self) -> str | None:
        folder = self.settings.last_folder
        return folder if folder and Path(folder).is_dir() else None

    def ask_open_files(self) -> None:
        patterns = " ".join(f"*{s} *{s.upper()}" for s in sorted(SUPPORTED_SUFFIXES))
        paths = filedialog.askopenfilenames(
            parent=self.root, title=_("Open chest X-ray images"), initialdir=self._initial_dir(),
            filetypes=[(_("Chest X-ray images"), patterns), (_("All files"), "*")],
        )
        if paths:
            self.open_paths(list(self.root.tk.splitlist(paths)))

    def ask_open_folder(self) -> None:
        folder = filedialog.askdirectory(
            parent=self.root, title=_("Open a folder of chest X-ray images"),
            initialdir=self._initial_dir(), mustexist=True,
        )
        if folder:
            self.open_paths([folder])

    def open_paths(self, paths: list[str | Path]) -> int | None:
        """Classify files and folders (dialog, drop, command line); returns the batch number."""
        paths = [Path(p) for p in paths if str(p)]
        if not paths:
            return None
        first = paths[0].absolute()
        self.settings.last_folder = str(first if first.is_dir() else first.parent)
        self._save_settings()
        if not self.pending:
            self.skipped = Skipped()
        batch = self.worker.submit(paths)
        self.pending.add(batch)
        self.first_of_batch.add(batch)
        self.cancel_button.configure(state="normal")
        if not self.model_ready and self.model_error is None:
            self._set_status(lambda: _("Loading model…"))
        return batch

    def cancel(self) -> None:
        """Stop the running batch, and the batch report being written."""
        if self.report_job is not None:
            self.worker.cancel_report()
            self._set_status(lambda: _("Cancelling…"))
        if self.pending:
            self.worker.cancel()
            self._set_status(lambda: _("Cancelling…"))

    def clear_results(self) -> None:
        self.session.clear()
        self.skipped = Skipped()
        self._asked = None
        self.table.tree.delete(*self.table.tree.get_children())
        self._select(None)
        self._set_status(lambda: _("Open or drop chest X-ray images to classify them."))

    # --- messages from the worker ---------------------------------------------------------

    def _poll(self) -> None:
        deadline = time.monotonic() + POLL_BUDGET_S
        try:
            while time.monotonic() < deadline:
                self._handle(self.inbox.get_nowait())
        except queue.Empty:
            pass
        finally:
            if not self._closed:
                self._poll_id = self.root.after(POLL_MS, self._poll)

    def _handle(self, message) -> None:
        if isinstance(message, ModelReady):
            self._model_ready(message)
        elif isinstance(message, ModelFailed):
            self.model_error = message.error
            self._set_status(message.error.user_message)
        elif isinstance(message, BatchStarted):
            self.skipped.extend(message.skipped)
            self.batch_progress = (0, message.total)
            self.progress.configure(maximum=max(message.total, 1), value=0)
            self._set_status(self._progress_text)
        elif isinstance(message, Classified):
            self._add_result(message)
        elif isinstance(message, BatchFinished):
            self._batch_finished(message)
        elif isinstance(message, PreviewReady):
            result = self.session.preview_ready(message.key, message.preview,
                                                message.model_input, message.error,
                                                display=message.display)
            if result is not None and result is self.selected:
                self._request_images()
                self._refresh_result_pane()
        elif isinstance(message, HeatmapReady):
            result = self.session.heatmap_ready(message.key, message.heatmap, message.error)
            if result is not None and result is self.selected:
                self._refresh_result_pane()
        elif isinstance(message, ReportProgress):
            if message.job == self.report_job:
                self.report_progress = (message.done, message.total)
                self.progress.configure(value=message.done)
                self._set_status(self._report_progress_text)
        elif isinstance(message, ReportFinished):
            self._report_finished(message)

    def _model_ready(self, message: ModelReady) -> None:
        """The card's operating points, and the threshold the user chose last time (a preset of
        this card at its exact value, else the saved custom value, else the card's default)."""
        self.model_ready, self.card, self.model_sha256 = True, message.card, message.sha256
        policy = ThresholdPolicy.from_card(self.card)
        policy.restore(self.settings.threshold, self.settings.operating_point)
        flipped = self.session.set_policy(policy)
        self.threshold.set_operating_points(policy.points)
        self._threshold_changed(flipped, save=False)
        if not self.pending:
            self._set_status(lambda: _("Open or drop chest X-ray images to classify them."))
        self.history.model_ready()  # the site profile in force, said in the status (hook)

    def _add_result(self, message: Classified) -> None:
        result = self.session.add(message.result)
        self.history.classified(result)  # into the case history (hook)
        self._put_row(result)
        done, total = self.batch_progress
        self.batch_progress = (done + 1, total)
        self.progress.configure(value=done + 1)
        self._set_status(self._progress_text)
        if message.batch in self.first_of_batch:
            self.first_of_batch.discard(message.batch)
            self.table.tree.selection_set(str(result.key))
            self.table.tree.focus(str(result.key))
            self.table.tree.see(str(result.key))

    def _batch_finished(self, message: BatchFinished) -> None:
        self.pending.discard(message.batch)
        self.first_of_batch.discard(message.batch)
        if self.pending:
            return
        if self.report_job is None:
            self.cancel_button.configure(state="disabled")
            self.progress.configure(value=0)
        if self.sort_state:
            self._apply_sort()
        if message.error is not None:
            self._set_status(message.error.user_message)
        elif message.cancelled and message.total == 0:
            self._set_status(lambda: _("Cancelled."))
        elif message.cancelled:
            done, total = message.done, message.total
            self._set_status(lambda: ngettext("Cancelled after {done} of {total} file.",
                                              "Cancelled after {done} of {total} files.",
                                              total).format(done=done, total=total))
        elif message.total == 0:
            self._set_status(lambda: self._with_skipped(_(
                "No chest X-ray images were found there. "
                "Open JPEG, PNG, BMP, TIFF or DICOM files.")))
        else:
            self._set_status(lambda: self._with_skipped(self._summary_text()))
        if self.table.tree.selection():
            self.table.tree.focus_set()

    # --- threshold, sorting, selection ----------------------------------------------------

    def slide_threshold(self, value: float) -> None:
        """The slider moved: a custom threshold, in hundredths."""
        self._threshold_changed(self.session.slide(value))

    def step_threshold(self, delta: float) -> None:
        self._threshold_changed(self.session.step(delta))

    def choose_operating_point(self, name: str) -> None:
        """A preset of the card at its exact threshold; ``""`` ("Custom") keeps the value."""
        if self.session.policy.point(name) is not None:
            flipped = self.session.choose_preset(name)
        else:
            flipped = self.session.set_threshold(self.session.threshold)
        self._threshold_changed(flipped)

    def set_threshold(self, threshold: float) -> None:
        """A custom threshold, exact (as ``predict --threshold`` takes it)."""
        self._threshold_changed(self.session.set_threshold(threshold))

    def _threshold_changed(self, flipped: list[Result], save: bool = True) -> None:
        """Show the session's threshold and re-label the rows whose verdict flipped (a row
        depends on the threshold only through its verdict; no model re-run)."""
        policy = self.session.policy
        self.threshold.show(policy.threshold, policy.preset)
        for result in flipped:
            self._put_row(result)
        self._refresh_result_pane()
        if not self.pending and self.session.results:
            self._set_status(lambda: self._with_skipped(self._summary_text()))
        if save:
            self.settings.threshold, self.settings.operating_point = (
                policy.threshold, policy.preset)
            self._save_settings()

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; a second click on the same column reverses the order."""
        same = self.sort_state is not None and self.sort_state[0] == column
        self.sort_state = (column, not self.sort_state[1] if same else False)
        self._apply_sort()

    def _apply_sort(self) -> None:
        column, descending = self.sort_state
        self.table.order([str(k) for k in self.session.sorted_keys(column, descending)])
        self.table.sorted_by = self.sort_state
        self.table.refresh_headings()

    def _selection_changed(self) -> None:
        selection = self.table.tree.selection()
        result = self.session.results.get(int(selection[0])) if selection else None
        self._select(result)

    def _select(self, result: Result | None) -> None:
        key = result.key if result is not None else None
        if self.selected is None or self.selected.key != key:
            self._asked = None  # a new selection asks the worker afresh
        self.selected = self.session.select(key)
        self._request_images()
        self._refresh_result_pane()

    def _request_images(self) -> None:
        """Ask the worker, once per selection, for what the selected result lacks: its preview
        (read from disk again: a batch keeps no images) and, with the heatmap on, its heatmap."""
        result = self.selected
        if result is None or not result.ok or result.preview_error is not None:
            return
        heat = bool(self.show_heatmap.get()) and result.heatmap is None \
            and result.heatmap_error is None and not withheld(result)
        asked = self._asked if self._asked and self._asked[0] == result.key else None
        if self.session.needs_preview(result):
            if asked is None or (heat and not asked[1]):
                self.worker.request_preview(result.key, result.path, result.fingerprint,
                                            heatmap=heat)
                self._asked = (result.key, heat)
        elif heat and asked != (result.key, True):
            self.worker.request_heatmap(result.key, result.model_input)
            self._asked = (result.key, True)

    def heatmap_toggled(self) -> None:
        self.settings.show_heatmap = bool(self.show_heatmap.get())
        self._save_settings()
        self._request_images()
        self._refresh_result_pane()

    # --- drawing --------------------------------------------------------------------------

    def _row_values(self, result: Result) -> tuple[str, str, str, str]:
        """File, verdict (marked ◆ when unusual, ⊘ when withheld), P, and the status: the
        error, or why the image is outside the model's scope."""
        verdict = self.session.verdict(result)
        state = scope_state(result)
        if not result.ok:
            return (result.path.name, verdict_text(None), "—", result.error.user_message())
        if withheld(result):
            return (result.path.name, f"{WITHHELD_MARK} " + _("No verdict"), "—",
                    scope_text(result.scope, name_withheld=False))
        status = _("Classified")
        shown = verdict_text(verdict)
        if state == UNUSUAL:
            shown += f" {UNUSUAL_MARK}"
            status = scope_text(result.scope)
        return (result.path.name, shown, f"{result.p_pneumonia:.3f}", status)

    def _put_row(self, result: Result) -> None:
        tag = "withheld" if withheld(result) else self.session.verdict(result) or "error"
        self.table.put(str(result.key), self._row_values(result), tag)

    def _refresh_result_pane(self) -> None:
        result = self.selected
        heat_on = self.show_heatmap.get()
        self._show_info(result)
        if heat_on and result is not None and result.ok and result.preview_error is None:
            self.legend.grid()
        else:
            self.legend.grid_remove()
        self.heatmap_note.configure(text="")
        self._show_preview_note(result.preview_error if result is not None else None)
        self._show_scope(result)
        if result is None:
            self._show_nothing(_("Open or drop chest X-ray images here.\n"
                                 "Files and folders: JPEG, PNG, BMP, TIFF, DICOM."))
            self.file_label.configure(text="")
            self.verdict_icon.show(None, empty=True)
            self.verdict_label.configure(text="")
            self.detail_label.configure(text="")
            self.bar.show(None, self.session.threshold, None)
            return
        self.file_label.configure(text=result.path.name)
        verdict = self.session.verdict(result)
        self.verdict_icon.show("withheld" if withheld(result) else verdict)
        if not result.ok:
            self._show_nothing(_("No preview"))
            self.verdict_label.configure(text=_("Could not classify"),
                                         foreground=VERDICT_COLOURS[None])
            self.detail_label.configure(text=result.error.user_message())
            self.bar.show(None, self.session.threshold, None)
            return
        self._show_preview(result, heat_on)
        if withheld(result):  # not a chest X-ray: no verdict, no bar, no heatmap
            self.verdict_label.configure(text=_("No verdict"), foreground=VERDICT_COLOURS[None])
            self.detail_label.configure(text=_("The model gives no verdict on images outside "
                                               "its scope."))
            self.bar.show(None, self.session.threshold, None)
            return
        self.verdict_label.configure(
            text=verdict_text(verdict, mark=False), foreground=VERDICT_COLOURS[verdict]
        )
        self.detail_label.configure(
            text=_("Confidence {confidence} · P(pneumonia) = {p:.3f} · threshold {threshold}")
            .format(confidence=percent(self.session.confidence(result)),
                    p=result.p_pneumonia, threshold=format_threshold(self.session.threshold))
        )
        self.bar.show(result.p_pneumonia, self.session.threshold, verdict)

    def _show_preview(self, result: Result, heat_on: bool) -> None:
        """A classified result's image: loading, shown (with its heatmap), or why it cannot be
        shown while the verdict stays (the file was moved, deleted or changed since)."""
        if result.preview_error is not None:  # the note under the preview says why
            self._show_nothing(_("No preview"))
            return
        heatmap = None
        if heat_on and withheld(result):
            self.heatmap_note.configure(text=_("No heatmap: no verdict was given."))
        elif heat_on:
            if result.heatmap is not None and result.preview is not None:
                heatmap = result.heatmap
            elif result.heatmap_error is not None:
                self.heatmap_note.configure(text=result.heatmap_error.user_message())
            else:
                self.heatmap_note.configure(text=_("Computing the heatmap…"))
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
            self._picture = Picture(result.preview, result.display, heatmap, result.source)
            self._shown = shown
            self.preview.viewer.show_heat = heatmap is not None
            self.preview.show(self._picture, keep_view=same_image)
        self._fill_file_windows_menu()
        self._view_changed()

    def _show_nothing(self, hint: str) -> None:
        self._shown = self._picture = None
        self.preview.show(None, hint)
        self._fill_file_windows_menu()
        self._view_changed()

    def _show_info(self, result: Result | None) -> None:
        """The "Image information" panel: the selected file's facts (identifiers only when
        the user has turned them on)."""
        if result is None:
            self.info_panel.show([], _("No image selected."))
            return
        rows = info_rows(result.source, show_identifiers=bool(self.show_identifiers.get()))
        self.info_panel.show(rows, _("The file could not be read, so it says nothing about "
                                     "itself."))

    def _show_scope(self, result: Result | None) -> None:
        """The selected image's scope: a shape, the state in words, and the reason."""
        scope = result.scope if result is not None and result.ok else None
        if scope is None:
            self.scope_label.configure(text="")
            self.scope_label.grid_remove()
            return
        mark = {IN_SCOPE: IN_SCOPE_MARK, UNUSUAL: UNUSUAL_MARK,
                NOT_CHEST_XRAY: WITHHELD_MARK}.get(scope.state, UNCHECKED_MARK)
        text = f"{mark} " + scope_text(scope, name_withheld=False)
        self.scope_label.configure(text=text, foreground=SCOPE_COLOURS[scope.state])
        self.scope_label.grid()

    def _show_preview_note(self, error: UserError | None) -> None:
        """Why a classified file's preview cannot be shown, under it; no room taken otherwise."""
        if error is None:
            self.preview_note.configure(text="")
            self.preview_note.grid_remove()
        else:
            self.preview_note.configure(text=error.user_message())
            self.preview_note.grid()

    # --- the viewer: zoom, pan, window, invert, opacity -----------------------------------

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
        self.settings.heatmap_opacity = opacity
        self.preview.viewer.opacity = opacity
        if self.preview.viewer.show_heat:
            self.preview.change(lambda: None)

    def _view_changed(self) -> None:
        """The line under the image and the View menu's marks follow the viewer."""
        viewer = self.preview.viewer
        self.view_label.configure(text=viewer.describe())
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

    def image_info_toggled(self) -> None:
        self.settings.show_image_info = bool(self.show_image_info.get())
        self._save_settings()
        self.info_panel.sync()

    def identifiers_toggled(self) -> None:
        """Show or hide the patient's name and ID in the panel and in reports (saved)."""
        self.settings.show_identifiers = bool(self.show_identifiers.get())
        self._save_settings()
        self._show_info(self.selected)

    def show_shortcuts(self) -> None:
        from desktop.ui.shortcuts import ShortcutsDialog

        if self.shortcuts_dialog is not None and self.shortcuts_dialog.winfo_exists():
            self.shortcuts_dialog.lift()
            return
        self.shortcuts_dialog = ShortcutsDialog(self.root, self.texts)

    def _progress_text(self) -> str:
        done, total = self.batch_progress
        text = ngettext("Classifying {done} of {total} file…",
                        "Classifying {done} of {total} files…", total)
        return text.format(done=done, total=total)

    def _summary_text(self) -> str:
        return self.session.summary()

    def _with_skipped(self, text: str) -> str:
        """``text``, then what the folder scans skipped ("3 files skipped: not images.")."""
        return " ".join(part for part in (text, self.skipped.summary()) if part)

    def _set_status(self, text_function) -> None:
        """Show a status built by ``text_function`` (re-run on a language switch)."""
        self._status = text_function
        self._refresh_status()

    def _refresh_status(self) -> None:
        self.status_label.configure(text=self._status())

    # --- language, export, model card, closing --------------------------------------------

    def set_language(self, code: str) -> None:
        """Switch language; the i18n listener re-labels the whole window."""
        i18n.set_language(code)
        self.settings.language = code
        self._save_settings()

    def _language_changed(self, code: str) -> None:
        self.language.set(code)
        self._tk_dialogs_language(code)
        self.relabel()

    def _tk_dialogs_language(self, code: str) -> None:
        """Tk's own dialogs (open, save, folder) speak the app's language: Tk ships es/pt."""
        try:
            self.root.tk.call("namespace", "eval", "::tk", f"::msgcat::mclocale {code.lower()}")
            self.root.tk.call(
                "namespace", "eval", "::tk", "::msgcat::mcload [file join $::tk_library msgs]"
            )
        except tk.TclError:
            log.warning("Tk's dialogs stay in their default language", exc_info=True)

    def relabel(self) -> None:
        """Re-translate every registered text, then every row (verdicts and error messages)."""
        self.texts.relabel()
        for result in self.session.results.values():
            self._put_row(result)

    # --- reports --------------------------------------------------------------------------

    def _ask_pdf_path(self, title: str, name: str) -> Path | None:
        path = filedialog.asksaveasfilename(
            parent=self.root, title=title, defaultextension=".pdf",
            initialdir=self._initial_dir(), initialfile=name,
            filetypes=[(_("PDF files"), "*.pdf"), (_("All files"), "*")],
        )
        return Path(path) if path else None

    def ask_save_report(self) -> None:
        if self.selected is None:
            self._set_status(lambda: _("Select a result first, then save its report."))
            return
        path = self._ask_pdf_path(_("Save report"), f"{self.selected.path.stem}_report.pdf")
        if path is not None:
            self.save_report(path)

    def save_report(self, path: Path) -> bool:
        """The selected result's report as a PDF, written atomically: the picture as the viewer
        shows it (zoom, window, heatmap), the verdict, scope, threshold, file facts, model."""
        from desktop.reports.content import single_report
        from desktop.reports.pdf import save_single

        result = self.selected
        if result is None:
            self._set_status(lambda: _("Select a result first, then save its report."))
            return False
        viewer = self.preview.viewer
        on_screen = self._shown is not None and self._shown[0] == result.key
        frame = viewer.frame(resolution=REPORT_RESOLUTION) if on_screen else None
        content = single_report(
            result, self.session, self.card, self.model_sha256,
            image=frame.image if frame is not None else None,
            image_caption=viewer.describe() if frame is not None else "",
            heatmap_shown=viewer.show_heat,
            show_identifiers=bool(self.show_identifiers.get()))
        try:
            save_single(Path(path), content)
        except UserError as error:
            self._set_status(error.user_message)
            return False
        self._set_status(lambda: _("Saved the report to {name}.").format(name=Path(path).name))
        return True

    def ask_save_batch_report(self) -> None:
        if self._batch_report_refused():
            return
        path = self._ask_pdf_path(_("Save batch report"), "batch_report.pdf")
        if path is not None:
            self.save_batch_report(path)

    def _batch_report_refused(self) -> bool:
        if not self.session.results:
            self._set_status(lambda: _("There are no results to report yet."))
        elif self.report_job is not None:
            self._set_status(lambda: _("A report is being written. Wait for it, or cancel it."))
        else:
            return False
        return True

    def save_batch_report(self, path: Path) -> int | None:
        """Every row of the table, in its order, as a PDF written on a worker thread (each file
        is read again for its thumbnail), with progress and Cancel; returns the job number."""
        from desktop.reports.content import batch_report

        if self._batch_report_refused():
            return None
        keys = [int(iid) for iid in self.table.tree.get_children()]
        content = batch_report([self.session.results[k] for k in keys], self.session,
                               self.card, self.model_sha256,
                               show_identifiers=bool(self.show_identifiers.get()))
        self.report_job = self.worker.start_report(content, Path(path))
        self.report_progress = (0, len(keys))
        self.progress.configure(maximum=max(len(keys), 1), value=0)
        self.cancel_button.configure(state="normal")
        self._set_status(self._report_progress_text)
        return self.report_job

    def _report_progress_text(self) -> str:
        done, total = self.report_progress
        return ngettext("Writing the report: {done} of {total} file…",
                        "Writing the report: {done} of {total} files…", total).format(
            done=done, total=total)

    def _report_finished(self, message: ReportFinished) -> None:
        if message.job != self.report_job:
            return
        self.report_job = None
        if not self.pending:
            self.cancel_button.configure(state="disabled")
            self.progress.configure(value=0)
        name, total = message.path.name, self.report_progress[1]
        if message.error is not None:
            self._set_status(message.error.user_message)
        elif message.cancelled:
            self._set_status(lambda: _("Cancelled: no report was written."))
        else:
            self._set_status(lambda: ngettext(
                "Saved the report of {count} file to {name}.",
                "Saved the report of {count} files to {name}.", total).format(
                count=total, name=name))

    def ask_export_csv(self) -> None:
        if not self.session.results:
            self._set_status(lambda: _("There are no results to export yet."))
            return
        path = filedialog.asksaveasfilename(
            parent=self.root, title=_("Export results as CSV"), defaultextension=".csv",
            initialdir=self._initial_dir(), initialfile="results.csv",
            filetypes=[(_("CSV files"), "*.csv"), (_("All files"), "*")],
        )
        if path:
            self.export_csv(Path(path))

    def export_csv(self, path: Path) -> bool:
        """Write the table (in its current order) as CSV, atomically: the same writer and rows
        as ``predict --csv``."""
        keys = [int(iid) for iid in self.table.tree.get_children()]
        try:
            write_csv(path, self.session.rows(keys))
        except UserError as error:
            self._set_status(error.user_message)
            return False
        self._set_status(lambda: _("Saved {count} results to {name}.").format(
            count=len(keys), name=path.name))
        return True

    def show_model_card(self) -> None:
        if self.dialog is not None and self.dialog.winfo_exists():
            self.dialog.lift()
            return
        self.dialog = ModelCardDialog(self.root, self.texts, self.card, self.model_error,
                                      site=self.history.profile_lines)

    # --- the Cases menu (desktop.ui.history_link) -----------------------------------------

    def show_history(self) -> None:
        self.history.show_history()

    def show_calibration(self) -> None:
        self.history.show_calibration()

    def show_monitoring(self) -> None:
        self.history.show_monitoring()

    def show_teaching(self) -> None:
        self.history.show_teaching()

    def _save_settings(self) -> None:
        save_settings(self.settings)

    def _report_callback_exception(self, kind, value, tb) -> None:
        log.error("Error in a window callback", exc_info=(kind, value, tb))
        self._set_status(InternalError().user_message)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.settings.window_geometry = self.root.geometry()
        self._save_settings()
        i18n.remove_listener(self._language_changed)
        self.root.after_cancel(self._poll_id)
        self.worker.stop(timeout=1.0)
        self.history.close()
        self.root.destroy()


def main(files: list[str], model_path: Path | None = None) -> int:
    """Start the window (files from the command line are opened at once); returns an exit code."""
    from desktop.logs import setup_logging

    setup_logging()
    settings = load_settings()
    i18n.set_language(settings.language or i18n.system_language())
    try:
        root, dnd = make_root()
    except tk.TclError as exc:
        log.error("Cannot open a window: %s", exc)
        print(_("Cannot open a window (no graphical display). Use "
                "\"python -m desktop predict FILES\" on this machine."), file=sys.stderr)
        return 1
    app = App(root, settings, model_path=model_path, dnd=dnd)
    if files:
        app.open_paths(files)
    root.mainloop()
    return 0
