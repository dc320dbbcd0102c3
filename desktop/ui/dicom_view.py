"""Cases → DICOM archive and outbox…: where results go, a "Test connection", and the outbox.

The archive (its AE title, host, port), this computer's AE title and, in "Secure connection
(TLS)", the CA file and this computer's certificate and key are saved with the other settings
(``Settings.dicom_archive``, ``dicom_calling_aet``, ``dicom_tls_*``), where ``dicom send`` finds
them when no ``--to`` is given; each TLS file is loaded before it is saved or tested, and a
wrong one named in the status line. Saving also hands the calling AE title and the TLS files to
the results still waiting for that archive (``Outbox.reroute``), so a certificate fixed here is
the one Retry now uses. Under the archive, the boxes of ``desktop.ui.auto_send``: send each
result as it is classified, and also send its report picture and its PDF report. The outbox
(``desktop.network.outbox``) is listed: pending, sent, or failed with the reason; "Retry now"
sends what is not sent (on the window's one sending thread, ``desktop.ui.dicom_link``, which
also reloads this list after each round it does), "Remove sent" forgets what the archive
confirmed. The network runs on threads of their own; replies come back through ``Polled``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import tkinter as tk
from pathlib import Path
from tkinter import filedialog, ttk

from desktop.errors import N_, Sentence
from desktop.i18n import _
from desktop.network.destination import DEFAULT_CALLING_AET, Destination
from desktop.network.outbox import OUTBOX_ERRORS, Outbox
from desktop.network.tls import TlsFileError, TlsFiles
from desktop.ui.auto_send import PDF_BOX, PICTURE_BOX, AlsoSendBox, AutoSendBox
from desktop.ui.polled import Polled
from desktop.ui.receive_group import RECEIVE_TAB, ReceiveGroup
from desktop.ui.results_table import fit_columns

log = logging.getLogger(__name__)

COLUMNS = ("state", "archive", "image", "tries", "reason")
HEADINGS = {"state": N_("State"), "archive": N_("Archive"), "image": N_("Image"),
            "tries": N_("Tries"), "reason": N_("Why")}
STATES = {"pending": N_("waiting"), "sent": N_("sent"), "failed": N_("refused")}
INVALID = N_("Check the archive's settings: an AE title is 1 to 16 characters, a port a number "
             "from 1 to 65535.")
SAVED = N_("Saved: results go to {archive}.")
SAVED_TLS = N_("Saved: results go to {archive} over a secure connection (TLS).")
REROUTED = N_("Results waiting for this archive go with these settings too: {count}.")
TLS_HINT = N_("Leave these empty for a plain connection. The certificate and key are needed "
              "only when the archive asks for this computer's certificate.")
TLS_TAB = N_("Secure connection (TLS)")
# the TLS fields: setting, label, the file dialog's title and file types
TLS_FIELDS = (("dicom_tls_ca", N_("CA file"),
               N_("The CA certificate that signed the archive's certificate"), "*.pem *.crt *.cer"),
              ("dicom_tls_cert", N_("Client certificate"), N_("This computer's certificate"),
               "*.pem *.crt *.cer"),
              ("dicom_tls_key", N_("Client key"), N_("This computer's private key"),
               "*.pem *.key"))
SUMMARY = N_("Outbox: {pending} waiting, {sent} sent, {failed} refused.")


class DicomView(Polled, tk.Toplevel):
    def __init__(self, context, db_path=None) -> None:
        self.open_over(context, N_("DICOM archive and outbox"), (860, 700), (640, 520))
        settings = context.settings
        archive = _parsed(settings.dicom_archive)
        t = self.texts
        form = ttk.Frame(self, padding=10)
        form.pack(fill="x")
        self.fields: dict[str, tk.StringVar] = {}
        for row, (key, label, value) in enumerate((
                ("calling", N_("This computer's AE title"),
                 settings.dicom_calling_aet or DEFAULT_CALLING_AET),
                ("aet", N_("Archive AE title"), archive.aet if archive else ""),
                ("host", N_("Archive host"), archive.host if archive else ""),
                ("port", N_("Archive port"), str(archive.port) if archive else "104"))):
            t.widget(ttk.Label(form), label).grid(row=row, column=0, sticky="w", pady=2)
            self.fields[key] = tk.StringVar(self, value)
            ttk.Entry(form, textvariable=self.fields[key], width=32).grid(
                row=row, column=1, sticky="w", padx=8, pady=2)
        buttons = ttk.Frame(form)
        buttons.grid(row=0, column=2, rowspan=4, sticky="n", padx=8)
        self.test_button = t.widget(ttk.Button(buttons, command=self.test), N_("Test connection"))
        self.test_button.pack(fill="x", pady=2)
        t.widget(ttk.Button(buttons, command=self.save), N_("Save")).pack(fill="x", pady=2)
        form.columnconfigure(2, weight=1)
        say = lambda text: self.say(self.status, text)  # noqa: E731
        self.auto_send = AutoSendBox(self, context, t, say)
        self.auto_send.pack(fill="x", padx=10, pady=(0, 2))
        # what goes beside each SR, sent as classified or from the Cases menu alike
        self.send_picture = AlsoSendBox(self, context, t, "dicom_send_picture", PICTURE_BOX, say)
        self.send_picture.pack(fill="x", padx=10, pady=(0, 2))
        self.send_pdf = AlsoSendBox(self, context, t, "dicom_send_pdf", PDF_BOX, say)
        self.send_pdf.pack(fill="x", padx=10, pady=(0, 2))
        self.status = ttk.Label(self, wraplength=820, justify="left", padding=(10, 0))
        self.status.pack(fill="x")
        # the sentences wrap at the window's width, whatever the screen
        self.status.bind("<Configure>", lambda e: self.status.configure(
            wraplength=max(e.width - 20, 100)))
        # the outbox, the archive's TLS files and receiving each in a tab: the outbox keeps its
        # rows on an 800x600 screen (under the TLS files it showed one)
        self.tabs = ttk.Notebook(self)
        self.tabs.pack(fill="both", expand=True, padx=10, pady=(4, 0))
        outbox_tab = ttk.Frame(self.tabs)
        self.tabs.add(outbox_tab)
        t.call(self.tabs, lambda: self.tabs.tab(outbox_tab, text=_("Outbox")))
        self.tls_tab = self._tls_group(self.tabs, settings)
        self.tabs.add(self.tls_tab)
        t.call(self.tabs, lambda: self.tabs.tab(self.tls_tab, text=_(TLS_TAB)))
        if context.listening is not None:  # the window's Storage SCP: a tab of its own
            self.receive = ReceiveGroup(self.tabs, context, t)
            self.tabs.add(self.receive)
            t.call(self.tabs, lambda: self.tabs.tab(self.receive, text=_(RECEIVE_TAB)))
        # the buttons under the list are packed before it: a short screen shrinks the list,
        # never them
        bottom = ttk.Frame(outbox_tab, padding=(4, 6))
        bottom.pack(side="bottom", fill="x")
        self.tree = ttk.Treeview(outbox_tab, columns=COLUMNS, show="headings", height=6)
        for column in COLUMNS:
            t.heading(self.tree, column, HEADINGS[column])
        self.tree.pack(fill="both", expand=True, padx=4, pady=(4, 0))
        self.tree.bind("<<TreeviewSelect>>", self.selected)
        self.summary = ttk.Label(bottom)
        self.summary.pack(side="left")
        t.widget(ttk.Button(bottom, command=self.purge), N_("Remove sent")).pack(side="right")
        self.retry_button = t.widget(ttk.Button(bottom, command=self.retry), N_("Retry now"))
        self.retry_button.pack(side="right", padx=8)
        self.items: list = []
        self._readings, self._shown = itertools.count(), -1
        t.call(self.tree, self._show)
        self.start_polling()
        self.protocol("WM_DELETE_WINDOW", self.close)
        self._work(lambda outbox: None)

    def _tls_group(self, parent, settings) -> ttk.Frame:
        """The "Secure connection (TLS)" tab: the three files, each with Browse…, and a line
        saying when they are needed; saved with the archive above (Save)."""
        t = self.texts
        group = ttk.Frame(parent, padding=(8, 8))
        self.tls_fields: dict[str, tk.StringVar] = {}
        for row, (name, label, title, patterns) in enumerate(TLS_FIELDS):
            t.widget(ttk.Label(group), label).grid(row=row, column=0, sticky="w", pady=2)
            self.tls_fields[name] = tk.StringVar(self, getattr(settings, name) or "")
            ttk.Entry(group, textvariable=self.tls_fields[name], width=56).grid(
                row=row, column=1, sticky="ew", padx=8, pady=2)
            t.widget(ttk.Button(group, command=lambda n=name, ti=title, pa=patterns:
                                self.browse(n, ti, pa)), N_("Browse…")).grid(
                row=row, column=2, sticky="w", pady=2)
        hint = ttk.Label(group, justify="left", wraplength=700)
        hint.grid(row=len(TLS_FIELDS), column=0, columnspan=3, sticky="ew", pady=(2, 0))
        hint.bind("<Configure>", lambda e: hint.configure(wraplength=max(e.width - 4, 100)))
        t.widget(hint, TLS_HINT)
        group.columnconfigure(1, weight=1)
        return group

    def browse(self, name: str, title: str, patterns: str) -> None:
        """A file chosen for one TLS field (where the one entered is, if any)."""
        current = self.tls_fields[name].get().strip()
        start = str(Path(current).expanduser().parent) if current else None
        path = filedialog.askopenfilename(
            parent=self, title=_(title), initialdir=start or self.context.initial_dir(),
            filetypes=[(_("PEM files"), patterns), (_("All files"), "*")])
        if path:
            self.tls_fields[name].set(path)

    def destination(self) -> Destination | None:
        """The archive the form names, with its TLS files loaded once to check them, or None
        (and the status says what to check)."""
        values = {key: var.get().strip() for key, var in self.fields.items()}
        try:
            destination = Destination.parse(
                f"{values['aet']}@{values['host']}:{values['port']}", values["calling"])
        except ValueError:
            self.say(self.status, lambda: _(INVALID))
            return None
        try:
            tls = TlsFiles.from_fields(*(var.get() for var in self.tls_fields.values()))
            if tls is not None:
                tls.context()
        except TlsFileError as exc:
            self.say(self.status, exc.user_message)
            return None
        return Destination.parse(str(destination), destination.calling_aet, tls)

    def save(self) -> None:
        destination = self.destination()
        if destination is None:
            return
        tls = destination.tls
        self.context.remember(dicom_archive=str(destination),
                              dicom_calling_aet=destination.calling_aet,
                              dicom_tls_ca=tls.ca if tls else None,
                              dicom_tls_cert=tls.cert if tls else None,
                              dicom_tls_key=tls.key if tls else None)
        for name, var in self.tls_fields.items():  # as saved: made absolute
            var.set((getattr(tls, name.removeprefix("dicom_tls_")) or "") if tls else "")
        saved = Sentence(SAVED_TLS if tls else SAVED, archive=str(destination))
        self.say(self.status, saved.user_message)

        def reroute(outbox: Outbox) -> list[Sentence]:
            moved = outbox.reroute(str(destination), destination.calling_aet, tls)
            return [saved, Sentence(REROUTED, count=moved)] if moved else []

        self._work(reroute)

    def test(self) -> None:
        from desktop.network.sender import echo

        destination = self.destination()
        if destination is None:
            return
        self.say(self.status, lambda: _("Connecting…"))
        self.test_button.state(["disabled"])
        threading.Thread(target=lambda: self.replies.put(("echo", echo(destination)[1])),
                         daemon=True, name="cxr-dicom-echo").start()

    def retry(self) -> None:
        """Every unsent row sent now, by the window's one sending thread
        (``desktop.ui.dicom_link``); its round comes back through ``reload``."""
        self.retry_button.state(["disabled"])
        self.context.retry_outbox()

    def reload(self, reasons=None) -> None:
        """The outbox read again (the sending thread did a round), ``reasons`` said."""
        self._work(lambda outbox: reasons)

    def purge(self) -> None:
        self._work(lambda outbox: outbox.purge_sent() and None)

    def _work(self, job) -> None:
        """``job(outbox)`` on a thread, then the outbox read again; both come back as a reply,
        numbered: replies of two threads may arrive out of order, and an older reading never
        replaces a newer one."""
        number = next(self._readings)

        def run() -> None:
            try:
                with Outbox() as outbox:
                    said = job(outbox)
                    self.replies.put(("outbox", outbox.items(), said, number))
            except OUTBOX_ERRORS:
                log.exception("The outbox could not be read")
                self.replies.put(("outbox", None, None, number))

        threading.Thread(target=run, daemon=True, name="cxr-dicom-outbox").start()

    def handle(self, reply) -> None:
        if reply[0] == "echo":
            self.test_button.state(["!disabled"])
            self.say(self.status, reply[1].user_message)
            return
        _, items, reasons, number = reply
        self.retry_button.state(["!disabled"])
        if number < self._shown:  # read before the list shown now
            return
        self._shown = number
        if items is None:
            self.say(self.status, lambda: _("Something went wrong. The details are in the log "
                                            "file."))
            return
        if reasons:
            self.say(self.status, lambda: " ".join(r.user_message() for r in reasons))
        self.items = items
        self._show()

    def _show(self) -> None:
        self.tree.delete(*self.tree.get_children())
        for item in self.items:
            self.tree.insert("", "end", values=(
                _(STATES.get(item.state, item.state)), item.destination,
                Path(item.source).name or item.sop_uid, item.attempts, item.reason_text()))
        counts = {state: sum(1 for i in self.items if i.state == state) for state in STATES}
        self.say(self.summary, lambda: _(SUMMARY).format(
            pending=counts["pending"], sent=counts["sent"], failed=counts["failed"]))
        fit_columns(self.tree)
        # the reason may be a long sentence: its column takes what is left (the selected
        # row's whole reason is shown above the table)
        self.tree.column("reason", width=360, minwidth=120, stretch=True)

    def selected(self, _event=None) -> None:
        """The selected row's whole reason in the status line."""
        chosen = self.tree.selection()
        if chosen:
            reason = self.tree.set(chosen[0], "reason")
            self.say(self.status, lambda: reason)

    def close(self) -> None:
        self.stop_polling()
        self.destroy()


def _parsed(text: str | None) -> Destination | None:
    try:
        return Destination.parse(text) if text else None
    except ValueError:
        return None
