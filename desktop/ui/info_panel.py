"""The collapsible "Image information" panel under the result: the facts a file says about
itself (``desktop.reports.image_info`` words them, without Tk), two pairs a line; identifiers
only when the user has turned them on.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from desktop.i18n import _
from desktop.reports.image_info import info_rows
from desktop.ui.texts import Texts


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
