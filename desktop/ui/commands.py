"""Every command of the window, declared once: its id, its label, its keys and what it calls.

The menus, the toolbar and the key bindings are all built from ``COMMANDS``, and a menu's
accelerator text is derived from the command's first key sequence, so "Ctrl+O" in the File menu
and ``<Control-o>`` in the bindings cannot drift apart. No Tk here: ``desktop.ui.app`` builds the
widgets from this table, and tests read it without a display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from desktop.errors import N_


@dataclass(frozen=True)
class Command:
    id: str
    label: str  # msgid, as in the menu
    handler: str  # name of the ``App`` method it calls
    keys: tuple[str, ...] = ()  # Tk event sequences; the first one is shown in the menu
    toolbar_label: str | None = None  # msgid of its toolbar button, when it has one
    # For an on/off command: the name of the ``App`` BooleanVar it flips. Its menu entry is a
    # check box; its keys flip the variable, then call ``handler`` as the check box does.
    toggles: str | None = None
    # For one of several choices: the name of the ``App`` StringVar its menu radio button sets
    # to ``argument``; ``handler`` is then called with ``argument``.
    choice: str | None = None
    argument: str | None = None

    @property
    def accelerator(self) -> str:
        return accelerator_text(self.keys[0]) if self.keys else ""


COMMANDS: dict[str, Command] = {c.id: c for c in [
    Command("open_files", N_("Open files…"), "ask_open_files", ("<Control-o>",),
            toolbar_label=N_("Open files…")),
    Command("open_folder", N_("Open folder…"), "ask_open_folder", ("<Control-O>",),
            toolbar_label=N_("Open folder…")),
    Command("export_csv", N_("Export CSV…"), "ask_export_csv", ("<Control-e>",),
            toolbar_label=N_("Export CSV…")),
    Command("clear", N_("Clear results"), "clear_results"),
    Command("quit", N_("Quit"), "close", ("<Control-q>",)),
    Command("save_report", N_("Save report…"), "ask_save_report", ("<Control-r>",)),
    Command("save_batch_report", N_("Save batch report…"), "ask_save_batch_report",
            ("<Control-R>",)),
    Command("heatmap", N_("Show heatmap (Grad-CAM)"), "heatmap_toggled", ("<Control-h>",),
            toggles="show_heatmap"),
    Command("zoom_in", N_("Zoom in"), "zoom_in", ("<plus>", "<equal>", "<KP_Add>")),
    Command("zoom_out", N_("Zoom out"), "zoom_out", ("<minus>", "<KP_Subtract>")),
    Command("zoom_fit", N_("Fit to window"), "zoom_fit", ("<Key-f>",)),
    Command("image_large", N_("Image on the whole screen"), "image_large_toggled", ("<F11>",)),
    Command("zoom_actual", N_("Actual size (1:1)"), "zoom_actual", ("<Key-1>",)),
    Command("view_reset", N_("Reset the view"), "reset_view", ("<Key-0>",)),
    Command("window_default", N_("Window: default"), "choose_window", ("<Key-d>",),
            choice="window_preset", argument="default"),
    Command("window_high_contrast", N_("Window: high contrast"), "choose_window", ("<Key-c>",),
            choice="window_preset", argument="high_contrast"),
    Command("window_soft_tissue", N_("Window: soft tissue-like"), "choose_window", ("<Key-s>",),
            choice="window_preset", argument="soft_tissue"),
    Command("invert", N_("Invert grey levels"), "invert_toggled", ("<Key-i>",),
            toggles="invert_view"),
    Command("image_info", N_("Image information"), "image_info_toggled", ("<Control-i>",),
            toggles="show_image_info"),
    Command("identifiers", N_("Show patient identifiers"), "identifiers_toggled",
            toggles="show_identifiers"),
    Command("filter_all", N_("All results"), "filter_rows", choice="row_filter",
            argument="all"),
    Command("filter_unusual", N_("Only unusual"), "filter_rows", choice="row_filter",
            argument="unusual"),
    Command("filter_withheld", N_("Only without a verdict"), "filter_rows",
            choice="row_filter", argument="withheld"),
    Command("filter_borderline", N_("Only borderline (the model leans the other way)"),
            "filter_rows", choice="row_filter", argument="borderline"),
    Command("filter_errors", N_("Only not classified"), "filter_rows", choice="row_filter",
            argument="error"),
    Command("filter_referred", N_("Only referred"), "filter_rows", choice="row_filter",
            argument="referred"),
    Command("refer_band", N_("Refer band"), "refer_toggled", toggles="refer_band"),
    Command("cancel", N_("Cancel"), "cancel", ("<Escape>",)),
    # the case history and site calibration (desktop.ui.history_link)
    Command("history", N_("History…"), "show_history", ("<Control-H>",)),
    Command("calibrate", N_("Calibrate for this site…"), "show_calibration"),
    Command("monitoring", N_("Monitoring…"), "show_monitoring"),
    Command("teaching", N_("Read first (teaching)…"), "show_teaching"),
    Command("dicom_node", N_("DICOM archive and outbox…"), "show_dicom_node"),
    Command("send_result", N_("Send this result to the archive"), "send_result"),
    Command("send_all_results", N_("Send all DICOM results to the archive"), "send_all_results"),
    Command("shortcuts", N_("Keyboard shortcuts"), "show_shortcuts", ("<F1>",)),
    Command("about", N_("About / Model card…"), "show_model_card",
            toolbar_label=N_("Model card")),
]}

# Stands for the entries of the Language menu: one per desktop.i18n.LANGUAGES.
LANGUAGES_MENU: list[str | None] = ["*languages*"]
# Stands for a submenu filled with the selected file's own window presets (a DICOM's).
FILE_WINDOWS_MENU = "*file_windows*"
FILE_WINDOWS_LABEL = N_("The file's own windows")
# (menu label msgid, command ids; None is a separator), left to right.
MENUS: list[tuple[str, list[str | None]]] = [
    (N_("File"), ["open_files", "open_folder", "export_csv", None, "save_report",
                  "save_batch_report", None, "clear", None, "quit"]),
    (N_("View"), ["heatmap", None, "zoom_in", "zoom_out", "zoom_fit", "zoom_actual",
                  "view_reset", "image_large", None, "window_default", "window_high_contrast",
                  "window_soft_tissue", FILE_WINDOWS_MENU, "invert", None, "image_info",
                  "identifiers", None, "refer_band", None, "filter_all", "filter_referred",
                  "filter_unusual", "filter_withheld", "filter_borderline", "filter_errors"]),
    (N_("Cases"), ["history", None, "calibrate", "monitoring", None, "teaching", None,
                   "dicom_node", "send_result", "send_all_results"]),
    (N_("Language"), LANGUAGES_MENU),
    (N_("Help"), ["shortcuts", None, "about"]),
]
TOOLBAR_LEFT = ["open_files", "open_folder", "export_csv"]
TOOLBAR_RIGHT = ["about"]

_MODIFIERS = {"Control": "Ctrl", "Shift": "Shift", "Alt": "Alt", "Command": "Cmd"}
_KEY_NAMES = {"Escape": "Esc", "plus": "+", "minus": "-", "equal": "=", "Prior": "PgUp",
              "Next": "PgDn", "Return": "Enter", "space": "Space", "KP_Add": "Num +",
              "KP_Subtract": "Num -"}


# What the mouse does on the image: (gesture, action), for the "Keyboard shortcuts" dialog.
MOUSE: list[tuple[str, str]] = [
    (N_("Mouse wheel"), N_("Zoom in or out about the pointer")),
    (N_("Drag"), N_("Move the image (when zoomed in)")),
    (N_("Right-drag"), N_("Window/level: left-right for contrast, up-down for brightness")),
    (N_("Double-click"), N_("Reset the view")),
]


def shortcut_rows() -> list[tuple[str, str]]:
    """(keys, what they do) in the current language, for every command with keys and every
    mouse gesture: what Help → Keyboard shortcuts lists."""
    from desktop.i18n import gettext

    rows = [(" / ".join(accelerator_text(k) for k in c.keys), gettext(c.label).rstrip("…"))
            for c in COMMANDS.values() if c.keys]
    return rows + [(gettext(gesture), gettext(action)) for gesture, action in MOUSE]


def is_window_wide(sequence: str) -> bool:
    """Keys with Ctrl, Alt or Cmd, Escape and function keys work in every window of the app;
    a plain key (``+``, ``0``, ``i``) only in the main window, so typing a file name in a
    dialog never zooms the image."""
    inner = sequence.strip("<>")
    return any(m in inner.split("-") for m in ("Control", "Alt", "Command")) or \
        inner in ("Escape",) or re.fullmatch(r"F\d+", inner) is not None


def accelerator_text(sequence: str) -> str:
    """``<Control-o>`` -> ``Ctrl+O``; ``<Control-O>`` (Shift held) -> ``Ctrl+Shift+O``;
    ``<Escape>`` -> ``Esc``; ``<Key-0>`` -> ``0``."""
    match = re.fullmatch(r"<([^<>]+)>", sequence)
    if not match:
        raise ValueError(f"not a Tk key sequence: {sequence!r}")
    *modifiers, key = match[1].split("-")
    modifiers = [m for m in modifiers if m not in ("Key", "KeyPress")]
    names = [_MODIFIERS.get(m, m) for m in modifiers]
    if len(key) == 1 and key.isalpha() and key.isupper() and "Shift" not in names:
        names.append("Shift")
    names.append(_KEY_NAMES.get(key, key.upper() if len(key) == 1 else key))
    return "+".join(names)
