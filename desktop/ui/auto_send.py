"""The DICOM dialog's boxes for what the window sends, each saved at once with the other settings:
"Send each DICOM result to the archive as it is classified" (``Settings.dicom_auto_send``), and
what goes beside each SR, whether sent as classified or from Cases → Send…: "Also send the
report picture (Secondary Capture)" (``dicom_send_picture``) and "Also send the PDF report
(Encapsulated PDF)" (``dicom_send_pdf``), as ``predict --send --picture --pdf`` does. The
sending itself is ``desktop.ui.dicom_link.DicomLink``: each DICOM image the window classifies,
opened or received, has its SR (and what the boxes add) queued in the outbox for the saved
archive and sent by the window's one sending thread; plain images are passed over.
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
PICTURE_BOX = N_("Also send the report picture (Secondary Capture)")
PDF_BOX = N_("Also send the PDF report (Encapsulated PDF)")
# what each result sent is, by (picture, pdf)
WHAT_GOES = {
    (False, False): N_("Each result goes to the archive as its structured report (SR) alone."),
    (True, False): N_("Each result goes to the archive as its structured report (SR) with its "
                      "report picture."),
    (False, True): N_("Each result goes to the archive as its structured report (SR) with its "
                      "PDF report."),
    (True, True): N_("Each result goes to the archive as its structured report (SR) with its "
                     "report picture and its PDF report."),
}
PDF_NAMES = N_("The PDF names the patient only while View → Show patient identifiers is on; it "
               "gives no other patient details.")


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


class AlsoSendBox(ttk.Checkbutton):
    """One of "Also send the report picture / the PDF report": ``setting`` is the flag it
    saves (``dicom_send_picture`` or ``dicom_send_pdf``); ``say(text)`` as ``AutoSendBox``."""

    def __init__(self, master: tk.Misc, context, texts, setting: str, label: str,
                 say: Callable[[Callable[[], str]], None]) -> None:
        self.context, self.setting, self._say = context, setting, say
        self.on = tk.BooleanVar(master, getattr(context.settings, setting))
        super().__init__(master, variable=self.on, command=self.toggled)
        texts.widget(self, label)

    def toggled(self) -> None:
        self.context.remember(**{self.setting: bool(self.on.get())})
        settings = self.context.settings
        self._say(lambda: what_goes(settings.dicom_send_picture, settings.dicom_send_pdf))


def meaning(on: bool, archive: str | None) -> str:
    if not on:
        return _(OFF)
    try:
        return _(ON).format(archive=Destination.parse(archive or ""))
    except ValueError:
        return _(ON_NO_ARCHIVE)


def what_goes(picture: bool, pdf: bool) -> str:
    """What each result sent to the archive is made of, in the language shown."""
    said = _(WHAT_GOES[bool(picture), bool(pdf)])
    return f"{said} {_(PDF_NAMES)}" if pdf else said
