"""The DICOM dialog's "Receive from the X-ray machine" tab: the window's Storage SCP turned on
and off, and what it is told (our AE title, port, allowed calling AE titles, the folder received
images are written to, whether each result goes back to the archive).

Off by default. Ticking "Receive images (listen)", "Send each result back" or pressing Apply
checks every field first (``desktop.network.listen_config.parse``: one sentence per bad value,
nothing applied or saved while one is bad), then asks the window's ``ListenLink`` (through the
``CasesContext``) to listen; the link saves the settings once the port is open, and tells this
group what happened: listening, or the listener's own sentence (port in use, folder that cannot
be written) with the box unticked again.
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk

from desktop.errors import N_, Sentence
from desktop.i18n import _
from desktop.network.destination import Destination
from desktop.network.listen_config import ListenConfig, form_values, parse
from desktop.ui.listen_link import LISTENING
from desktop.ui.scrolled import Scrolled

RECEIVE_TAB = N_("Receive from the X-ray machine")  # the tab's title (``DicomView``)
NOT_LISTENING = N_("Not receiving: images are accepted only while \"Receive images\" is ticked.")
WAIT = N_("Please wait…")
NO_ARCHIVE_YET = N_("No archive is saved yet: results are sent back once one is saved above.")
FIELDS = (("aet", N_("Our AE title")), ("port", N_("Port")),
          ("allowed", N_("Allowed calling AE titles")),
          ("folder", N_("Folder for received images")))


class ReceiveGroup(Scrolled):
    """Built by ``desktop.ui.dicom_view.DicomView``; ``context`` is its ``CasesContext`` (with
    ``listening``), ``texts`` the dialog's. It scrolls when the tab is short (an 800x600
    screen, under the archive's TLS files)."""

    def __init__(self, master: tk.Misc, context, texts, *,
                 ask_folder=filedialog.askdirectory) -> None:
        super().__init__(master, wheel_anywhere=False)
        body = ttk.Frame(self.inner, padding=(10, 8, 10, 6))
        body.pack(fill="both", expand=True)
        self.context, self.link, self.texts = context, context.listening, texts
        self._ask_folder = ask_folder
        self.problems: list[Sentence] = []  # what the last check refused, until a change
        settings = context.settings
        values = form_values(settings)
        self.listen = tk.BooleanVar(self, self.link.running is not None)
        self.send_back = tk.BooleanVar(self, settings.dicom_send_back)
        self.fields = {key: tk.StringVar(self, values[key]) for key, _label in FIELDS}
        self.listen_box = texts.widget(ttk.Checkbutton(body, variable=self.listen,
                                                       command=self.apply),
                                       N_("Receive images (listen)"))
        self.listen_box.grid(row=0, column=0, columnspan=4, sticky="w")
        self.entries: dict[str, ttk.Entry] = {}
        where = {"aet": (1, 1, 1, 18), "port": (1, 3, 1, 7), "allowed": (2, 1, 3, 40),
                 "folder": (3, 1, 3, 40)}
        for key, label in FIELDS:
            row, column, span, width = where[key]
            texts.widget(ttk.Label(body), label).grid(row=row, column=column - 1, sticky="w",
                                                      padx=(0 if column == 1 else 12, 0), pady=2)
            entry = ttk.Entry(body, textvariable=self.fields[key], width=width)
            entry.grid(row=row, column=column, columnspan=span,
                       sticky="w" if key in ("aet", "port") else "we", padx=(8, 0), pady=2)
            self.entries[key] = entry
        self.browse_button = texts.widget(ttk.Button(body, command=self.browse), N_("Browse…"))
        self.browse_button.grid(row=3, column=4, sticky="w", padx=(8, 0))
        self.send_back_box = texts.widget(ttk.Checkbutton(body, variable=self.send_back,
                                                          command=self.apply),
                                          N_("Send each result back to the archive"))
        self.send_back_box.grid(row=4, column=0, columnspan=4, sticky="w", pady=(2, 0))
        self.apply_button = texts.widget(ttk.Button(body, command=self.apply), N_("Apply"))
        self.apply_button.grid(row=4, column=4, sticky="w", padx=(8, 0))
        self.status = ttk.Label(body, justify="left", wraplength=760)
        self.status.grid(row=5, column=0, columnspan=5, sticky="we", pady=(4, 0))
        self.status.bind("<Configure>", lambda e: self.status.configure(
            wraplength=max(e.width - 10, 200)))
        body.columnconfigure(3, weight=1)
        texts.call(self.status, self._show_status)
        self.link.follow(self._link_changed)
        self.bind("<Destroy>", lambda e: self.link.unfollow(self._link_changed)
                  if e.widget is self else None, add="+")
        self.show()

    def values(self) -> dict[str, str]:
        return {key: var.get() for key, var in self.fields.items()}

    def apply(self) -> None:
        """What the group says now, checked and applied (or every reason it is not)."""
        parsed = parse(**self.values(), send_back=bool(self.send_back.get()))
        if not self.listen.get():
            if isinstance(parsed, ListenConfig):
                self.context.remember(**parsed.settings_values())
            self.link.apply(None)
        elif isinstance(parsed, ListenConfig):
            self.link.apply(parsed)
        else:  # listening stays as it was: on with the last good values, or off
            self.listen.set(self.link.running is not None)
        self.problems = parsed if isinstance(parsed, list) else []
        self.show()

    def _link_changed(self) -> None:
        """The link started or stopped: its outcome is said, not an older refusal."""
        self.problems = []
        self.show()

    def browse(self) -> None:
        current = self.fields["folder"].get().strip()
        start = current if current and Path(current).is_dir() else self.context.initial_dir()
        chosen = self._ask_folder(parent=self.winfo_toplevel(), initialdir=start,
                                  mustexist=False, title=_("Folder for received images"))
        if chosen:
            self.fields["folder"].set(str(Path(chosen)))

    def show(self) -> None:
        """The box, the buttons and the sentence as the link has them now."""
        busy = self.link.busy
        if not busy:
            self.listen.set(self.link.running is not None)
        for widget in (self.listen_box, self.apply_button, self.send_back_box):
            widget.state(["disabled" if busy else "!disabled"])
        self._show_status()

    def _show_status(self) -> None:
        self.status.configure(text=self.status_text())

    def status_text(self) -> str:
        link = self.link
        if self.problems:
            said = [problem.user_message() for problem in self.problems]
        elif link.busy:
            said = [_(WAIT)]
        elif link.problem is not None:
            said = [link.problem.user_message()]
        elif link.running is not None:
            config = link.running
            said = [_(LISTENING).format(aet=config.aet, port=config.port,
                                        allowed=", ".join(config.allowed), folder=config.folder)]
            if config.send_back and not _archive_saved(self.context.settings):
                said.append(_(NO_ARCHIVE_YET))
        else:
            said = [_(NOT_LISTENING)]
        return " ".join(said)


def _archive_saved(settings) -> bool:
    try:
        Destination.parse(settings.dicom_archive or "")
    except ValueError:
        return False
    return True
