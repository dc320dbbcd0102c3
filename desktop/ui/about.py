"""Help → About / Model card: the view. What it says is built without a window, in
``desktop.reports.card_text`` (a plain summary first, then each card field in words); this
dialog shows it, re-labels it on a language switch, and shows the full provenance (sources,
licences, the training recipe) when More details is ticked.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from desktop.errors import N_, UserError
from desktop.i18n import _
from desktop.reports.card_text import model_card_sections
from desktop.reports.labels import DISCLAIMER
from desktop.ui.dialogs import ReadOnlyDialog
from desktop.ui.texts import Texts


class ModelCardDialog(ReadOnlyDialog):
    """A read-only, scrollable model card that re-labels itself on a language switch."""

    def __init__(self, master: tk.Misc, texts: Texts, card: dict | None,
                 error: UserError | None = None, site=None, node=None) -> None:
        self.card, self.error = card, error
        self.site = site  # () -> lines about the site profile in force (HistoryLink)
        self.node = node  # () -> lines about what listens for DICOM images (ListenLink)
        super().__init__(master, texts, N_("About / Model card"), "720x620")

    def make_view(self, frame: ttk.Frame) -> tk.Text:
        self.details = tk.BooleanVar(self, False)
        more = self._texts.widget(ttk.Checkbutton(frame, variable=self.details,
                                                  command=self.fill), N_("More details"))
        more.grid(row=1, column=0, sticky="w", pady=(10, 0))  # beside Close (row 1, east)
        self.text = tk.Text(
            frame, wrap="word", relief="flat", padx=10, pady=8, background="white",
            font="TkTextFont", spacing1=2, spacing3=2,
        )
        self.text.tag_configure("heading", font="TkHeadingFont", spacing1=10)
        self.text.tag_configure("warning", foreground="#A94800")
        return self.text

    def fill(self) -> None:
        self.text.configure(state="normal")
        self.text.delete("1.0", "end")
        sections = model_card_sections(self.card, self.error, details=bool(self.details.get()),
                                       site=None if self.site is None else self.site())
        node = self.node() if self.node is not None else []
        if node:  # only while receiving: after the Application (and site profile) sections
            headings = [heading for heading, _lines in sections]
            after = headings.index(_("Site profile") if _("Site profile") in headings
                                   else _("Application")) + 1
            sections.insert(after, (_("DICOM node"), node))
        for heading, lines in sections:
            self.text.insert("end", heading + "\n", ("heading",))
            for line in lines:
                tags = ("warning",) if line == _(DISCLAIMER) else ()
                self.text.insert("end", line + "\n", tags)
        self.text.configure(state="disabled")

    def all_text(self) -> str:
        return self.text.get("1.0", "end")
