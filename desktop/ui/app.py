"""The window: menus, toolbar, results table, result pane, threshold, status bar. A thin view.

What the window shows is decided in ``desktop.ui.state`` (batches, report job, selection, table
order, status sentence, what is enabled, settings), without Tk; the words of a result in
``desktop.reports.wording``; the commands (menus, toolbar, keys) in ``desktop.ui.commands``; the
result pane's drawing and view commands in ``desktop.ui.result_pane``; theme, root and geometry
in ``desktop.ui.style``. This module builds the widgets, forwards events to the state and renders
what it says. The Tk thread never decodes an image or runs the model: it submits work to the
``Worker`` and drains the worker's queue with ``after()``, so the window stays responsive
through a batch of hundreds of files. The window appears before the model is loaded (the worker
loads it), so the app starts fast.
"""

from __future__ import annotations

import logging
import queue
import sys
import time
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk

from desktop import i18n
from desktop.errors import N_, InternalError, UserError
from desktop.i18n import _
from desktop.reading.imaging import SUPPORTED_SUFFIXES
from desktop.reports.labels import DISCLAIMER, file_name
from desktop.settings import Settings, load_settings
from desktop.ui import style
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
from desktop.ui.dicom_link import DicomLink
from desktop.ui.divider import Divider
from desktop.ui.drop import parse_drop_data
from desktop.ui.history_link import HistoryLink
from desktop.ui.info_panel import InfoPanel
from desktop.ui.listen_link import ListenLink
from desktop.ui.result_pane import ResultPane
from desktop.ui.results_table import ResultsTable
from desktop.ui.state import WindowState, folder_of
from desktop.ui.texts import Texts
from desktop.ui.threshold_control import ThresholdControl
from desktop.ui.worker import Worker

log = logging.getLogger(__name__)

POLL_MS = 40  # how often the Tk thread drains the worker's queue
POLL_BUDGET_S = 0.03  # at most this long per drain, so input events keep flowing
TABLE_ROOM = 5 * 24  # the table's heading and four rows, kept before the threshold's texts
# Modifier bits of a key event that make a plain key (``+``, ``0``, ``i``) something else:
# Control everywhere, and Alt (X11 Mod1, Windows' own bit) or Command/Option (macOS).
_MODIFIER_BITS = {"x11": 0x4 | 0x8, "win32": 0x4 | 0x20000, "aqua": 0x4 | 0x8 | 0x10}


