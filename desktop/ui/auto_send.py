"""The DICOM dialog's "Send each DICOM result to the archive as it is classified": one box in the
archive's group, saved at once with the other settings (``Settings.dicom_auto_send``). The
sending itself is ``desktop.ui.dicom_link.DicomLink.classified``: each DICOM image the window
classifies, opened or received, has its SR queued in the outbox for the saved archive and sent
by the window's one sending thread; plain images are passed over.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk

from desktop.errors import N_
from desktop.i18n import _
from desktop.network.destination import Destination

ON = N_("Each DICOM result is sent to {archive} as it is classified.")
ON_NO_ARCHIVE = N_("Each DICOM result will be sent as it is classified once an archive is "
                   "saved.")
OFF = N_("Results are sent only when you ask: Cases → Send this result / Send all DICOM results "
         "to the archive.")


class AutoSendBox(ttk.Checkbutton):
    """``say(text)`` shows what the box now means in the dialog's status line."""

    def __init__(self, master: tk.Misc, context, texts,
                 say: Callable[[Callable[[], str]], None]) -> None:
        self.context, self._say = context, say
        self.on = tk.BooleanVar(master, context.settings.dicom_auto_send)
        super().__init__(master, variable=self.on, command=self.toggled)
        texts.widget(self, N_("Send each DICOM result to the archive as it is classified"))

    def toggled(self) -> None:
        on = bool(self.on.get())
        self.context.remember(dicom_auto_send=on)
        self._say(lambda: meaning(on, self.context.settings.dicom_archive))


def meaning(on: bool, archive: str | None) -> str:
    if not on:
        return _(OFF)
    try:
        return _(ON).format(archive=Destination.parse(archive or ""))
    except ValueError:
        return _(ON_NO_ARCHIVE)
