"""Help → Keyboard shortcuts: every command's keys and what the mouse does on the image.

The rows come from ``desktop.ui.commands.shortcut_rows()``, built from the command table the key
bindings are made from, so the list cannot drift from what the keys do.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import font as tkfont
from tkinter import ttk

from desktop.errors import N_
from desktop.i18n import _
from desktop.ui.commands import shortcut_rows
from desktop.ui.dialogs import ReadOnlyDialog
from desktop.ui.text_fit import width_for
from desktop.ui.texts import Texts

# Room beside the two columns: the dialog's padding and its scrollbar.
_FRAME = 60


class ShortcutsDialog(ReadOnlyDialog):
    """A read-only two-column list that re-labels itself on a language switch."""

    def __init__(self, master: tk.Misc, texts: Texts) -> None:
        super().__init__(master, texts, N_("Keyboard shortcuts"), "620x560")

    def make_view(self, frame: ttk.Frame) -> ttk.Treeview:
        self.table = ttk.Treeview(frame, columns=("keys", "action"), show="headings",
                                  selectmode="none")
        self.table.column("keys", width=170, stretch=False)
        self.table.column("action", width=400, stretch=True)
        return self.table

    def fill(self) -> None:
        self.table.heading("keys", text=_("Keys"))
        self.table.heading("action", text=_("What they do"))
        self.table.delete(*self.table.get_children())
        rows = shortcut_rows()
        for keys, action in rows:
            self.table.insert("", "end", values=(keys, action))
        self._fit([_("Keys"), *(k for k, _a in rows)], [_("What they do"), *(a for _k, a in rows)])

    def _fit(self, keys: list[str], actions: list[str]) -> None:
        """Columns as wide as their longest text in this language; the dialog as wide as both,
        up to the screen."""
        style = ttk.Style(self)
        measure = tkfont.nametofont(style.lookup("Treeview", "font") or "TkDefaultFont").measure
        keys_width = width_for(keys, measure, padding=16, minimum=120)
        action_width = width_for(actions, measure, padding=16, minimum=300)
        self.table.column("keys", width=keys_width, minwidth=keys_width)
        self.table.column("action", width=action_width, minwidth=action_width)
        width = min(keys_width + action_width + _FRAME, self.winfo_screenwidth() - 40)
        self.geometry(f"{width}x{max(self.winfo_height(), 560)}")

    def rows(self) -> list[tuple[str, str]]:
        return [tuple(self.table.item(i, "values")) for i in self.table.get_children()]
