"""Every command of the window, declared once: its id, its label, its keys and what it calls.

The menus, the toolbar and the key bindings are all built from ``COMMANDS``, and a menu's
accelerator text is derived from the command's first key sequence, so "Ctrl+O" in the File menu
and ``<Control-o>`` in the bindings cannot drift apart. No Tk here: ``desktop.app`` builds the
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
    Command("heatmap", N_("Show heatmap (Grad-CAM)"), "heatmap_toggled", ("<Control-h>",),
            toggles="show_heatmap"),
    Command("cancel", N_("Cancel"), "cancel", ("<Escape>",)),
    Command("about", N_("About / Model card…"), "show_model_card",
            toolbar_label=N_("Model card")),
]}

# Stands for the entries of the Language menu: one per desktop.i18n.LANGUAGES.
LANGUAGES_MENU: list[str | None] = ["*languages*"]
# (menu label msgid, command ids; None is a separator), left to right.
MENUS: list[tuple[str, list[str | None]]] = [
    (N_("File"), ["open_files", "open_folder", "export_csv", None, "clear", None, "quit"]),
    (N_("View"), ["heatmap"]),
    (N_("Language"), LANGUAGES_MENU),
    (N_("Help"), ["about"]),
]
TOOLBAR_LEFT = ["open_files", "open_folder", "export_csv"]
TOOLBAR_RIGHT = ["about"]

_MODIFIERS = {"Control": "Ctrl", "Shift": "Shift", "Alt": "Alt", "Command": "Cmd"}
_KEY_NAMES = {"Escape": "Esc", "plus": "+", "minus": "-", "equal": "=", "Prior": "PgUp",
              "Next": "PgDn", "Return": "Enter", "space": "Space"}


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
