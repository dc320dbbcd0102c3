"""The read-only dialog the Help menu's windows share (keyboard shortcuts, the model card):
one scrollable view and a Close button, filled again in the current language on a switch,
so each dialog writes only its view and what fills it.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from desktop.errors import N_
from desktop.ui.texts import Texts


class ReadOnlyDialog(tk.Toplevel):
    """A dialog with one scrollable read-only view and a Close button, filled again in the
    current language on a switch. Subclasses make the view (``make_view``) and ``fill`` it."""

    def __init__(self, master: tk.Misc, texts: Texts, title: str, geometry: str) -> None:
        super().__init__(master)
        self._texts = texts
        self.transient(master)
        self.geometry(geometry)
        texts.title(self, title)
        frame = ttk.Frame(self, padding=12)
        frame.pack(fill="both", expand=True)
        view = self.make_view(frame)
        scroll = ttk.Scrollbar(frame, orient="vertical", command=view.yview)
        view.configure(yscrollcommand=scroll.set)
        view.grid(row=0, column=0, sticky="nsew")
        scroll.grid(row=0, column=1, sticky="ns")
        close = texts.widget(ttk.Button(frame, command=self.close), N_("Close"))
        close.grid(row=1, column=0, columnspan=2, sticky="e", pady=(10, 0))
        frame.rowconfigure(0, weight=1)
        frame.columnconfigure(0, weight=1)
        texts.call(self, self.fill)
        self.protocol("WM_DELETE_WINDOW", self.close)
        self.bind("<Escape>", lambda _e: self.close())
        close.focus_set()

    def make_view(self, frame: ttk.Frame) -> tk.Widget:
        raise NotImplementedError

    def fill(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._texts.forget(self)
        self.destroy()
