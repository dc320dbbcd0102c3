"""Tables: the main window's table of opened files (``ResultsTable``: sortable, each row in
its verdict's colour, a narrow screen's columns kept readable), the full text of a cell its
column clips (``CellTooltip``), and columns as wide as their words in the language shown
(``fit_columns``, also used by the Cases windows' tables).
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk

from desktop.errors import N_
from desktop.i18n import _
from desktop.ui.style import TEXT_BLUE, TEXT_GREY, TEXT_PURPLE, TEXT_VERMILLION
from desktop.ui.text_fit import is_clipped, width_for
from desktop.ui.texts import Texts


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