class App:
    """The main window. ``open_paths`` is the one entry for dialog, drop and command line."""

    def __init__(
        self, root: tk.Tk, settings: Settings, *, model_path: Path | None = None,
        dnd: bool = False,
    ) -> None:
        self.root, self.settings = root, settings
        self.texts = Texts()
        self.inbox: queue.Queue = queue.Queue()
        self.worker = Worker(model_path, self.inbox)
        self.state = WindowState(settings, self.worker, self)
        self.session = self.state.session
        self.dialog: ModelCardDialog | None = None
        self.shortcuts_dialog = None
        self._closed = False

        style.apply_style(root)
        self.language = tk.StringVar(root, i18n.current_language())
        self.show_heatmap = tk.BooleanVar(root, settings.show_heatmap)
        self.invert_view = tk.BooleanVar(root, False)
        self.window_preset = tk.StringVar(root, "default")
        self.row_filter = tk.StringVar(root, "all")
        self.show_image_info = tk.BooleanVar(root, settings.show_image_info)
        self.show_identifiers = tk.BooleanVar(root, settings.show_identifiers)
        self.refer_band = tk.BooleanVar(root, settings.refer_band)
        self.heat_opacity = tk.DoubleVar(root, settings.heatmap_opacity)
        root.geometry(style.fit_to_screen(settings.window_geometry, root))
        root.minsize(*style.min_size(root))
        self.texts.title(root, N_("Chest X-ray pneumonia classifier"))
        self._icon = style.set_icon(root)
        self._build_menu()
        self._build_body()
        self._bind_keys()
        if dnd:
            self._enable_drop()
        i18n.add_listener(self._language_changed)
        root.protocol("WM_DELETE_WINDOW", self.close)
        root.report_callback_exception = self._report_callback_exception
        style.tk_dialogs_language(self.root, i18n.current_language())
        self.relabel()
        self.history = HistoryLink(self)  # records results, keeps the site profile in force
        self.worker.identify = self.history.recording
        self.state.on_model_ready.append(self.history.model_ready)
        self.state.on_added.append(self.history.classified)
        self.dicom_link = DicomLink(self)  # the outbox kept moving while the window is open
        self.state.on_added.append(self.dicom_link.classified)  # sent as classified, if asked
        self.listen_link = ListenLink(self)  # images received from the X-ray machine, if on
        self.worker.start()
        self._poll_id = root.after(POLL_MS, self._poll)

    # --- building -------------------------------------------------------------------------

    def _build_menu(self) -> None:
        """The menu bar from ``desktop.ui.commands.MENUS``; the Language menu lists the languages,
        each named in its own language."""
        t = self.texts
        self.menubar = tk.Menu(self.root, tearoff=0)
        self.menus: dict[str, tk.Menu] = {}
        self.menu_entries: dict[str, tuple[tk.Menu, int]] = {}  # a command's (menu, index)
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
                                         command=self._handler(command.handler),
                                         accelerator=command.accelerator)
                elif command.choice:
                    menu.add_radiobutton(
                        variable=getattr(self, command.choice), value=command.argument,
                        command=lambda c=command: self._handler(c.handler)(c.argument),
                        accelerator=command.accelerator)
                else:
                    menu.add_command(command=self._handler(command.handler),
                                     accelerator=command.accelerator)
                t.menu(menu, menu.index("end"), command.label)
                self.menu_entries[command_id] = (menu, menu.index("end"))
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
                button = t.widget(ttk.Button(toolbar, command=self._handler(command.handler)),
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
        self.divider = Divider(panes)

        self.table = ResultsTable(left, t, on_sort=self.state.sort_by)
        self.table.pack(fill="both", expand=True)
        self.table.tree.bind("<<TreeviewSelect>>", lambda _e: self._selection_changed())
        self.threshold = ThresholdControl(left, t, on_slide=self.state.slide_threshold,
                                          on_step=self.state.step_threshold,
                                          on_preset=self.state.choose_operating_point)
        self.threshold.pack(side="bottom", fill="x", pady=(8, 0), before=self.table)
        self.threshold.scale.state(["disabled"])  # until the model's threshold is shown
        # The selected file's facts, under the table: open, it takes the table's room, not
        # the image's.
        self.info_panel = InfoPanel(left, t, self.show_image_info, self.image_info_toggled)
        self.info_panel.pack(side="bottom", fill="x", pady=(6, 0), before=self.threshold)
        left.bind("<Configure>", lambda e: self.info_panel.wrap(e.width), add="+")
        self._left, self._fit_pending = left, False
        for widget in (left, self.threshold, self.info_panel):
            widget.bind("<Configure>", lambda _e: self._fit_left_soon(), add="+")

        self.pane = ResultPane(
            right, t, show_heatmap=self.show_heatmap, heat_opacity=self.heat_opacity,
            invert_view=self.invert_view, window_preset=self.window_preset,
            file_windows=(self.file_windows_menu, self.file_windows_entry),
            on_heatmap=self.heatmap_toggled, on_opacity_saved=self.state.remember,
            on_opacity=lambda value: self.state.remember(save=False, heatmap_opacity=value))
        t.call(right, self.show_selected)

        status = ttk.Frame(self.body, padding=(10, 2, 10, 6))
        # Packed before the panes: on a short screen the panes shrink, the status bar stays.
        status.pack(side="bottom", fill="x", before=panes)
        self.cancel_button = t.widget(ttk.Button(status, command=self.state.cancel,
                                                 state="disabled"), COMMANDS["cancel"].label)
        self.cancel_button.pack(side="right")
        self.progress = ttk.Progressbar(status, length=220, mode="determinate")
        self.progress.pack(side="right", padx=(0, 8))
        # Packed last and one character wide: a long sentence wraps, never squeezes the bar.
        self.status_label = ttk.Label(status, style="Status.TLabel", anchor="w", width=1)
        self.status_label.pack(side="left", fill="x", expand=True)
        # Wrapped inside the label's padding and the theme's border, or the last word is cut.
        self.status_label.bind("<Configure>", lambda e: self.status_label.configure(
            wraplength=max(e.width - 20, 100)))
        t.call(self.status_label, self.show_status)

    def _fit_left_soon(self) -> None:
        if not self._fit_pending:
            self._fit_pending = True
            self.root.after_idle(self._fit_left)

    def _fit_left(self) -> None:
        """The threshold panel gives up its least needed sentence before the table falls under
        ``TABLE_ROOM`` (a short screen, a longer language, the refer band's promise)."""
        self._fit_pending = False
        height = self._left.winfo_height()
        if height > 1:
            self.threshold.fit(height - TABLE_ROOM - self.info_panel.winfo_reqheight() - 14)

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
            self._handler(command.handler)(command.argument)
        else:
            self._handler(command.handler)()
        return "break"

    def _handler(self, name: str):
        """A command's handler: the window's method, the result pane's (the view commands) or
        the state's; looked up when called, as the pane is built after the menus."""
        def run(*args):
            target = next(t for t in (self, self.pane, self.state) if hasattr(type(t), name))
            return getattr(target, name)(*args)
        return run

    def _enable_drop(self) -> None:
        from tkinterdnd2 import DND_FILES

        self.body.drop_target_register(DND_FILES)
        self.body.dnd_bind("<<Drop>>", self._dropped)

    def _dropped(self, event) -> str:
        self.state.open_paths(parse_drop_data(self.root.tk, event.data))
        return event.action

    # --- opening files --------------------------------------------------------------------

    def ask_open_files(self) -> None:
        patterns = " ".join(f"*{s} *{s.upper()}" for s in sorted(SUPPORTED_SUFFIXES))
        paths = filedialog.askopenfilenames(
            parent=self.root, title=_("Open chest X-ray images"),
            initialdir=self.state.initial_dir(),
            filetypes=[(_("Chest X-ray images"), patterns), (_("All files"), "*")],
        )
        if paths:
            self.open_paths(list(self.root.tk.splitlist(paths)))

    def ask_open_folder(self) -> None:
        folder = filedialog.askdirectory(
            parent=self.root, title=_("Open a folder of chest X-ray images"),
            initialdir=self.state.initial_dir(), mustexist=True,
        )
        if folder:
            self.open_paths([folder])

    # --- events, forwarded to the state --------------------------------------------------

    def open_paths(self, paths: list[str | Path]) -> int | None:
        """Classify files and folders (dialog, drop, command line); returns the batch number."""
        return self.state.open_paths(paths)

    def _selection_changed(self) -> None:
        selection = self.table.tree.selection()
        self.state.select(int(selection[0]) if selection else None)

    def heatmap_toggled(self) -> None:
        self.state.set_heatmap(bool(self.show_heatmap.get()))

    def refer_toggled(self) -> None:
        """View > Refer band: the band decides, or the threshold alone (saved)."""
        self.state.set_refer(bool(self.refer_band.get()))

    def image_info_toggled(self) -> None:
        self.state.remember(show_image_info=bool(self.show_image_info.get()))
        self.info_panel.sync()

    def identifiers_toggled(self) -> None:
        """Show or hide the patient's name and ID in the panel and in reports (saved)."""
        self.state.remember(show_identifiers=bool(self.show_identifiers.get()))
        self._show_info()

    def set_language(self, code: str) -> None:
        """Switch language; the i18n listener re-labels the whole window."""
        self.state.set_language(code)

    def _poll(self) -> None:
        deadline = time.monotonic() + POLL_BUDGET_S
        try:
            while time.monotonic() < deadline:
                self.state.handle(self.inbox.get_nowait())
        except queue.Empty:
            pass
        finally:
            if not self._closed:
                self._poll_id = self.root.after(POLL_MS, self._poll)

    # --- what the state asks to be drawn (``desktop.ui.state.View``) ----------------------

    def put_row(self, key: int, values: tuple[str, str, str, str], tag: str) -> None:
        self.table.put(str(key), values, tag)

    def order_rows(self, keys: list[int], sorted_by: tuple[str, bool] | None) -> None:
        """Show these rows in this order; the others are hidden (detached), not deleted."""
        shown = {str(k) for k in keys}
        self.table.tree.detach(*(i for i in self.table.tree.get_children() if i not in shown))
        self.table.order([str(k) for k in keys])
        self.table.sorted_by = sorted_by
        self.table.refresh_headings()

    def clear_rows(self) -> None:
        self.table.tree.delete(*self.table.tree.get_children())

    def select_row(self, key: int) -> None:
        """The first row of a batch: selected (the result pane shows it), focused, in view."""
        self.table.tree.selection_set(str(key))
        self.table.tree.focus(str(key))
        self.table.tree.see(str(key))

    def focus_table(self) -> None:
        if self.table.tree.selection():
            self.table.tree.focus_set()

    def show_selected(self) -> None:
        self._show_info()
        self.pane.refresh(self.state.selected, self.state.session)

    def show_status(self) -> None:
        self.status_label.configure(text=self.state.status())

    def show_activity(self) -> None:
        """The progress bar and the Cancel button."""
        value, maximum = self.state.progress
        self.progress.configure(maximum=maximum, value=value)
        self.cancel_button.configure(state="normal" if self.state.busy else "disabled")

    def show_threshold(self, threshold: float, preset: str | None) -> None:
        """The threshold, or the refer band deciding; View > Refer band is enabled only where
        the model or site profile has a band, and checked as the session has it."""
        policy = self.state.session.policy
        self.threshold.show(threshold, preset, band=policy.active_band,
                            band_off=policy.band is not None and not policy.refer)
        menu, index = self.menu_entries["refer_band"]
        menu.entryconfigure(index, state="normal" if policy.band is not None else "disabled")
        self.refer_band.set(policy.refer)

    def set_operating_points(self, points: list[dict]) -> None:
        self.threshold.set_operating_points(points, self.state.card, self.state.session.site)

    def _show_info(self) -> None:
        selected = self.state.selected
        self.info_panel.show_facts(selected is not None, getattr(selected, "source", None),
                                   bool(self.show_identifiers.get()))

    def show_shortcuts(self) -> None:
        from desktop.ui.shortcuts import ShortcutsDialog

        if self.shortcuts_dialog is not None and self.shortcuts_dialog.winfo_exists():
            self.shortcuts_dialog.lift()
            return
        self.shortcuts_dialog = ShortcutsDialog(self.root, self.texts)

    def show_model_card(self) -> None:
        if self.dialog is not None and self.dialog.winfo_exists():
            self.dialog.lift()
            return
        self.dialog = ModelCardDialog(self.root, self.texts, self.state.card,
                                      self.state.model_error, site=self.history.profile_lines,
                                      node=self.listen_link.about_lines)

    # --- the Cases menu (``desktop.ui.history_link``) ---------------------------------------

    def show_history(self) -> None:
        self.history.show_history()

    def show_calibration(self) -> None:
        self.history.show_calibration()

    def show_monitoring(self) -> None:
        self.history.show_monitoring()

    def show_teaching(self) -> None:
        self.history.show_teaching()

    def show_dicom_node(self) -> None:
        """Cases → DICOM archive and outbox… (one window; brought forward if open)."""
        from desktop.ui.cases_context import CasesContext
        from desktop.ui.dicom_view import DicomView

        view = getattr(self, "dicom_view", None)
        if view is not None and view.winfo_exists():
            view.lift()
            return
        self.dicom_view = DicomView(CasesContext.of(self, self.history))

    def send_result(self) -> None:
        """Cases → Send this result to the archive (its SR, through the outbox)."""
        self.dicom_link.send_selected()

    def send_all_results(self) -> None:
        """Cases → Send all DICOM results to the archive, in the table's order."""
        self.dicom_link.send_all()

    # --- language ---------------------------------------------------------------------------

    def _language_changed(self, code: str) -> None:
        self.language.set(code)
        style.tk_dialogs_language(self.root, code)
        self.relabel()

    def relabel(self) -> None:
        """Re-translate every registered text, then every row (verdicts and error messages)."""
        self.texts.relabel()
        for result in self.state.session.results.values():
            self.state.put_row(result)

    # --- reports and export -----------------------------------------------------------------

    def _ask_pdf_path(self, title: str, name: str, beside: Path | None = None) -> Path | None:
        path = filedialog.asksaveasfilename(
            parent=self.root, title=title, defaultextension=".pdf",
            initialdir=self.state.initial_dir(beside), initialfile=name,
            filetypes=[(_("PDF files"), "*.pdf"), (_("All files"), "*")],
        )
        return Path(path) if path else None

    def ask_save_report(self) -> None:
        selected = self.state.selected
        if selected is None:
            self.state.say(lambda: _("Select a result first, then save its report."))
            return
        name = file_name("report", ".pdf", name=selected.path.stem)
        path = self._ask_pdf_path(_("Save report"), name, selected.path)
        if path is not None:
            self.save_report(path)

    def save_report(self, path: Path) -> bool:
        """The selected result's report as a PDF, written atomically: the picture as the viewer
        shows it (zoom, window, heatmap), the verdict, scope, threshold, file facts, model."""
        from desktop.reports.content import single_report
        from desktop.reports.pdf import save_single

        state, result = self.state, self.state.selected
        if result is None:
            state.say(lambda: _("Select a result first, then save its report."))
            return False
        image, caption, heatmap_shown = self.pane.report_picture(result)
        content = single_report(
            result, state.session, state.card, state.model_sha256, image=image,
            image_caption=caption, heatmap_shown=heatmap_shown,
            show_identifiers=bool(self.show_identifiers.get()))
        try:
            save_single(Path(path), content)
        except UserError as error:
            state.say(error.user_message)
            return False
        state.say(lambda: _("Saved the report to {name} in {folder}.").format(
            name=Path(path).name, folder=folder_of(path)))
        return True

    def ask_save_batch_report(self) -> None:
        if self.state.batch_report_refused():
            return
        path = self._ask_pdf_path(_("Save batch report"),
                                   file_name("batch_report", ".pdf"))
        if path is not None:
            self.save_batch_report(path)

    def save_batch_report(self, path: Path) -> int | None:
        """Every row of the table, in its order, as a PDF written on a worker thread."""
        return self.state.start_batch_report(Path(path), bool(self.show_identifiers.get()))

    def ask_export_csv(self) -> None:
        if not self.state.session.results:
            self.state.say(lambda: _("There are no results to export yet."))
            return
        path = filedialog.asksaveasfilename(
            parent=self.root, title=_("Export results as CSV"), defaultextension=".csv",
            initialdir=self.state.initial_dir(), initialfile=file_name("results", ".csv"),
            filetypes=[(_("CSV files"), "*.csv"), (_("All files"), "*")],
        )
        if path:
            self.state.export_csv(Path(path))


    # --- closing ----------------------------------------------------------------------------

    def _report_callback_exception(self, kind, value, tb) -> None:
        log.error("Error in a window callback", exc_info=(kind, value, tb))
        self.state.say(InternalError().user_message)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.state.remember(window_geometry=self.root.geometry())
        i18n.remove_listener(self._language_changed)
        self.root.after_cancel(self._poll_id)
        self.listen_link.close()  # the port closed first: nothing arrives while closing
        self.worker.stop(timeout=1.0)
        self.dicom_link.close()
        self.history.close()
        self.root.destroy()


def main(files: list[str], model_path: Path | None = None) -> int:
    """Start the window (files from the command line are opened at once); returns an exit code."""
    from desktop.logs import setup_logging

    setup_logging()
    settings = load_settings()
    i18n.set_language(settings.language or i18n.system_language())
    try:
        root, dnd = style.make_root()
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
