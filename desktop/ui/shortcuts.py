"""Help → Keyboard shortcuts: every command's keys and what the mouse does on the image.

The rows come from ``desktop.ui.commands.shortcut_rows()``, built from the command table the key
bindings are made from, so the list cannot drift from what the keys do.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from desktop.errors import N_
from desktop.i18n import _
from desktop.ui.commands import shortcut_rows
from desktop.ui.widgets import ReadOnlyDialog, Texts


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
        for keys, action in shortcut_rows():
            self.table.insert("", "end", values=(keys, action))

    def rows(self) -> list[tuple[str, str]]:
        return [tuple(self.table.item(i, "values")) for i in self.table.get_children()]
